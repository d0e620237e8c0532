"""Settings from the environment and the backend factory."""

from __future__ import annotations

import pytest

from api_schema import limits
from demo.backend import IN_PROCESS_HINT, LIVE_LABEL, MOCK_LABEL, backend_for_key, make_backend
from demo.settings import Settings, SettingsError, load_settings

ENV = (
    "RUNWARE_API_KEY",
    "GLM_IMAGE_BACKEND",
    "RUNWARE_API_URL",
    "MOCK_API_URL",
    "MOCK_API_KEY",
    "RUNWARE_TIMEOUT",
    "RUNWARE_DEADLINE",
    "RUNWARE_MAX_RETRIES",
    "RUNWARE_RECORD_DIR",
)
KEY = "settings-key-00112233445566"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_pick_the_in_process_mock():
    s = load_settings()
    assert s.api_key is None and s.backend == "auto" and s.resolved_backend == "mock"
    assert (s.api_url, s.timeout, s.deadline, s.max_retries, s.record_dir) == (
        limits.API_URL,
        30.0,
        300.0,
        3,
        None,
    )
    b = make_backend(s)
    assert (b.kind, b.label, b.base_url, b.in_process) == ("mock", MOCK_LABEL, IN_PROCESS_HINT, True)


def test_a_key_picks_live(clean_env, tmp_path):
    clean_env.setenv("RUNWARE_API_KEY", f"  {KEY}\n")
    clean_env.setenv("RUNWARE_TIMEOUT", "12.5")
    clean_env.setenv("RUNWARE_RECORD_DIR", str(tmp_path))
    s = load_settings()
    assert s.api_key.get_secret_value() == KEY and s.resolved_backend == "live"
    assert s.timeout == 12.5 and s.record_dir == tmp_path
    b = make_backend(s)
    assert (b.kind, b.label, b.base_url) == ("live", LIVE_LABEL, limits.API_URL)
    client = b.client()
    assert client.base_url == limits.API_URL and client.has_key
    assert [o.directory for o in client.observers] == [tmp_path]  # the recorder hooked in
    assert KEY not in repr(s) and KEY not in repr(b) and KEY not in repr(client) and KEY not in str(s)


def test_empty_key_counts_as_unset(clean_env):
    clean_env.setenv("RUNWARE_API_KEY", "")
    assert load_settings().resolved_backend == "mock"
    clean_env.setenv("RUNWARE_API_KEY", "   ")
    assert load_settings().api_key is None


def test_forced_backends(clean_env):
    clean_env.setenv("RUNWARE_API_KEY", KEY)
    clean_env.setenv("GLM_IMAGE_BACKEND", " Mock ")
    assert make_backend(load_settings()).kind == "mock"
    clean_env.delenv("RUNWARE_API_KEY")
    clean_env.setenv("GLM_IMAGE_BACKEND", "live")  # bring-your-own-key: visitors supply one
    b = make_backend(load_settings())
    assert b.kind == "live" and not b.client().has_key


def test_mock_api_url_uses_a_running_mock(clean_env):
    clean_env.setenv("MOCK_API_URL", "http://127.0.0.1:8808/v1/")
    b = make_backend(load_settings())
    assert (b.kind, b.base_url, b.in_process) == ("mock", "http://127.0.0.1:8808/v1", False)
    assert b.client().base_url == "http://127.0.0.1:8808/v1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GLM_IMAGE_BACKEND", "staging"),
        ("RUNWARE_TIMEOUT", "soon"),
        ("RUNWARE_TIMEOUT", "-1"),
        ("RUNWARE_DEADLINE", "0"),
        ("RUNWARE_MAX_RETRIES", "many"),
        ("RUNWARE_API_URL", "ftp://api.runware.ai/v1"),
        ("MOCK_API_URL", "127.0.0.1:8808"),
    ],
)
def test_bad_values_name_the_variable(clean_env, name, value):
    clean_env.setenv("RUNWARE_API_KEY", KEY)
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert name in str(info.value) and KEY not in str(info.value)


def test_visitor_key_switches_to_live_for_that_session(clean_env):
    settings = load_settings()
    visitor = backend_for_key(settings, "visitor-key-998877")
    assert visitor.kind == "live" and visitor.label == LIVE_LABEL
    assert visitor.client().has_key and "visitor-key" not in repr(visitor)
    assert settings.api_key is None  # the shared settings are untouched
    assert backend_for_key(settings, "  ").kind == "mock"
    assert backend_for_key(settings, None).kind == "mock"
    # A key handed to a mock backend's client also means live.
    assert make_backend(settings).client(api_key="visitor-key-998877").base_url == limits.API_URL


async def test_in_process_mock_backend_answers():
    b = make_backend(Settings(backend="mock", api_key=None, mock_api_url=None))
    async with b.client() as c:
        assert await c.ping() is True
    async with b.client() as c:  # the app is shared by the backend's clients
        assert await c.ping() is True
    assert b._app is not None


def test_generic_variable_names_are_ignored(clean_env):
    for name, value in {"TIMEOUT": "soon", "BACKEND": "live", "API_KEY": KEY, "DEADLINE": "-1"}.items():
        clean_env.setenv(name, value)
    s = load_settings()
    assert (s.timeout, s.backend, s.api_key, s.deadline) == (30.0, "auto", None, 300.0)
    assert Settings(timeout=5, api_key=KEY).timeout == 5  # field names still work in code


def test_mock_speed_reaches_the_in_process_mock_and_is_checked(monkeypatch):
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("MOCK_SPEED", "0")
    backend = make_backend(load_settings())
    assert backend.mock_app().state.mock.config.speed == 0
    monkeypatch.setenv("MOCK_SPEED", "-1")
    with pytest.raises(SettingsError, match="MOCK_SPEED"):
        load_settings()
