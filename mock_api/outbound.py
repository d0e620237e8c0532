"""Requests the mock sends out: webhook POSTs and uploadEndpoint PUTs.

Safety first: a mock reachable on a network must not become a tool for making
requests elsewhere. A target is allowed only when every address its host resolves
to is a loopback address, or when the host (or a network containing its
addresses) was allowed explicitly at start (``--allow-outbound``). The request then
goes to the address that was checked (so a second DNS answer cannot redirect it),
redirects are not followed, every attempt has a timeout, retries are bounded.
Reference-image URLs are never fetched by the mock at all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .config import DEFAULTS
from .control.journal import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


# Sent with every webhook and upload: /__admin refuses a request that carries it, so a task
# cannot point its webhookURL at the mock's own /__admin (which is on loopback, where
# webhooks may go) and reset it or change its faults on a caller's behalf.
OUTBOUND_HEADER = "X-Runware-Mock-Outbound"


class TargetRefused(ValueError):
    """The URL may not be called; the message says why and how to allow it."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and the Host/SNI name to present."""

    url: str  # the original URL
    connect_url: str  # the same URL with the host replaced by the checked address
    host: str
    address: str


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout=5.0
    )
    return [str(info[4][0]) for info in infos]


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


# What a refused target is told when the mock was started to send nothing at all.
# Said to callers who may not run the mock (a Space's visitors): no flag names in it.
NO_DELIVERY = (
    "this mock does not deliver webhooks or uploads (its outbound requests are off);"
    " use the sync or async answer instead"
)


class OutboundPolicy:
    """Which hosts the mock may send requests to: loopback, plus what was allowed, or nothing
    at all (``enabled=False``: every target is refused before any name is resolved)."""

    def __init__(
        self, allow: Iterable[str] = (), resolver: Resolver = system_resolver, *, enabled: bool = True
    ) -> None:
        self.enabled = enabled
        self.allow_any = False
        self.allow_names: set[str] = set()
        self.allow_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.resolver = resolver
        for entry in allow:
            entry = entry.strip().lower()
            if not entry:
                continue
            if entry == "*":
                self.allow_any = True
                continue
            try:
                self.allow_networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self.allow_names.add(entry.rstrip("."))

    def describe(self) -> list[str]:
        if not self.enabled:
            return []
        extra = (["*"] if self.allow_any else []) + sorted(self.allow_names)
        return ["loopback", *extra, *(str(n) for n in self.allow_networks)]

    def _address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.is_loopback or any(address in net for net in self.allow_networks)

    async def check(self, url: str, *, what: str = "URL") -> Target:
        """Resolve and vet a URL; raises TargetRefused with a readable reason."""
        if not self.enabled:
            raise TargetRefused(f"{what}: {NO_DELIVERY}")
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise TargetRefused(f"{what} is not a valid URL") from None
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            raise TargetRefused(f"{what} must be an absolute http(s) URL")
        hint = (
            f"The mock only sends requests to loopback addresses (127.0.0.0/8, ::1, localhost);"
            f" start it with --allow-outbound {host} to allow this host."
        )
        literal = _ip(host)
        if literal is not None:
            addresses = [str(literal)]
        elif self.allow_any or host in self.allow_names:
            addresses = await self._resolve(host, port, what)
            return self._target(url, parts, host, addresses[0])
        else:
            addresses = await self._resolve(host, port, what, hint)
        if self.allow_any:
            return self._target(url, parts, host, addresses[0])
        for text in addresses:
            address = _ip(text)
            if address is None or not self._address_allowed(address):
                raise TargetRefused(f"{what} host {host!r} resolves to {text}, which is not allowed. {hint}")
        return self._target(url, parts, host, addresses[0])

    async def _resolve(self, host: str, port: int, what: str, hint: str = "") -> list[str]:
        try:
            addresses = await self.resolver(host, port)
        except (OSError, asyncio.TimeoutError, UnicodeError) as exc:
            reason = f"{what} host {host!r} could not be resolved ({exc}). {hint}"
            raise TargetRefused(reason.strip()) from None
        if not addresses:
            raise TargetRefused(f"{what} host {host!r} has no address. {hint}".strip())
        return addresses

    @staticmethod
    def _target(url: str, parts: Any, host: str, address: str) -> Target:
        shown = f"[{address}]" if ":" in address else address
        netloc = shown if parts.port is None else f"{shown}:{parts.port}"
        connect_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return Target(url=url, connect_url=connect_url, host=host, address=address)


@dataclass
class Delivery:
    """One webhook or upload, as shown by GET /__admin/deliveries (URL redacted)."""

    kind: str  # "webhook" or "upload"
    url: str
    task_uuid: str | None
    image_uuid: str | None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = False
    refused: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "taskUUID": self.task_uuid,
            "imageUUID": self.image_uuid,
            "ok": self.ok,
            "refused": self.refused,
            "attempts": list(self.attempts),
        }


class Outbound:
    """Sends webhooks and uploads under an OutboundPolicy, with bounded retries."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        timeout_s: float = DEFAULTS.outbound_timeout_s,
        backoff_s: Sequence[float] = tuple(DEFAULTS.webhook_backoff_s),
        max_log: int = 500,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        self.timeout_s = timeout_s
        self.backoff_s = tuple(backoff_s)
        self._sleep = sleep
        self._log: deque[Delivery] = deque(maxlen=max_log)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            # trust_env=False: no proxy from the environment may reroute a request
            # that was vetted for its own address.
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s), follow_redirects=False, trust_env=False
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def deliveries(self) -> list[dict[str, Any]]:
        return [d.to_wire() for d in self._log]

    def clear(self) -> None:
        self._log.clear()

    async def check(self, url: str, *, what: str) -> Target:
        return await self.policy.check(url, what=what)

    async def post_webhook(self, url: str, item: dict[str, Any]) -> Delivery:
        """POST ``{"data": [item]}``; retried on a non-2xx answer or a connection error."""
        return await self._send(
            "webhook", "POST", url, json_body={"data": [item]}, item=item, content_type="application/json"
        )

    async def post_envelope(self, url: str, envelope: dict[str, Any], task_uuid: str | None) -> Delivery:
        """POST a whole envelope (a failed task's ``{"errors": [...]}``)."""
        item = {"taskUUID": task_uuid}
        return await self._send(
            "webhook", "POST", url, json_body=envelope, item=item, content_type="application/json"
        )

    async def put_upload(self, url: str, data: bytes, content_type: str, item: dict[str, Any]) -> Delivery:
        """PUT the raw image bytes, as to a presigned storage URL."""
        return await self._send("upload", "PUT", url, raw_body=data, item=item, content_type=content_type)

    async def _send(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        item: dict[str, Any],
        content_type: str,
        json_body: Any = None,
        raw_body: bytes | None = None,
    ) -> Delivery:
        delivery = Delivery(kind, redact_url(url), item.get("taskUUID"), item.get("imageUUID"))
        self._log.append(delivery)
        try:
            what = "webhookURL" if kind == "webhook" else "uploadEndpoint"
            target = await self.policy.check(url, what=what)
        except TargetRefused as exc:
            delivery.refused = str(exc)
            return delivery
        headers = {
            "Host": _host_header(target),
            "Content-Type": content_type,
            "User-Agent": "runware-mock",
            OUTBOUND_HEADER: "1",
        }
        extensions = {"sni_hostname": target.host} if url.startswith("https") else {}
        content = raw_body if raw_body is not None else json.dumps(json_body, separators=(",", ":")).encode()
        waits = (*self.backoff_s, None)
        for attempt, wait in enumerate(waits, start=1):
            started = time.monotonic()
            record: dict[str, Any] = {"attempt": attempt}
            try:
                response = await self._http().request(
                    method, target.connect_url, content=content, headers=headers, extensions=extensions
                )
                record["status"] = response.status_code
                ok = 200 <= response.status_code < 300
            except httpx.HTTPError as exc:
                record["error"] = type(exc).__name__
                ok = False
            record["ms"] = round((time.monotonic() - started) * 1000)
            delivery.attempts.append(record)
            if ok:
                delivery.ok = True
                return delivery
            if wait is None:
                break
            await self._sleep(wait)
        return delivery


def _host_header(target: Target) -> str:
    port = urlsplit(target.url).port
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if port is None else f"{host}:{port}"
