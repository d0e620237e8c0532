"""mock_api.testing as another project uses it: the pytest plugin's fixtures and the respx router.

The README's snippets are run as they are printed, in a separate pytest process with
the plugin loaded the way ``pytest11`` loads it; the router is also driven with this
project's own client pointed at the live URL, unchanged.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api_schema import limits
from demo.client import RunwareClient
from mock_api import MockConfig
from mock_api.testing import AUTH, ROOT, quiet_env, runware_respx, spawn_mock, task
from tests.support.snippets import readme_snippets

API = limits.API_URL

PLUGIN = "mock_api.testing.plugin"


def plugin_args() -> list[str]:
    """``-p`` for the plugin, unless its entry point loads it already: a ``pip install`` of this
    checkout leaves an egg-info folder in it, which makes the entry point visible from
    ``PYTHONPATH`` too, and naming a loaded plugin again is an error."""
    loaded = any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if loaded else ["-p", PLUGIN]


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = quiet_env(PYTHONPATH=str(ROOT))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *plugin_args(),
            *args,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("name", ["pytest-fixture", "respx-fixture"])
def test_the_readme_snippets_pass_as_printed(tmp_path: Path, name: str):
    code = readme_snippets()[name]
    (tmp_path / f"test_{name.replace('-', '_')}.py").write_text(code, encoding="utf-8")
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\b1 passed\b", done.stdout), done.stdout


FIXTURE_CASES = """
import asyncio

import httpx
import pytest

from mock_api.testing import task


@pytest.mark.runware_mock(require_key="k1")
def test_marker_config_reaches_the_server(runware_mock):
    assert runware_mock.config.require_key == "k1"
    wrong = httpx.post(runware_mock.api_url, json=[task()], headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "nope" not in str(runware_mock.requests())


def test_a_fault_a_reset_and_an_empty_journal(runware_mock):
    runware_mock.fault("503", count=2)
    auth = {"Authorization": "Bearer x"}
    codes = [httpx.post(runware_mock.api_url, json=[task()], headers=auth).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    runware_mock.reset()
    assert runware_mock.requests() == []


def test_the_handle_drives_the_account_and_the_sockets(runware_mock):
    assert runware_mock.set_balance(0) == {"balance": 0.0, "currency": "USD"}
    auth = {"Authorization": "Bearer any"}
    assert httpx.post(runware_mock.api_url, json=[task()], headers=auth).status_code == 402
    assert runware_mock.account()["balance"] == 0
    assert runware_mock.sessions() == [] and runware_mock.disconnect() == 0
    runware_mock.reset()
    assert runware_mock.account()["balance"] > 0


def test_the_factory_starts_several(runware_mock_factory):
    a, b = runware_mock_factory(random_seed=1), runware_mock_factory(require_key="kb")
    assert a.url != b.url and b.config.require_key == "kb"


def test_the_session_server_is_shared(runware_mock_session):
    assert httpx.get(runware_mock_session.url + "/health").status_code == 200


@pytest.mark.runware_mock(speed=1.0)
def test_respx_async_client_and_simulated_clock(runware_respx):
    async def go():
        async with httpx.AsyncClient(headers={"Authorization": "Bearer k"}) as client:
            t = task(deliveryMethod="async", numberResults=2)
            ack = await client.post("https://api.runware.ai/v1", json=[t])
            assert ack.status_code == 200, ack.text
            runware_respx.advance(3600)
            poll = [{"taskType": "getResponse", "taskUUID": t["taskUUID"]}]
            return (await client.post("https://api.runware.ai/v1", json=poll)).json()

    body = asyncio.run(go())
    assert [i["status"] for i in body["data"]] == ["success", "success"]


def test_respx_refuses_other_hosts(runware_respx):
    with pytest.raises(Exception, match="not mocked"):
        httpx.get("https://example.com/")
"""


def test_every_fixture_works_from_another_projects_test_file(tmp_path: Path):
    (tmp_path / "test_fixtures.py").write_text(FIXTURE_CASES, encoding="utf-8")
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\b7 passed\b", done.stdout), done.stdout


async def test_this_projects_client_runs_unchanged_against_the_router():
    with runware_respx(MockConfig(random_seed=7)) as mock:
        async with RunwareClient(limits.API_URL, "any-key") as client:
            generation = await client.generate(task(numberResults=2, seed=5))
    assert [img.seed for img in generation.images] == [5, 6]
    assert all(img.data[:3] == b"\xff\xd8\xff" for img in generation.images)
    assert [e["path"] for e in mock.requests()][:1] == ["/v1"]


def test_the_router_refuses_the_mocks_admin_routes_at_the_live_address():
    with runware_respx(), pytest.raises(Exception, match="not mocked"):
        httpx.get("https://api.runware.ai/__admin/requests")


def test_the_router_hands_out_image_urls_on_the_live_image_host():
    # The live API's pictures are on im.runware.ai (where a client must not send its key);
    # the router gave api.runware.ai URLs, so code that keeps the key off the CDN went untested.
    with runware_respx():
        answer = httpx.post(API, json=[task()], headers=AUTH, timeout=30)
        url = answer.json()["data"][0]["imageURL"]
        assert url.startswith("https://im.runware.ai/image/")
        assert httpx.get(url, timeout=30).headers["content-type"] == "image/jpeg"


def test_an_image_base_url_is_checked_and_its_trailing_slash_dropped():
    assert MockConfig(image_base_url="https://cdn.example/").image_base_url == "https://cdn.example"
    for bad in ("cdn.example", "ftp://cdn.example", "https://cdn.example/?sig=1"):
        with pytest.raises(ValueError, match="image_base_url"):
            MockConfig(image_base_url=bad)


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_the_routers_injected_reset_and_timeout_fail_as_over_a_socket(client_kind: str):
    # A reset came back as an empty HTTP 500, and a timeout held a client with a 1 s timeout
    # for 30 s and then answered 504: neither what httpx raises against a real server.
    def post(fault: str) -> None:
        headers = {**AUTH, "X-Mock-Fault": fault}
        if client_kind == "sync":
            httpx.post(API, json=[task()], headers=headers, timeout=1)
            return

        async def go() -> None:
            async with httpx.AsyncClient(timeout=1) as client:
                await client.post(API, json=[task()], headers=headers)

        asyncio.run(go())

    with runware_respx():
        with pytest.raises(httpx.RemoteProtocolError):
            post("reset")
        with pytest.raises(httpx.ReadTimeout):
            post("timeout")


def test_the_plugin_module_does_not_import_the_mock_until_a_fixture_is_used():
    code = (
        "import sys, mock_api.testing.plugin; print('fastapi' in sys.modules, 'mock_api.app' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=quiet_env()
    )
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_a_sync_client_inside_an_async_test_is_answered_too():
    # The router answers sync clients inline; it must not mistake a running loop for an async client.
    async def go() -> int:
        with runware_respx():
            return httpx.post(
                limits.API_URL, json=[task()], headers={"Authorization": "Bearer k"}, timeout=30
            ).status_code

    import asyncio

    assert asyncio.run(go()) == 200


def test_spawn_mock_runs_the_mock_on_the_interpreter_it_is_given(tmp_path: Path):
    # A wrapper that leaves a mark, then runs the real interpreter: the mock it serves must be
    # the one this interpreter started, not sys.executable behind its back.
    mark = tmp_path / "ran"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\necho "$@" > {mark}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    with spawn_mock(python=str(wrapper)) as server:
        health = httpx.get(server.url + "/health", timeout=10, trust_env=False)
    assert health.status_code == 200
    assert mark.read_text().startswith("-m mock_api --port ")
