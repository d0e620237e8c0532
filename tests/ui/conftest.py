"""The running app for the UI tests."""

from collections.abc import Iterator

import pytest

from tests.support.appserver import run_app


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with run_app() as url:
        yield url
