"""Who may use /__admin: the one check every admin route depends on.

The admin routes steer the mock (faults, clock, reset) and show what others sent
(the journal, whose taskUUIDs would let anyone fetch their images), so:

- the ``Host`` must be a loopback name or address, or the address the request came
  in on: a page whose DNS name was rebound to 127.0.0.1 sends its own name;
- a browser request from another origin is refused (an ``Origin`` that is not the
  ``Host``, ``Origin: null``, ``Sec-Fetch-Site: cross-site``), and so is any request
  whose body is not JSON: a web form can post ``text/plain`` or form data to any
  address, but it cannot send ``application/json`` without a CORS preflight, which
  /__admin never answers;
- when the mock has a key (``admin_key``, else ``require_key``), the request must
  carry it as ``Authorization: Bearer <key>``; when it has none, only a client on this
  machine (a loopback peer address) may call: a mock bound to another interface does not
  hand its admin surface to the network (a ``Host`` header is easy to forge by hand).

Before all of these, a request the mock itself sent (a webhook or an upload, marked with
``OUTBOUND_HEADER``) is refused: webhooks may go to loopback, and without this a task whose
webhookURL names /__admin/reset would pass every check above, being on this machine.

Checked in that order; a refusal is a Runware-shaped error envelope.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import Response

from api_schema import errors as E

from ..outbound import OUTBOUND_HEADER
from ..server.auth import bearer_key
from ..server.envelope import error_response
from ..state import state_of

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# Methods that change something: their body (if any) must be JSON.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Admin bodies are small JSON objects (the gateway reads no more).
MAX_ADMIN_BODY_BYTES = 64 * 1024


class AdminRefused(Exception):
    """An admin request the guard refused; ``response`` is the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = error_response(status, code, message)


async def refused_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdminRefused)
    return exc.response


def _hostname(netloc: str) -> str:
    """The host part of ``host[:port]`` / ``[v6]:port``, lower case, without a trailing dot."""
    try:
        host = urlsplit(f"//{netloc}").hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _own_host(request: Request) -> str | None:
    server = request.scope.get("server")
    return str(server[0]).lower() if server else None


def _check_host(request: Request) -> str:
    host_header = request.headers.get("host", "")
    host = _hostname(host_header)
    if not host or not (_is_loopback(host) or host == _own_host(request)):
        shown = host_header[:64] or "(none)"
        raise AdminRefused(
            403,
            E.ADMIN_REFUSED,
            "/__admin answers only to a loopback Host or the address it was reached on"
            f" (got Host {shown!r}).",
        )
    return host_header.lower()


def _check_origin(request: Request, host_header: str) -> None:
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site" or (
        origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host_header)
    ):
        raise AdminRefused(
            403, E.ADMIN_REFUSED, "/__admin refuses requests from web pages of another origin (CSRF)."
        )


def _peer_is_local(request: Request) -> bool:
    client = request.scope.get("client")
    if not client:
        return True
    try:
        return ipaddress.ip_address(str(client[0])).is_loopback
    except ValueError:
        return True  # an in-process transport's made-up name ("testclient"): no network


def _check_key(request: Request) -> None:
    config = state_of(request).config
    expected = config.admin_key or config.require_key
    if expected is None:
        if not _peer_is_local(request):
            raise AdminRefused(
                403,
                E.ADMIN_REFUSED,
                "/__admin answers other machines only when the mock has a key (--admin-key, --require-key).",
            )
        return
    offered = bearer_key(request.headers) or ""
    if not hmac.compare_digest(*(k.encode("utf-8", "surrogatepass") for k in (offered, expected))):
        flag = "--admin-key" if config.admin_key else "--require-key"
        raise AdminRefused(
            401,
            E.INVALID_API_KEY,
            f"/__admin needs 'Authorization: Bearer <key>' with the mock's {flag} key.",
        )


async def _check_body(request: Request) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    content_type = request.headers.get("content-type")
    if content_type is None:
        if await request.body():
            raise AdminRefused(
                400, E.INVALID_REQUEST_BODY, "An admin body needs Content-Type: application/json."
            )
        return
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise AdminRefused(
            400,
            E.INVALID_REQUEST_BODY,
            f"An admin body must be application/json (got {mime[:64] or 'empty'!r}); "
            "web forms cannot steer the mock.",
        )


async def admin_guard(request: Request) -> None:
    """The dependency of every /__admin route: raises AdminRefused, else lets the request on."""
    if OUTBOUND_HEADER in request.headers:
        raise AdminRefused(
            403, E.ADMIN_REFUSED, "/__admin refuses the mock's own webhook and upload requests."
        )
    host_header = _check_host(request)
    _check_origin(request, host_header)
    _check_key(request)
    await _check_body(request)
