"""Shared test settings (no telemetry, loopback never proxied) and the fixtures every folder uses."""

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ["NO_PROXY"] = "localhost,127.0.0.1"
os.environ["no_proxy"] = "localhost,127.0.0.1"

from mock_api import MockConfig
from mock_api.testing import run_mock_server


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """Base URL of a real mock server (default config, random_seed=1) for the module."""
    with run_mock_server(MockConfig(random_seed=1)) as url:
        yield url
