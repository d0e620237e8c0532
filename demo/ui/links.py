"""Shareable links: the form's main parameters in the page URL, and back.

``?prompt=...&width=1024&height=768&seed=42&steps=40&cfg=7.5&n=2&format=PNG`` fills
the form when the page opens. A link is what anyone can type, so reading one is
strict and bounded: only these keys are read (a key never travels in a link, and one
found there is ignored and said so), each value is cut to a small length, numbers must
parse as finite numbers, a format must be one of the choices. A number out of the API's
bounds is put in its field as it was written, so the usual check reports it next to
the field; what cannot go in a field is named in a note under the prompt. Values only
ever reach components as data (text and numbers), never as markup.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api_schema import limits

from . import fields as F

# URL parameter -> form field. Short names keep links readable.
PARAMS: dict[str, str] = {
    "prompt": "positive_prompt",
    "width": "width",
    "height": "height",
    "seed": "seed",
    "steps": "steps",
    "cfg": "cfg_scale",
    "n": "number_results",
    "format": "output_format",
}
FIELD_PARAM = {name: key for key, name in PARAMS.items()}
LINK_FIELDS: tuple[str, ...] = tuple(PARAMS.values())
# Keys a visitor might try to put a key in; never read, only reported.
_KEY_PARAMS = re.compile(r"(?i)^(api[_-]?key|key|token|secret|authorization)$")
# A prompt longer than the API allows is kept (and reported by the usual check) up to
# twice the limit; anything past that is cut here so a huge link costs nothing.
MAX_PROMPT_CHARS = int(limits.POSITIVE_PROMPT.maximum or 3000) * 2
MAX_NUMBER_CHARS = 32  # 2^63-1 has 19 digits
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass
class LinkValues:
    values: dict[str, Any]  # form field -> value, only what the link set
    notes: list[str]

    @property
    def empty(self) -> bool:
        return not self.values and not self.notes


def _label(name: str) -> str:
    return F.field(name).label


def _number(name: str, raw: str, notes: list[str]) -> float | int | None:
    text = raw.strip()
    if len(text) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        notes.append(f"{_label(name)}: the link's value {_quote(text)} is not a number; kept the form's.")
        return None
    value = float(text)
    if not math.isfinite(value):
        notes.append(
            f"{_label(name)}: the link's value {_quote(text)} is not a finite number; kept the form's."
        )
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _quote(text: str, limit: int = 40) -> str:
    """A value as a note shows it: cut, and escaped so it stays text."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"“{html.escape(shown)}”"


def read(query: Mapping[str, str]) -> LinkValues:
    """The form values a link's query parameters describe, and notes on what was not used."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    if any(_KEY_PARAMS.match(str(k)) for k in list(query.keys())[:200]):
        notes.append(
            "The link carried a key: ignored. Keys never travel in links; enter yours in the key panel."
        )
    for key, name in PARAMS.items():
        raw = query.get(key)
        if raw is None:
            continue
        raw = str(raw)
        f = F.field(name)
        if f.kind == "prompt":
            if len(raw) > MAX_PROMPT_CHARS:
                notes.append(f"Prompt: the link's prompt was cut to {MAX_PROMPT_CHARS:,} characters.")
                raw = raw[:MAX_PROMPT_CHARS]
            values[name] = raw
        elif f.kind == "slider":
            number = _number(name, raw, notes)
            if number is not None:
                values[name] = number
        elif f.kind == "optional_int":
            text = raw.strip()[:MAX_NUMBER_CHARS]
            values[name] = text
            if text:
                values["randomize_seed"] = False
        elif f.kind == "radio":
            match = next((c for c in f.choices if c.lower() == raw.strip().lower()), None)
            if match is None:
                notes.append(
                    f"{_label(name)}: the link's value {_quote(raw.strip())} is not one of "
                    f"{', '.join(f.choices)}; kept the form's."
                )
            else:
                values[name] = match
    return LinkValues(values, notes)


def note_markdown(link: LinkValues, problems: Mapping[str, list[str]] | None = None) -> str:
    """The note under the prompt: what the link filled, what it could not, and what the
    API would refuse (``problems``: field -> Runware-worded messages)."""
    if link.empty:
        return ""
    filled = ", ".join(_label(n) for n in LINK_FIELDS if n in link.values)
    lines = [f"**Filled from a shared link:** {filled}." if filled else "**Opened from a link.**"]
    lines += [f"- {n}" for n in link.notes]
    lines += [f"- {_label(k)}: {html.escape(m)}" for k, ms in (problems or {}).items() for m in ms]
    return "\n".join(lines)


# Builds the link from the link fields' values (in LINK_FIELDS order) in the browser,
# puts it in the address bar (the page's own URL, theme kept) and copies it. The
# values come in as arguments, so nothing here is ever parsed as markup.
_KEYS_JS = "[" + ", ".join(f'"{FIELD_PARAM[n]}"' for n in LINK_FIELDS) + "]"
LINK_JS = f"""
(...values) => {{
  const keys = {_KEYS_JS};
  const url = new URL(window.location.href);
  for (const k of keys) url.searchParams.delete(k);
  keys.forEach((k, i) => {{
    const v = values[i];
    if (v === null || v === undefined || String(v).trim() === "") return;
    url.searchParams.set(k, String(v));
  }});
  window.history.replaceState(null, "", url);
  return url.href;
}}
"""
COPY_JS = LINK_JS.replace(
    "  return url.href;",
    "  if (navigator.clipboard) navigator.clipboard.writeText(url.href).catch(() => {});\n"
    '  return "Link copied (and in the address bar): " + url.href;',
)
