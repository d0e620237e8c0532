"""Fault injection: make the mock fail the way the live API fails, on demand.

Three sources, checked in this order for each request:
1. per request, the headers ``X-Mock-Fault: 402|403|429|500|503|504|timeout|reset`` and
   ``X-Mock-Latency-Ms: N`` (any non-admin path);
2. at run time, ``POST /__admin/faults``: fail the next N API requests with one fault,
   or fail API requests at a seeded random rate (reproducible run after run);
3. at start, a default latency and fault rate from the server's flags.

HTTP faults answer in Runware's shape: an ``{"errors": [...]}`` envelope with one
item per task of the request, and ``Retry-After`` on 429 and 503. ``timeout`` holds
the request (bounded, released early when the client hangs up) and then answers
504; ``reset`` drops the TCP connection without any HTTP response.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from api_schema import ErrorItem, make_error
from api_schema import errors as E

from ..config import DEFAULTS
from ..jsontext import MAX_JSON_VALUES, value_marks

FAULT_HEADER = "x-mock-fault"
LATENCY_HEADER = "x-mock-latency-ms"
# An in-process client's read timeout, in seconds (runware_respx sends it): no injected hold
# lasts longer, since over a socket the client would have given up by then. Without it an
# in-process "timeout" held a client with a 3 s timeout for 30 s and then answered 504.
CLIENT_TIMEOUT_HEADER = "x-mock-client-timeout-s"

HTTP_FAULTS: dict[str, tuple[int, str, str]] = {
    "402": (402, E.INSUFFICIENT_CREDITS, E.INSUFFICIENT_CREDITS_MESSAGE),
    "403": (403, E.INSUFFICIENT_PERMISSIONS, E.INSUFFICIENT_PERMISSIONS_MESSAGE),
    "429": (429, E.RATE_LIMITED, "Too many requests: the queue capacity is exceeded. Retry later."),
    "500": (500, E.SERVER_ERROR, "Internal server error (injected by the mock)."),
    "503": (503, E.SERVICE_UNAVAILABLE, "The service is temporarily at capacity. Retry later."),
    "504": (504, E.TIMEOUT, "The task waited too long in the queue and timed out."),
}
FAULT_KINDS: tuple[str, ...] = (*HTTP_FAULTS, "timeout", "reset")
# Seconds a 429 or 503 asks the client to wait, unless an admin fault says otherwise.
RETRY_AFTER_S = 1
# Upper bound of an injected latency, so a header cannot pin a worker for hours.
MAX_LATENCY_MS = 60_000
# Upper bound of the counted faults one admin call may queue.
MAX_COUNT = 10_000


class FaultSpecError(ValueError):
    """An admin fault request that does not make sense; the message says why."""


@dataclass(frozen=True)
class Decision:
    """What to do with one request: an optional fault and a delay before anything."""

    fault: str | None = None
    latency_ms: int = 0
    source: str = ""  # "header", "admin", "random" or "startup"


@dataclass
class _Plan:
    fault: str | None = None
    remaining: int = 0
    rate: float = 0.0
    kinds: tuple[str, ...] = tuple(DEFAULTS.fault_kinds)
    seed: int | None = None
    latency_ms: int = 0
    retry_after_s: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def describe(self) -> dict[str, Any]:
        return {
            "fault": self.fault if self.remaining else None,
            "remaining": self.remaining,
            "rate": self.rate,
            "faults": list(self.kinds),
            "seed": self.seed,
            "latencyMs": self.latency_ms,
            "retryAfter": self.retry_after_s,
        }


NO_FAULT = Decision()


def _kind(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if text not in FAULT_KINDS:
        raise FaultSpecError(f"{where} must be one of {', '.join(FAULT_KINDS)} (got {value!r})")
    return text


def _latency(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FaultSpecError(f"{where} must be a number of milliseconds (got {value!r})")
    try:
        number = float(value)
    except ValueError:
        raise FaultSpecError(f"{where} must be a number of milliseconds (got {value!r})") from None
    if not 0 <= number <= MAX_LATENCY_MS:
        raise FaultSpecError(f"{where} must be between 0 and {MAX_LATENCY_MS} (got {value!r})")
    return int(number)


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise FaultSpecError(f"'rate' must be a number between 0 and 1 (got {value!r})")
    return float(value)


class FaultInjector:
    """Decides, request by request, whether to fail it and how long to delay it."""

    def __init__(
        self,
        *,
        latency_ms: int = DEFAULTS.latency_ms,
        rate: float = DEFAULTS.fault_rate,
        seed: int | None = DEFAULTS.fault_seed,
        kinds: Iterable[str] = tuple(DEFAULTS.fault_kinds),
        timeout_hold_s: float = DEFAULTS.fault_timeout_s,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        self.timeout_hold_s = timeout_hold_s
        self.retry_after_s = retry_after_s
        self._startup = _Plan(
            rate=_rate(rate),
            kinds=tuple(_kind(k, "a start-up fault kind") for k in kinds) or tuple(DEFAULTS.fault_kinds),
            seed=seed,
            latency_ms=_latency(latency_ms, "the start-up latency"),
            rng=random.Random(seed),
        )
        self._admin: _Plan | None = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- admin
    def configure(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a POST /__admin/faults body; raises FaultSpecError on nonsense."""
        if not isinstance(spec, Mapping):
            raise FaultSpecError("the body must be a JSON object")
        known = {"fault", "count", "rate", "seed", "faults", "latencyMs", "retryAfter"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise FaultSpecError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        plan = _Plan()
        if "fault" in spec:
            plan.fault = _kind(spec["fault"], "'fault'")
            count = spec.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
                raise FaultSpecError(f"'count' must be an integer between 1 and {MAX_COUNT} (got {count!r})")
            plan.remaining = count
        elif "count" in spec:
            raise FaultSpecError("'count' needs a 'fault' to repeat")
        if "rate" in spec:
            plan.rate = _rate(spec["rate"])
        if "faults" in spec:
            kinds = spec["faults"]
            if not isinstance(kinds, list) or not kinds:
                raise FaultSpecError("'faults' must be a non-empty list of fault kinds")
            plan.kinds = tuple(_kind(k, "each of 'faults'") for k in kinds)
        seed = spec.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultSpecError(f"'seed' must be an integer (got {seed!r})")
        plan.seed = seed
        plan.rng = random.Random(seed)
        if "latencyMs" in spec:
            plan.latency_ms = _latency(spec["latencyMs"], "'latencyMs'")
        if "retryAfter" in spec:
            wait = spec["retryAfter"]
            if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= 3600:
                raise FaultSpecError(f"'retryAfter' must be whole seconds between 0 and 3600 (got {wait!r})")
            plan.retry_after_s = wait
        if not (plan.remaining or plan.rate or plan.latency_ms):
            raise FaultSpecError("give 'fault' (with an optional 'count'), 'rate' or 'latencyMs'")
        with self._lock:
            self._admin = plan
        return self.describe()

    def clear(self) -> dict[str, Any]:
        """Drop the run-time faults; the start-up flags stay in force."""
        with self._lock:
            self._admin = None
        return self.describe()

    def reset(self) -> None:
        """Back to the state right after start, random sequence included."""
        with self._lock:
            self._admin = None
            self._startup.rng = random.Random(self._startup.seed)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "kinds": list(FAULT_KINDS),
                "active": self._admin.describe() if self._admin else None,
                "startup": self._startup.describe(),
            }

    # -------------------------------------------------------------- decision
    def decide(self, headers: Mapping[str, str], *, api_request: bool) -> Decision:
        """The fault and delay for one request.

        ``headers`` is a case-insensitive mapping or one with lower-case keys.
        ``api_request`` says whether the admin and start-up plans apply (they
        target the API endpoint, not image downloads); header faults always do.
        Counted admin faults come first; then a random rate (the admin one when
        set, else the start-up one). Raises FaultSpecError for a bad header value.
        """
        header_fault = headers.get(FAULT_HEADER)
        header_latency = headers.get(LATENCY_HEADER)
        start = self._startup
        if not (header_fault or header_latency or self._admin or start.rate or start.latency_ms):
            return NO_FAULT  # nothing asked for: no lock to take (a plan is set as one assignment)
        latency = _latency(header_latency, f"header {LATENCY_HEADER}") if header_latency else None
        if header_fault:
            return Decision(_kind(header_fault, f"header {FAULT_HEADER}"), latency or 0, "header")
        if not api_request:
            return Decision(None, latency or 0, "header" if latency else "")
        with self._lock:
            admin, start = self._admin, self._startup
            if latency is None:
                latency = admin.latency_ms if admin and admin.latency_ms else start.latency_ms
            if admin is not None and admin.remaining:
                admin.remaining -= 1
                return Decision(admin.fault, latency, "admin")
            plan, source = (admin, "random") if admin is not None and admin.rate else (start, "startup")
            if plan.rate and plan.rng.random() < plan.rate:
                return Decision(plan.rng.choice(plan.kinds), latency, source)
            return Decision(None, latency, "")

    # -------------------------------------------------------------- answers
    def answer(self, fault: str, body: bytes | None) -> tuple[int, list[ErrorItem], dict[str, str]]:
        """(status, error items, headers) of an HTTP fault ("402", "403", "429", "500", "503", "504").

        Runware's shape: one error item per task of the request, Retry-After on 429 and 503.
        """
        status, code, message = HTTP_FAULTS[fault]
        errors = [
            make_error(code, message, task_type=t.get("taskType"), task_uuid=t.get("taskUUID"))
            for t in _tasks_of(body)
            if t.get("taskType") != "authentication"
        ] or [make_error(code, message)]
        headers = {}
        if status in (429, 503):
            admin = self._admin
            wait = admin.retry_after_s if admin and admin.retry_after_s is not None else self.retry_after_s
            headers["retry-after"] = str(wait)
        headers["x-mock-fault"] = fault
        return status, errors, headers


def client_timeout(headers: Mapping[str, str]) -> float | None:
    """The client's read timeout from ``CLIENT_TIMEOUT_HEADER``, if it sent a usable one."""
    text = headers.get(CLIENT_TIMEOUT_HEADER)
    if text is None or len(text) > 32:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def _tasks_of(body: bytes | None) -> list[dict[str, Any]]:
    """The taskType and taskUUID of each task, for a fault's errors to name; none for a body
    the pipeline would refuse unread (a fault is decided before it, on the loop)."""
    if not body or value_marks(body) > MAX_JSON_VALUES:
        return []
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    out = []
    for task in value[:100]:
        if isinstance(task, dict):
            kept = {k: task.get(k) for k in ("taskType", "taskUUID")}
            out.append({k: v for k, v in kept.items() if isinstance(v, str) and len(v) <= 64})
    return out


async def wait_or_disconnect(seconds: float, receive: Callable[[], Awaitable[dict[str, Any]]]) -> bool:
    """Sleep up to ``seconds``; return early (True) when the client hangs up.

    Call it only after the request body has been read in full: then the next
    ASGI message can only be ``http.disconnect``.
    """
    if seconds <= 0:
        return False

    async def watch() -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return

    watcher = asyncio.ensure_future(watch())
    try:
        done, _ = await asyncio.wait({watcher}, timeout=seconds)
    finally:
        watcher.cancel()
    return bool(done)


async def drop_connection(send: Callable[..., Awaitable[None]]) -> None:
    """Close the client's TCP connection without sending any HTTP response.

    Under uvicorn the raw ``send`` is a method of the request cycle, which holds
    the asyncio transport; aborting it makes the client see a connection error
    (httpx: RemoteProtocolError / ReadError). Anywhere else (an in-process
    ASGI transport) the same failure is raised as httpx's exception, so the
    client code under test sees what it would see over a socket.
    """
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        # Let uvicorn notice the lost connection before the app returns, so it
        # does not try to answer on a dead socket.
        for _ in range(3):
            await asyncio.sleep(0)
        return
    raise httpx.RemoteProtocolError("Server disconnected without sending a response (injected reset).")
