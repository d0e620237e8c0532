"""The pytest plugin (entry point ``pytest11``): fixtures for testing your code against the mock.

- ``runware_mock``: a real mock server (uvicorn on 127.0.0.1, a free port) for one
  test; configure it with ``@pytest.mark.runware_mock(require_key="k", speed=0, ...)``
  (any ``MockConfig`` field). Yields a ``MockHandle``: ``.url``, ``.api_url``,
  ``.requests()``, ``.fault(kind, count=1, **options)``, ``.reset()``, ``.config``.
- ``runware_mock_session``: one server for the whole session (faster; call ``.reset()``
  where a test needs a clean slate). Configure it by overriding the
  ``runware_mock_config`` fixture in a conftest.py.
- ``runware_mock_factory``: ``factory(**MockConfig fields)`` starts more servers, all
  stopped at the end of the test.
- ``runware_respx``: httpx calls to https://api.runware.ai/v1 answered in-process
  (see ``mock_api.testing.inprocess``); the marker configures it too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..config import MockConfig
    from .handle import MockHandle
    from .inprocess import RespxMock

MARKER = "runware_mock"
# Every pytest run of a project that has this package installed loads this plugin:
# the mock itself is imported only when a test asks for one of the fixtures.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**fields): MockConfig fields for the runware_mock / runware_respx fixtures"
    )


def _marked_config(request: pytest.FixtureRequest) -> MockConfig:
    from ..config import MockConfig

    marker = request.node.get_closest_marker(MARKER)
    return MockConfig(**(marker.kwargs if marker else {}))


@contextlib.contextmanager
def serve(config: MockConfig) -> Iterator[MockHandle]:
    """A real mock server with ``config`` and a handle on it, until the block ends."""

    import httpx

    from .handle import MockHandle
    from .servers import run_mock_server

    with run_mock_server(config) as url, httpx.Client(timeout=30, trust_env=False) as http:
        handle = MockHandle(url=url, config=config, http=http)
        handle.clear_requests()  # the start-up's readiness polls are not the test's requests
        yield handle


@pytest.fixture
def runware_mock(request: pytest.FixtureRequest) -> Iterator[MockHandle]:
    with serve(_marked_config(request)) as handle:
        yield handle


@pytest.fixture(scope="session")
def runware_mock_config() -> MockConfig:
    """The session server's configuration; override this fixture to change it."""
    from ..config import MockConfig

    return MockConfig()


@pytest.fixture(scope="session")
def runware_mock_session(runware_mock_config: MockConfig) -> Iterator[MockHandle]:
    with serve(runware_mock_config) as handle:
        yield handle


@pytest.fixture
def runware_mock_factory() -> Iterator[Callable[..., MockHandle]]:
    from ..config import MockConfig

    with contextlib.ExitStack() as stack:

        def start(**fields: Any) -> MockHandle:
            return stack.enter_context(serve(MockConfig(**fields)))

        yield start


@pytest.fixture
def runware_respx(request: pytest.FixtureRequest) -> Iterator[RespxMock]:
    from .inprocess import runware_respx as in_process

    with in_process(_marked_config(request)) as mock:
        yield mock
