"""The project as a package: a fresh virtualenv, ``pip install .``, used from outside the checkout.

The virtualenv sees the machine's site-packages (so the runtime requirements are not
downloaded again) but not this checkout: everything it imports of ours comes from
what ``pip install`` put into it. The checkout is copied first, so the build leaves
nothing behind in the working tree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from mock_api.testing import ROOT, free_port, quiet_env, run_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

USER_TESTS = """
import httpx
import pytest
from packaging.requirements import Requirement

from mock_api.testing import task


@pytest.mark.runware_mock(require_key="pkg-key")
def test_journal_and_fault(runware_mock):
    runware_mock.fault("429", count=1, retryAfter=0)
    auth = {"Authorization": "Bearer pkg-key"}
    codes = [httpx.post(runware_mock.api_url, json=[task()], headers=auth).status_code for _ in range(2)]
    assert codes == [429, 200]
    assert [r["status"] for r in runware_mock.requests()] == [429, 200]


def test_respx(runware_respx):
    answer = httpx.post("https://api.runware.ai/v1", json=[task()], headers={"Authorization": "Bearer k"})
    assert answer.status_code == 200
    assert httpx.get(answer.json()["data"][0]["imageURL"]).status_code == 200
"""


def _tracked_copy(dest: Path) -> Path:
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The virtualenv's bin folder, with this project installed by ``pip install .``."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the checkout's files")
    base = tmp_path_factory.mktemp("package")
    source = _tracked_copy(base / "source")
    env_dir = base / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    bin_dir = env_dir / "bin"
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(source)],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=480,
        env=quiet_env(PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return bin_dir


def _outside(bin_dir: Path, *argv: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = quiet_env()
    env.pop("PYTHONPATH", None)
    return subprocess.run([*argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_three_packages_import_from_the_install_not_the_checkout(installed: Path, tmp_path: Path):
    code = (
        "import api_schema, mock_api, demo\n"
        "from mock_api.testing import runware_respx\n"
        "print(api_schema.__file__); print(mock_api.__file__); print(demo.__file__)\n"
        "print(len(api_schema.load_examples()))\n"
    )
    done = _outside(installed, str(installed / "python"), "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    *paths, examples = done.stdout.split()
    assert all("site-packages" in p and str(ROOT) not in p for p in paths), paths
    assert examples == "4"  # the documented examples are package data


def test_the_runtime_requirements_are_requirements_txt(installed: Path, tmp_path: Path):
    code = "import importlib.metadata as m; print('\\n'.join(m.requires('glm-image-demo')))"
    done = _outside(installed, str(installed / "python"), "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    wanted = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    declared = {Requirement(line) for line in done.stdout.splitlines()}
    assert declared == {Requirement(line) for line in wanted}


@pytest.mark.parametrize("cors", [False, True])
def test_runware_mock_serves_with_the_installed_images(installed: Path, tmp_path: Path, cors: bool):
    port = free_port()
    env = quiet_env()
    env.pop("PYTHONPATH", None)
    origin = "http://localhost:5173"
    argv = ["--port", str(port), "--log-level", "warning", *(["--cors", origin] if cors else [])]
    with run_server(
        argv,
        port=port,
        env=env,
        ready_path="/health",
        cwd=tmp_path,
        program=str(installed / "runware-mock"),
    ) as server:
        answer = httpx.post(
            server.url + "/v1",
            json=[{**_documented_i2i(), "taskUUID": "0e8b2a8c-1d6f-4d55-9c1e-3b7a2f0c9d11"}],
            headers={"Authorization": "Bearer k"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        image = httpx.get(answer.json()["data"][0]["imageURL"], timeout=60)
        preflight = httpx.options(
            server.url + "/v1",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=30,
        )
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert preflight.headers.get("access-control-allow-origin") == (origin if cors else None)


def _documented_i2i() -> dict:
    from api_schema import load_examples

    # An image-to-image example: its reference stand-in is a package asset of mock_api.
    return dict(load_examples()[2].request)


def test_the_installed_pytest_plugin_gives_the_fixtures(installed: Path, tmp_path: Path):
    (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    done = _outside(
        installed, str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout


def test_python_app_py_still_starts_from_the_checkout():
    # Spaces run `python app.py`; the package build must not have changed that.
    done = subprocess.run(
        [sys.executable, "-c", "import app; print(callable(app.main))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=quiet_env(),
    )
    assert done.stdout.strip() == "True", done.stderr[-2000:]
