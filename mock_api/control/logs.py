"""What uvicorn writes to its logs, without the keys in it.

uvicorn logs request targets verbatim: each HTTP request's access line (``uvicorn.access``),
each socket's ``"WebSocket /v1?apiKey=..." [accepted]`` (``uvicorn.error``, at the default
level), and at ``--log-level debug`` the upgrade request, its headers and every frame,
through ``uvicorn.error`` too (the ``websockets`` protocol is handed that logger; a frame
is a ``Frame`` object, formatted only when a handler writes the line, and its text is cut
to 75 characters, so a key can be split by the cut). ``LogRedactor``, a filter on those
loggers, rewrites each record before any handler formats it:

- secret-named query parameters in any request target or URL in the line,
- secret-named JSON fields (``"apiKey": "..."``) and headers (``< authorization: ...``),
- known keys anywhere: the mock's own (``--require-key``, ``--admin-key``), the ones the
  journal saw lately (``journal.recent_keys``) and those the line's own secret parameters
  hold, for a key under an innocent name (``?apiKey=K&k=K``).

A frame is redacted before it is cut, so no half key is left for the cut to show.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from .journal import REDACTED, is_secret_name, recent_keys, redact_query

try:  # the WebSocket library uvicorn uses (a runtime requirement); without it, no frames to redact
    from websockets.frames import Frame, Opcode
except ImportError:  # pragma: no cover
    Frame = Opcode = None  # type: ignore[assignment,misc]

ACCESS_LOGGER = "uvicorn.access"
# uvicorn's other logger (start-up, WebSocket lines, debug frames) and the mock's own.
MESSAGE_LOGGERS = ("uvicorn.error", "mock_api")

# A request target's query: after a path, up to white space, a quote or a fragment.
_TARGET_QUERY = re.compile(r"(/[^\s?\"'<>]*)\?([^\s\"'<>#]*)")
# A JSON (or Python repr) field: its name, then a string (maybe cut before its closing quote)
# or a bare value.
_FIELDS = tuple(
    (q, re.compile(rf"{q}((?:[^{q}\\]|\\.)*){q}(\s*:\s*)(?:{q}(?:[^{q}\\]|\\.)*{q}?|[^\s,}}\]]+)"))
    for q in ('"', "'")
)
# A header line (``< authorization: Bearer ...``, the way websockets logs them at debug).
_HEADER_LINE = re.compile(r"^([<>] )?([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$", re.DOTALL)
_SCHEME = re.compile(r"^\s*(bearer|basic|token)\s+\S", re.IGNORECASE)
# How much of a large frame's payload is redacted: far more than websockets shows of it
# (its first 200 and last 100 bytes), without scanning a 30 MB message per log line.
_FRAME_WINDOW = 4096


class LogRedactor(logging.Filter):
    """Rewrites log records so that no key is written: see the module's docstring."""

    def __init__(self) -> None:
        super().__init__("mock_api.redact")
        self.secrets: set[str] = set()
        # (what it was made of, the keys longest first): an access line per request reuses it.
        self._known: tuple[tuple[int, tuple[str, ...]], tuple[str, ...]] = ((0, ()), ())

    def known(self) -> tuple[str, ...]:
        """Every known key, longest first (a key that holds another is blanked whole)."""
        made_of = (len(self.secrets), tuple(recent_keys))
        if made_of != self._known[0]:
            keys = {s for s in (*self.secrets, *made_of[1]) if len(s) >= 4}
            self._known = (made_of, tuple(sorted(keys, key=len, reverse=True)))  # one assignment
        return self._known[1]

    def clean(self, text: str, known: tuple[str, ...] | None = None, *, line: bool = True) -> str:
        """``text`` with every secret this filter can recognize replaced by ``[redacted]``;
        ``line``: it is a whole message (which may be a header's)."""
        found: list[str] = []  # a secret parameter's value, also under another name in the line
        if "?" in text:
            text = _TARGET_QUERY.sub(lambda m: f"{m.group(1)}?{redact_query(m.group(2), found)}", text)
        for quote, pattern in _FIELDS:
            if quote in text:
                text = pattern.sub(_field_redacted, text)
        if line and ":" in text:
            header = _HEADER_LINE.match(text)
            if header and is_secret_name(header.group(2)):
                scheme = _SCHEME.match(header.group(3))
                value = f"{scheme.group(1)} {REDACTED}" if scheme else REDACTED
                text = f"{header.group(1) or ''}{header.group(2)}: {value}"
        known = self.known() if known is None else known
        if found:
            known = tuple(sorted({*known, *(s for s in found if len(s) >= 4)}, key=len, reverse=True))
        for secret in known:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple):
            # uvicorn's AccessFormatter unpacks the arguments (client, method, target,
            # version, status): they stay arguments, each cleaned.
            known = self.known()
            record.args = tuple(
                self.clean(a, known, line=False) if isinstance(a, str) else a for a in record.args
            )
            return True
        try:
            if isinstance(record.args, tuple) and record.args:
                record.args = tuple(self._frame(a) for a in record.args)
            text = record.getMessage()
        except Exception:  # arguments that do not fit the message: not shown, not raised
            text = f"{record.msg} (its arguments could not be formatted)"
        # Formatted once and cleaned: whatever the arguments were, the line is this text.
        record.msg, record.args = self.clean(text), ()
        if record.exc_info and not record.exc_text:
            # A traceback's messages can quote a key too; a formatter uses exc_text when set.
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True

    def _frame(self, arg: Any) -> Any:
        """A WebSocket frame with its payload redacted (then websockets cuts it for the log)."""
        if Frame is None or not isinstance(arg, Frame) or arg.opcode is Opcode.CLOSE:
            return arg
        data = bytes(arg.data)
        if len(data) <= 4 * _FRAME_WINDOW:
            shown = self._clean_bytes(data)
        else:  # only the ends are shown: those are redacted, the middle is left out
            head = self._clean_bytes(data[:_FRAME_WINDOW])
            tail = self._clean_bytes(data[-_FRAME_WINDOW:])
            shown = head + bytes(max(0, len(data) - len(head) - len(tail))) + tail
        return dataclasses.replace(arg, data=shown) if shown != data else arg

    def _clean_bytes(self, data: bytes) -> bytes:
        text = data.decode("utf-8", errors="surrogateescape")
        return self.clean(text).encode("utf-8", errors="surrogateescape")


def _field_redacted(match: re.Match[str]) -> str:
    if not is_secret_name(match.group(1)):
        return match.group(0)
    quote = match.group(0)[0]
    return f"{quote}{match.group(1)}{quote}{match.group(2)}{quote}{REDACTED}{quote}"


# One filter for the process, as the loggers are one per process.
_redactor = LogRedactor()


def redact_logs(*secrets: str | None) -> LogRedactor:
    """Install (once) the redacting filter on uvicorn's loggers and the mock's; add known keys."""
    for name in (ACCESS_LOGGER, *MESSAGE_LOGGERS):
        logger = logging.getLogger(name)
        if _redactor not in logger.filters:
            logger.addFilter(_redactor)
    _redactor.secrets.update(s for s in secrets if s)
    return _redactor
