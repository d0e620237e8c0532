"""The HTTP side of the client: one POST or GET with timeouts, retries and back-off.

Retried: 408, 429, 5xx, connection failures and timeouts, with exponential back-off
plus ``random.uniform`` jitter, honouring ``Retry-After``, bounded by the attempt count
and by the caller's deadline. Never retried: any other 4xx. A retried imageInference
keeps its taskUUID; if the server answers ``conflictTaskUUID`` the earlier attempt did
arrive, and the reply says so (``conflict``) so the caller collects the results.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr, ValidationError

from api_schema import ErrorItem
from api_schema import errors as codes

from .errors import (
    RETRYABLE_STATUSES,
    ImageError,
    NetworkError,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    RunwareError,
    ServerError,
    ValidationFailed,
    from_items,
)
from .policies import RetryPolicy

log = logging.getLogger("demo.client")

_REDACTED = "[redacted]"
T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """``awaitable``, or TimeoutError after ``seconds``; a cancellation always gets through.

    Python 3.11's ``asyncio.wait_for`` drops a cancellation that arrives as the awaited
    call finishes, so a cancelled poll loop went on polling; ``asyncio.timeout`` does not.
    """
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # 3.10: wait_for has no such race there


def check_key(key: str) -> None:
    """ValidationFailed (never naming the key) unless ``key`` can travel in an HTTP header.

    A pasted key with a line break or a non-ASCII character would otherwise fail deep in
    httpx, with the key itself in the error text (CR/LF) or as a bare UnicodeEncodeError.
    """
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in key):
        raise ValidationFailed(
            "The API key holds characters an API key cannot have (spaces, line breaks, control or "
            "non-ASCII characters): copy it again from your Runware dashboard.",
            code=codes.INVALID_API_KEY,
            parameter="apiKey",
        )


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (where the key may be sent)."""
    pa, pb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}
    try:
        return (
            pa.scheme.lower() == pb.scheme.lower()
            and (pa.hostname or "").lower() == (pb.hostname or "").lower()
            and (pa.port or default.get(pa.scheme.lower())) == (pb.port or default.get(pb.scheme.lower()))
        )
    except ValueError:  # a malformed port
        return False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())  # a past date: now
    if seconds != seconds or seconds < 0:
        # NaN or a negative delay is no usable hint: the client backs off as without one
        # (honouring "-5" as "at once" turned the retries into a tight loop).
        return None
    return seconds


def as_list(value: Any) -> list[Any]:
    """A body's "data" or "errors" member as a list, whatever a drifting server sent."""
    return value if isinstance(value, list) else []


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    conflict: bool = False  # a retry hit conflictTaskUUID: the first attempt was received


class Caller:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        key: SecretStr | None,
        *,
        timeout: float,
        retry: RetryPolicy,
        max_answer_bytes: int,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self._key = key
        self.timeout = timeout
        self.retry = retry
        self.max_answer_bytes = max_answer_bytes
        # Tests replace this to observe the delays without waiting them out.
        self.sleep = asyncio.sleep

    def __repr__(self) -> str:
        return f"Caller(base_url={self.base_url!r})"

    # -- secrecy --------------------------------------------------------------------

    def redact(self, text: str) -> str:
        key = self._key.get_secret_value() if self._key else ""
        return text.replace(key, _REDACTED) if key else text

    def _auth(self, url: str) -> dict[str, str]:
        if self._key is None or not same_origin(url, self.base_url):
            return {}
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    def error_items(self, body: dict[str, Any]) -> list[ErrorItem]:
        items = []
        for raw in as_list(body.get("errors")):
            try:
                item = ErrorItem.model_validate(raw)
            except ValidationError:
                item = ErrorItem(code="unknownError", message=str(raw)[:200])
            item.message = self.redact(item.message)
            items.append(item)
        return items

    # -- retry policy -------------------------------------------------------------

    async def _wait_or_give_up(
        self, err: RunwareError, delay: float, attempt: int, retries: int, deadline_at: float
    ) -> None:
        """Sleep before the next attempt, or raise ``err`` when none is left in time."""
        remaining = deadline_at - time.monotonic()
        if attempt >= retries or delay >= remaining:
            raise err
        log.warning("%s (attempt %d of %d); retrying in %.2f s", err.code, attempt + 1, retries + 1, delay)
        await self.sleep(delay)

    def _per_call(self, deadline_at: float, uuid: str | None) -> float:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout("The deadline passed before the request could be sent.", task_uuid=uuid)
        return min(self.timeout, remaining)

    def _transport_error(self, exc: Exception, uuid: str | None) -> RunwareError:
        if isinstance(exc, (httpx.TimeoutException, asyncio.TimeoutError)):
            return RequestTimeout(f"No answer within the {self.timeout:g} s timeout.", task_uuid=uuid)
        detail = self.redact(str(exc)) or type(exc).__name__
        return NetworkError(f"Could not reach the API ({type(exc).__name__}: {detail}).", task_uuid=uuid)

    # -- POST to the API ---------------------------------------------------------

    async def post(
        self,
        tasks: list[dict[str, Any]],
        deadline_at: float,
        *,
        task_uuid: str | None = None,
        retries: int | None = None,
        max_bytes: int | None = None,
    ) -> Reply:
        """POST a task array; the decoded envelope of a 2xx answer, or a typed error.

        The answer is read streamed and refused past ``max_bytes`` decoded bytes (default
        ``max_answer_bytes``): a compressed or endless answer cannot fill the memory.
        """
        retries = self.retry.max_retries if retries is None else retries
        cap = self.max_answer_bytes if max_bytes is None else max_bytes
        kinds = ",".join(str(t.get("taskType")) for t in tasks)
        lost_reply = False
        attempt = 0
        while True:
            per_call = self._per_call(deadline_at, task_uuid)
            try:
                resp, content = await within(self._post_once(tasks, per_call, cap, task_uuid), per_call + 0.5)
            except (httpx.TransportError, asyncio.TimeoutError) as exc:
                err = self._transport_error(exc, task_uuid)
                lost_reply = True
                await self._wait_or_give_up(err, self.retry.backoff(attempt), attempt, retries, deadline_at)
                attempt += 1
                continue
            log.info("POST %s [%s] -> %d", self.base_url, kinds, resp.status_code)
            body = self._decode(content)
            if resp.status_code < 400:
                if body is None:
                    raise ProtocolError(
                        "The API answered with a body that is not a JSON object.",
                        status=resp.status_code,
                        task_uuid=task_uuid,
                    )
                return Reply(resp.status_code, body)
            items = self.error_items(body or {})
            if (
                lost_reply
                and task_uuid
                and any(
                    e.code == codes.CONFLICT_TASK_UUID and e.task_uuid in (None, task_uuid) for e in items
                )
            ):
                return Reply(resp.status_code, body or {}, conflict=True)
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            err = from_items(
                items,
                status=resp.status_code,
                task_uuid=task_uuid,
                retry_after=retry_after,
                fallback=f"HTTP {resp.status_code} {resp.reason_phrase or ''}".strip() + ".",
            )
            if resp.status_code not in RETRYABLE_STATUSES and resp.status_code < 500:
                raise err
            # A 5xx may have been produced after the task was accepted.
            lost_reply = lost_reply or resp.status_code >= 500
            delay = retry_after if retry_after is not None else self.retry.backoff(attempt)
            await self._wait_or_give_up(err, delay, attempt, retries, deadline_at)
            attempt += 1

    async def _post_once(
        self, tasks: list[dict[str, Any]], per_call: float, cap: int, uuid: str | None
    ) -> tuple[httpx.Response, bytes]:
        too_large = ProtocolError(
            f"The API's answer is larger than the {cap}-byte limit; it was not read.",
            code="answerTooLarge",
            task_uuid=uuid,
        )
        headers = self._auth(self.base_url)
        request = self.http.stream("POST", self.base_url, json=tasks, headers=headers, timeout=per_call)
        async with request as resp:
            return resp, await _read_capped(resp, cap, too_large)

    @staticmethod
    def _decode(content: bytes) -> dict[str, Any] | None:
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):
            return None
        return body if isinstance(body, dict) else None

    # -- GET an image -------------------------------------------------------------

    async def download(self, url: str, max_bytes: int, deadline_at: float) -> bytes:
        """GET image bytes, streamed with a size cap; retried like a POST."""
        attempt = 0
        while True:
            per_call = self._per_call(deadline_at, None)
            try:
                return await within(self._get_once(url, max_bytes, per_call), per_call + 0.5)
            except (httpx.TransportError, asyncio.TimeoutError) as exc:
                err = self._transport_error(exc, None)
                delay = self.retry.backoff(attempt)
            except _RetryableStatus as exc:
                err = ServerError(f"Downloading the image failed with HTTP {exc.status}.", status=exc.status)
                if exc.status == 429:
                    err = RateLimited(
                        "The image host is rate limiting.", status=429, retry_after=exc.retry_after
                    )
                delay = exc.retry_after if exc.retry_after is not None else self.retry.backoff(attempt)
            await self._wait_or_give_up(err, delay, attempt, self.retry.max_retries, deadline_at)
            attempt += 1

    async def _get_once(self, url: str, max_bytes: int, per_call: float) -> bytes:
        too_large = ImageError(f"The image is larger than the {max_bytes}-byte limit.", code="imageTooLarge")
        # Redirects are followed by hand so the key never follows one to another origin.
        for _ in range(5):
            async with self.http.stream("GET", url, headers=self._auth(url), timeout=per_call) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    url = str(resp.url.join(resp.headers["location"]))
                    continue
                if resp.status_code in RETRYABLE_STATUSES:
                    raise _RetryableStatus(
                        resp.status_code, parse_retry_after(resp.headers.get("Retry-After"))
                    )
                if resp.status_code != 200:
                    raise ImageError(
                        f"Downloading the image failed with HTTP {resp.status_code}"
                        + (" (expired or unknown image)." if resp.status_code in (404, 410) else "."),
                        code=codes.IMAGE_NOT_FOUND
                        if resp.status_code in (404, 410)
                        else "imageDownloadFailed",
                        status=resp.status_code,
                    )
                data = await _read_capped(resp, max_bytes, too_large)
                where = resp.url.copy_with(query=None)
                log.info("GET %s -> %d (%d bytes)", where, resp.status_code, len(data))
                return data
        raise ImageError("Too many redirects while downloading the image.", code="imageDownloadFailed")


async def _read_capped(resp: httpx.Response, max_bytes: int, too_large: RunwareError) -> bytes:
    """The (decoded) body of a streamed response, or ``too_large`` once it passes ``max_bytes``."""
    length = resp.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes and "content-encoding" not in resp.headers:
        raise too_large
    chunks, size = [], 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        self.status, self.retry_after = status, retry_after
