"""``runware_respx()``: httpx calls to the live Runware URLs answered by an in-process mock.

While the context is active, every httpx request (sync or async client) to
``https://api.runware.ai/v1``, and to the image URLs the mock hands out, is routed by
respx to a mock app running in this process: no port, no network, no change to the
code under test. Other hosts are refused (respx's ``assert_all_mocked``) unless the
test adds its own routes to ``.router``.

The mock runs in Starlette's ``TestClient`` (its own event-loop thread, with the app's
start-up and shut-down), so its async jobs keep running between requests, exactly as
behind a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import respx
from starlette.testclient import TestClient

from api_schema.limits import API_URL

from ..app import create_app
from ..config import MockConfig
from ..control.faults import CLIENT_TIMEOUT_HEADER
from .handle import MockHandle

# The live image host. The mock names its image URLs after the host a request came to,
# so those resolve through the router as well.
IMAGE_HOST = "im.runware.ai"

# Set while respx resolves a request of an async client: the route then answers with a
# coroutine (respx awaits it) instead of blocking the caller's event loop.
_IN_ASYNC_CLIENT: contextvars.ContextVar[bool] = contextvars.ContextVar("runware_respx_async", default=False)


class _Router(respx.MockRouter):
    async def aresolve(self, request: httpx.Request) -> Any:
        token = _IN_ASYNC_CLIENT.set(True)
        try:
            return await super().aresolve(request)
        finally:
            _IN_ASYNC_CLIENT.reset(token)


@dataclass
class RespxMock(MockHandle):
    """A ``MockHandle`` for the in-process mock, plus the respx ``router`` it lives in."""

    router: respx.MockRouter | None = None
    app: Any = None

    @property
    def state(self) -> Any:
        """The mock's ``MockState`` (journal, jobs, images), for tests that look inside."""
        return self.app.state.mock


def _forwarder(client: TestClient) -> Any:
    def forward(request: httpx.Request) -> httpx.Response:
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        headers.append(("host", request.url.netloc.decode("ascii")))
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        if read_timeout is not None:  # no injected hold outlasts it (faults.CLIENT_TIMEOUT_HEADER)
            headers.append((CLIENT_TIMEOUT_HEADER, repr(float(read_timeout))))

        def call(body: bytes) -> httpx.Response:
            started = time.monotonic()
            answer = client.request(request.method, str(request.url), content=body, headers=headers)
            # What the client's own socket would have said: over a socket, a client gives up
            # after its read timeout, and an injected reset answers nothing at all (TestClient
            # makes that an empty 500 with no headers, which no answer of the mock is).
            if read_timeout is not None and time.monotonic() - started >= read_timeout:
                raise httpx.ReadTimeout("The read operation timed out.", request=request)
            if answer.status_code == 500 and not answer.headers and not answer.content:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            return httpx.Response(
                answer.status_code, headers=answer.headers.multi_items(), content=answer.content
            )

        if _IN_ASYNC_CLIENT.get():

            async def call_async() -> httpx.Response:
                body = await request.aread()
                # TestClient blocks until the mock's loop answers: keep the caller's loop free.
                return await asyncio.to_thread(call, body)

            return call_async()  # type: ignore[return-value]  # respx awaits it
        return call(request.read())

    return forward


@contextlib.contextmanager
def runware_respx(
    config: MockConfig | None = None, *, api_url: str = API_URL, assert_all_mocked: bool = True
) -> Iterator[RespxMock]:
    """Route httpx traffic for the Runware API (and its image URLs) to an in-process mock."""
    config = config or MockConfig()
    if config.image_base_url is None:  # image URLs on the live image host, as the live API gives
        config = dataclasses.replace(config, image_base_url=f"https://{IMAGE_HOST}")
    app = create_app(config)
    api = urlsplit(api_url)
    base = f"{api.scheme}://{api.netloc}"
    with (
        TestClient(app, base_url=base, raise_server_exceptions=False, follow_redirects=False) as client,
        _Router(assert_all_called=False, assert_all_mocked=assert_all_mocked) as router,
    ):
        forward = _forwarder(client)
        # What the live API serves: the task endpoint and images (never the mock's /__admin).
        router.route(scheme=api.scheme, host=api.hostname, path__regex=r"^(/v1/?|/image/.*)$").mock(
            side_effect=forward
        )
        router.route(host=IMAGE_HOST, path__startswith="/image/").mock(side_effect=forward)
        yield RespxMock(url=base, config=config, http=client, router=router, app=app)
