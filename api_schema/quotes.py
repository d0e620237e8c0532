"""Which texts a prompt asks to see written: the strings in quotation marks.

GLM-Image draws text that the prompt puts in quotes. One rule, shared by the mock's
preview pictures (which draw these strings as signs) and the demo's text check
(which reads them back from a result).
"""

from __future__ import annotations

import re
import unicodedata

# One left-to-right scan, so a quote nested in another pair is not reported twice.
# A straight single quote only opens after a non-word character and only closes before
# one, which keeps apostrophes ("don't", "Z.ai's", "travelers' maps") out. Empty pairs
# still match, so "" does not shift the pairing of the quotes after it.
# Chinese and Japanese prompts quote with corner brackets 「」『』, book-title marks 《》
# (a title to be written on a cover or poster) or full-width straight quotes ＂＂.
_QUOTED = re.compile(
    r'"(?P<dq>[^"\n]{0,200}?)"'
    r"|“(?P<cq>[^”\n]{0,200}?)”"
    r"|「(?P<cb>[^」\n]{0,200}?)」"
    r"|『(?P<wb>[^』\n]{0,200}?)』"
    r"|《(?P<bt>[^》\n]{0,200}?)》"
    r"|＂(?P<fq>[^＂\n]{0,200}?)＂"
    r"|‘(?P<cs>(?:(?!’(?!\w))[^\n]){1,200}?)’(?!\w)"
    r"|(?<!\w)'(?=\S)(?P<sq>(?:(?!'(?!\w))[^\n]){2,200}?)(?<=\S)'(?!\w)"
)


def quoted_strings(prompt: str) -> list[str]:
    """The texts the prompt asks to see written, in order, without duplicates."""
    found: list[str] = []
    for match in _QUOTED.finditer(prompt or ""):
        text = printable(next(g for g in match.groups() if g is not None)).strip(" ,;:，；：、")
        if text and text not in found:
            found.append(text)
    return found


def printable(text: str) -> str:
    """Whitespace collapsed; control, format and lone-surrogate characters removed."""
    kept = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    return " ".join(kept.split())
