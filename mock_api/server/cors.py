"""CORS for browser front-ends: the API and its images, never /__admin.

Off unless origins are configured (``--cors ORIGIN``, repeatable, ``*`` for any).
Starlette's ``CORSMiddleware`` answers the preflights and adds the headers; this
wrapper keeps it away from the admin routes, so a web page can call the mock but can
never steer it. It sits outside the gateway, so injected faults (a 429, a 503) carry
the headers too and a browser app can read them.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ..control import ADMIN_PREFIX

# What a browser app may send and read: the API's methods, any request header (the
# Authorization header included: it is listed by name in the preflight answer), and
# the headers a client needs to handle a fault.
METHODS = ("GET", "HEAD", "POST")
EXPOSED = ("Retry-After", "X-Mock-Fault", "Content-Length")
PREFLIGHT_MAX_AGE_S = 600


class ApiCORS:
    """CORS on every HTTP path but /__admin."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=METHODS,
            allow_headers=["*"],
            expose_headers=EXPOSED,
            max_age=PREFLIGHT_MAX_AGE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith(ADMIN_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
