"""The request journal: what the mock received, for tests of other UIs to assert on.

Bounded (the last ``max_entries`` requests; long strings inside JSON bodies are
shortened; each body kept as at most ``max_body_chars`` of text) and redacted before
storing: the Authorization header, any header or JSON field or query parameter whose
name looks like a secret (apiKey, token, signature, ...), and the literal values of
those, and the mock's own keys, wherever else they show up.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..config import DEFAULTS
from ..jsontext import value_marks

REDACTED = "[redacted]"
# A body longer than this is kept as the start of its (redacted) text.
MAX_BODY_CHARS = 32 * 1024
# A body bigger than this is not decoded as JSON at all (a request with a few MB of
# inline picture still is: its long strings are shortened and it is kept as JSON).
MAX_PARSED_BODY_BYTES = 4 * 1024 * 1024

# Names (headers, JSON keys, query parameters) whose values are secrets.
_SECRET_NAME = re.compile(
    r"(authorization|api[-_]?key|apikey|token|secret|password|passwd|signature|credential"
    r"|cookie|session[-_]?id|^key$|^sig$|x-amz-security-token|x-goog-signature)",
    re.IGNORECASE,
)
# In a body's text: a JSON escape other than \" and \\ (it could spell a secret so that no
# search of the text finds it; one after an escaped backslash is a false alarm), and
# white space between a name and its colon.
_OTHER_ESCAPE = re.compile(r'\\[^"\\]')
_SPACED_NAME = re.compile(r'"[ \t\n\r]+:')
# A JSON apiKey left in a body that is not valid JSON.
_RAW_API_KEY = re.compile(r'("api[-_]?key"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.IGNORECASE)
_CUT_API_KEY = re.compile(r'("api[-_]?key"\s*:\s*")(?:[^"\\]|\\.)*\\?$', re.IGNORECASE)
_BEARER = re.compile(r"^(\s*(?:bearer|basic|token)\s+)\S.*$", re.IGNORECASE)
_BEARER_KEY = re.compile(r"\s*(?:bearer|basic|token)\s+(\S+)", re.IGNORECASE)
# How much longer than its text a body's json.dumps can be: a non-ASCII character
# becomes a 6-character escape (from 2 bytes at least), a secret-named value such as 1
# becomes "[redacted]", and dumps adds a space after each comma and colon.
_DUMPS_GROWTH = 6


# Names repeat from request to request (taskType, positivePrompt, ...): the verdict for a
# short one is remembered. Bounded in count (the table starts over when full) and, by the
# length cap, in memory. A plain dict, looked up inline on the hot path: an lru_cache behind a
# function call cost twice as much per name.
_NAME_CACHE_CHARS = 64
_NAME_CACHE_SIZE = 4096
_name_verdicts: dict[str, bool] = {}


def is_secret_name(name: str) -> bool:
    verdict = _name_verdicts.get(name)
    if verdict is None:
        verdict = bool(_SECRET_NAME.search(name))
        if len(name) <= _NAME_CACHE_CHARS:
            if len(_name_verdicts) >= _NAME_CACHE_SIZE:
                _name_verdicts.clear()
            _name_verdicts[name] = verdict
    return verdict


def redact_url(url: str) -> str:
    """The URL with secret-looking query parameters (and userinfo) replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query and "@" not in parts.netloc:
        return url
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="[]")
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_query(query: str, found: list[str] | None = None) -> str:
    """The query with secret-named parameters' values replaced; those values join ``found``
    (the same key under an innocent name, ``?api_key=K&k=K``, is then scrubbed too)."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if found is not None:
        found.extend(v for k, v in pairs if v and is_secret_name(k))
    return urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="[]")


def redact_headers(
    headers: Iterable[tuple[str, str]], found: list[str] | None = None
) -> tuple[dict[str, str], str | None]:
    """The headers as the journal keeps them (lower-case names, secrets redacted), and the key
    of the first Authorization header, in one pass. The values of other secret-named headers
    (``X-Api-Key``, a second Authorization) join ``found``: they are scrubbed wherever else
    they show up."""
    out: dict[str, str] = {}
    bearer: str | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == "authorization":
            if bearer is None:
                bearer = _bearer_key(value)
            elif found is not None:
                found.append(_bearer_key(value) or "")  # (an empty one is dropped with the short ones)
            match = _BEARER.match(value)
            value = f"{match.group(1).strip()} {REDACTED}" if match else REDACTED
        elif is_secret_name(lower):
            if found is not None:
                found.append(_bearer_key(value) or "")
            value = REDACTED
        out[lower] = value if lower not in out else f"{out[lower]}, {value}"
    return out, bearer


# A longer string inside a JSON body keeps its first 200 characters.
MAX_STRING = 2000
TOO_DEEP = "[not shown: nested too deep]"


def _shorten(text: str) -> str:
    return f"{text[:200]}...[{len(text) - 200} more characters]"


def _redact_in_place(value: Any, secrets: list[str], long: list[tuple[Any, Any]], max_string: int) -> bool:
    """Redact a freshly parsed JSON value in place, in one walk; whether it changed anything.

    Secret-named fields become REDACTED and their values join ``secrets``; URLs lose
    their secret query parameters; strings longer than ``max_string`` are noted in
    ``long`` (container, key) and shortened by the caller once every secret is known.
    """
    changed = False
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(key):
                if isinstance(item, str):
                    if item:
                        secrets.append(item)
                else:
                    secrets.extend(api_keys_in(item))
                value[key] = REDACTED  # an existing key: the dict's size, and so its iteration, is unchanged
                changed = True
            elif isinstance(item, str):
                changed = _redact_string(value, key, item, long, max_string) or changed
            elif isinstance(item, (dict, list)):
                changed = _redact_in_place(item, secrets, long, max_string) or changed
    else:
        for key, item in enumerate(value):
            if isinstance(item, str):
                changed = _redact_string(value, key, item, long, max_string) or changed
            elif isinstance(item, (dict, list)):
                changed = _redact_in_place(item, secrets, long, max_string) or changed
    return changed


def _redact_string(container: Any, key: Any, text: str, long: list[tuple[Any, Any]], max_string: int) -> bool:
    changed = False
    if text.startswith(("http://", "https://")):
        shown = redact_url(text)
        if shown != text:
            container[key] = text = shown
            changed = True
    if len(text) > max_string:
        long.append((container, key))
        changed = True
    return changed


def _bearer_key(authorization: str) -> str | None:
    match = _BEARER_KEY.match(authorization)
    return match.group(1) if match else authorization.strip() or None


def api_keys_in(value: Any) -> list[str]:
    """Every apiKey value inside a JSON value (to scrub them from any other place)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and is_secret_name(k) and isinstance(v, str) and v:
                found.append(v)
            else:
                found.extend(api_keys_in(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(api_keys_in(v))
    return found


def _scrub(value: Any, secrets: list[str]) -> Any:
    """Replace literal secrets that slipped into other fields (a key pasted in a prompt)."""
    if not secrets:
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    return value


def _scrub_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _holds_any(secrets: list[str], *texts: str) -> bool:
    """Whether any secret is in any of the texts, in one search per secret: a secret found
    across two of them (it would have to hold the NUL between them) only costs a scrub."""
    joined = "\x00".join(texts)
    return any(secret in joined for secret in secrets)


def _json_forms(secrets: list[str]) -> list[str]:
    """How each secret reads inside JSON text: json.dumps escapes character by character, so a
    string holding a secret serializes to text holding the secret's serialization."""
    return [json.dumps(s)[1:-1] for s in secrets]


def _secrets(found: list[str]) -> list[str]:
    # Shorter ones would blank out ordinary words; each secret once.
    if len(found) <= 1:  # the bearer key alone, or nothing (nearly every request): no dict
        return [s for s in found if len(s) >= 4]
    return list(dict.fromkeys(s for s in found if len(s) >= 4))


# Keys the mock saw lately (bearer keys, apiKeys, secret query parameters), for the log
# redactor: uvicorn logs a request's target after the journal saw its key, and the target can
# hold it under an innocent name (``GET /image/<key>``). Bounded, oldest out first; process-wide,
# as the loggers are.
RECENT_KEYS = 32
recent_keys: dict[str, None] = {}
_recent_lock = threading.Lock()  # records are made in parse threads too


def note_keys(keys: Iterable[str]) -> None:
    for key in keys:
        if key not in recent_keys:  # nearly always known already: no lock taken
            with _recent_lock:
                if len(recent_keys) >= RECENT_KEYS:
                    del recent_keys[next(iter(recent_keys))]
                recent_keys[key] = None


class Journal:
    """A bounded, thread-safe list of redacted request records.

    Each body is kept as its redacted text (at most ``max_body_chars``) and decoded by
    ``entries()`` on every read, never stored back decoded: as Python objects a body can
    take twenty times its text (8,000 empty objects in 24 KB of JSON took 550 KB), and a
    full journal of such bodies held 600 MB.
    """

    def __init__(
        self,
        max_entries: int = DEFAULTS.journal_size,
        max_body_chars: int = MAX_BODY_CHARS,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.max_entries = max_entries
        self.max_body_chars = max_body_chars
        # The mock's own keys (--require-key, --admin-key): scrubbed from every record, also
        # where no request offered them as its key (``GET /image/<key>``). Longest first, so
        # that a key holding another is blanked whole.
        self._own = tuple(sorted(_secrets([s for s in secrets if s]), key=len, reverse=True))
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(
        self,
        body: bytes | str | None = None,
        *,
        method: str,
        path: str,
        query: str = "",
        headers: Iterable[tuple[str, str]] = (),
        transport: str = "http",
        extra_secrets: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Store one request (redacted) and return its record (status is filled in later).

        Nothing unredacted is ever stored: the record is built whole, then appended. A
        body with nothing in it to redact (``_clean_text``) is kept as received, its
        ``bodyIsJson`` left None: ``entries()`` redacts it then, which changes nothing.
        """
        found = [*self._own]
        shown_headers, bearer = redact_headers(headers, found)
        if bearer:
            found.append(bearer)
        if extra_secrets:
            found.extend(s for s in extra_secrets if s)
        query = redact_query(query, found)
        known = _secrets(found)
        clean = self._clean_text(body, known) if body else None
        if clean is not None:
            text, is_json, truncated, secrets = clean, None, False, known
        else:
            text, _, is_json, truncated, secrets = self._redact(body, found)
        if secrets:
            note_keys(secrets)
            if _holds_any(secrets, transport, method, path, query, *shown_headers, *shown_headers.values()):
                # A known key where no name says it is one (a header's value, the path): blanked.
                transport, method, path, query = (
                    _scrub_text(t, secrets) for t in (transport, method, path, query)
                )
                shown_headers = {
                    _scrub_text(k, secrets): _scrub_text(v, secrets) for k, v in shown_headers.items()
                }
        entry: dict[str, Any] = {
            "id": 0,
            "time": time.time(),  # written out by ``entries()``: most records are never read
            "transport": transport,
            "method": method,
            "path": path,
            "query": query,
            "headers": shown_headers,
            "body": text,
            "bodyIsJson": is_json,
            "bodyTruncated": truncated,
            "status": None,
        }
        with self._lock:
            entry["id"] = next(self._ids)
            self._entries.append(entry)
        return entry

    def _redact(
        self, body: bytes | str | None, found: list[str]
    ) -> tuple[str | None, Any, bool, bool, list[str]]:
        """(text as kept, its decoded value, whether it is JSON, whether it was cut, every
        secret known) of a body.

        The body is parsed once and redacted in place (the parsed copy is ours); literal
        secrets elsewhere are looked for in its JSON text first, which a body without
        them (nearly every request) gets away with. A JSON body that redaction left as it
        was is kept as the text it came in (no ``json.dumps``). ``found`` gains the body's
        own secrets.
        """
        parsed: Any = None
        text: str | None = None
        truncated = False
        if body and (len(body) > MAX_PARSED_BODY_BYTES or value_marks(body) > self.max_body_chars):
            # Too big to decode for the journal's sake (it would hold the GIL and, for
            # ten million tiny objects, fill memory): its redacted start is kept as text.
            secrets = _secrets(found)
            text, truncated = self._redacted_start(body, secrets), True
        elif body:
            raw = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
            try:
                box = [json.loads(raw)]  # a list around it: a bare string or number is walked alike
                long: list[tuple[Any, Any]] = []
                changed = _redact_in_place(box, found, long, MAX_STRING)
                secrets = _secrets(found)
                for container, key in long:  # scrubbed before cutting: no half secret is left
                    value = _scrub_text(container[key], secrets)
                    container[key] = _shorten(value) if len(value) > MAX_STRING else value
                parsed = box[0]
                if parsed is not None and self._plainly_clean(raw, secrets):
                    # Small enough to keep whole, and no secret to scrub.
                    forms, shown = [], json.dumps(parsed) if changed else raw
                else:
                    shown = json.dumps(parsed)
                    forms = _json_forms(secrets)
                    if any(form in shown for form in forms):
                        parsed = _scrub(parsed, secrets)
                        shown = json.dumps(parsed)
            except RecursionError:  # JSON nested too deep to walk: its escapes could hide a key
                parsed, secrets, forms, shown = None, _secrets(found), [], TOO_DEEP
            except ValueError:  # not JSON: kept as text, the apiKey pattern and known keys blanked
                parsed = None
                secrets = forms = _secrets(found)
                shown = _RAW_API_KEY.sub(lambda m: m.group(1) + REDACTED + m.group(3), raw)
                shown = _scrub_text(shown, secrets)
            if len(shown) > self.max_body_chars:
                # Too big to keep whole: keep the (redacted) start as text.
                shown = _scrub_text(shown, forms)
                parsed, shown, truncated = None, shown[: self.max_body_chars], True
            text = shown
        else:
            secrets = _secrets(found)
        return text, parsed, parsed is not None, truncated, secrets

    def _clean_text(self, body: bytes | str, secrets: list[str]) -> str | None:
        """The body's text when redacting it could change nothing, else None.

        That holds for a small body (no string in it long enough to be shortened, its
        ``json.dumps`` within ``max_body_chars``) of UTF-8 text with no URL (whose query
        could hold a signature), no JSON escape but ``\\"`` and ``\\\\`` (with them, every
        string of the parsed value is its text with those undone, so what the text lacks,
        the value lacks), no secret-looking name, and no known secret in either spelling.
        Most requests are such a body: they skip a parse and a walk (4 % of the mock's CPU
        per answer, under wrk). Each check is a scan in C: a regular expression of the secret
        names over the whole text took longer than the parse it saves.
        """
        if len(body) > MAX_STRING:
            return None
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError:
            return None
        # ("\\" first: a search for one character is far cheaper than the pattern's, and most
        # bodies have no backslash at all.)
        if "://" in text or ("\\" in text and _OTHER_ESCAPE.search(text)) or _SPACED_NAME.search(text):
            return None
        # Every name is followed by '":' (no space before its colon, checked above); one that
        # holds an escaped quote is not read whole here, so such a body takes the long way.
        verdicts = _name_verdicts
        for piece in text.split('":')[:-1]:
            head, _, name = piece.rpartition('"')
            if head.endswith("\\") or (verdicts.get(name, True) and is_secret_name(name)):
                return None
        for secret in secrets:
            quoted = _quoted(secret)  # the same text unless the secret holds a quote or backslash
            if secret in text or (quoted != secret and quoted in text):
                return None
        return text

    def _plainly_clean(self, raw: str, secrets: list[str]) -> bool:
        """Whether a parsed body needs no ``json.dumps`` to be checked: it cannot outgrow
        ``max_body_chars``, and no secret can hide in it. When its only escapes are ``\\"``
        and ``\\\\`` (a prompt quoting the text to draw has them), every string of the parsed
        value (keys too) is its text with those two undone, so a secret that is not in the
        text, escaped the same way, is in none of them. A secret-named field's own value is
        in the text, so a body with one takes the long way."""
        if len(raw) * _DUMPS_GROWTH > self.max_body_chars:
            return False
        if "\\" in raw and "\\" in raw.replace("\\\\", "").replace('\\"', ""):
            return False  # another escape (\\u..., \\n, ...): a secret could be spelled otherwise
        return not any(_quoted(secret) in raw for secret in secrets)

    def _redacted_start(self, body: bytes | str, secrets: list[str]) -> str:
        head = body[: 2 * self.max_body_chars]
        text = head.decode("utf-8", errors="replace") if isinstance(head, bytes) else head
        text = _RAW_API_KEY.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
        text = _CUT_API_KEY.sub(lambda m: m.group(1) + REDACTED, text)  # one the cut went through
        # The bearer key (or another known one) anywhere else in the text; scrubbed before
        # the cut, so none is left half.
        return _scrub_text(text, secrets)[: self.max_body_chars]

    def set_status(self, entry: dict[str, Any], status: int | None, note: str | None = None) -> None:
        with self._lock:
            entry["status"] = status
            if note:
                entry["note"] = note

    def entries(self) -> list[dict[str, Any]]:
        """The records, oldest first, bodies decoded (JSON as its value, else text)."""
        with self._lock:
            kept = [{**e} for e in self._entries]
        for entry in kept:  # outside the lock: decoding a full journal takes a while
            entry["time"] = _iso_time(entry["time"])
            entry["body"], entry["bodyIsJson"] = self._decoded(entry["body"], entry["bodyIsJson"])
        return kept

    def _decoded(self, text: str | None, is_json: bool | None) -> tuple[Any, bool]:
        if text is None:
            return None, False
        if is_json is None:  # kept as received: redacted now, the way it would have been at once
            text, parsed, is_json, _, _ = self._redact(text, [])
            return (parsed if is_json else text), is_json
        if not is_json:
            return text, False
        try:
            return json.loads(text), True
        except RecursionError:  # parsed on arrival, but this read runs deeper in the stack
            return TOO_DEEP, False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _quoted(text: str) -> str:
    """``text`` as it reads inside a JSON string that escapes only quotes and backslashes."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _iso_time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="milliseconds")
