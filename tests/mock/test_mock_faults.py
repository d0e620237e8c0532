"""Fault injection: per-request headers, admin-set faults, seeded random rates, start-up flags.

And the point of it all: the app's client (demo.client.RunwareClient) retries the
transient faults and surfaces the ones that outlast its retries as the right
error class. No timing is asserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo.client import (
    AuthError,
    NetworkError,
    PaymentRequired,
    PollPolicy,
    RateLimited,
    RequestTimeout,
    RetryPolicy,
    RunwareClient,
    ServerError,
    Timeouts,
)
from mock_api import MockConfig
from mock_api.control.faults import FaultInjector, FaultSpecError
from mock_api.testing import AUTH, KEY, run_mock_server, task

# --- the injector on its own -------------------------------------------------------


def test_header_fault_wins_and_is_validated() -> None:
    faults = FaultInjector(rate=1.0, kinds=["500"], seed=1)
    assert faults.decide({"x-mock-fault": "429"}, api_request=True).fault == "429"
    assert faults.decide({"x-mock-fault": "RESET"}, api_request=False).fault == "reset"
    with pytest.raises(FaultSpecError, match="must be one of"):
        faults.decide({"x-mock-fault": "418"}, api_request=True)
    with pytest.raises(FaultSpecError, match="between 0 and"):
        faults.decide({"x-mock-latency-ms": "-5"}, api_request=True)
    assert faults.decide({"x-mock-latency-ms": "250"}, api_request=False).latency_ms == 250


def test_counted_faults_then_back_to_normal() -> None:
    faults = FaultInjector()
    faults.configure({"fault": "503", "count": 2})
    got = [faults.decide({}, api_request=True).fault for _ in range(4)]
    assert got == ["503", "503", None, None]
    # Image downloads and other paths are not counted.
    faults.configure({"fault": "500", "count": 1})
    assert faults.decide({}, api_request=False).fault is None
    assert faults.decide({}, api_request=True).fault == "500"


def test_a_seeded_rate_repeats_exactly() -> None:
    def run() -> list[str | None]:
        faults = FaultInjector()
        faults.configure({"rate": 0.5, "seed": 42, "faults": ["429", "504", "reset"]})
        return [faults.decide({}, api_request=True).fault for _ in range(200)]

    first = run()
    assert first == run()
    assert {f for f in first if f} == {"429", "504", "reset"} and 50 < first.count(None) < 150


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"fault": "418"},
        {"count": 3},
        {"fault": "429", "count": 0},
        {"rate": 1.5},
        {"rate": 0.5, "faults": []},
        {"rate": 0.5, "seed": "x"},
        {"latencyMs": 10**9},
        {"fault": "429", "bogus": 1},
        {"fault": "429", "retryAfter": -1},
        ["429"],
    ],
)
def test_nonsense_specs_are_refused(spec: object) -> None:
    with pytest.raises(FaultSpecError):
        FaultInjector().configure(spec)  # type: ignore[arg-type]


# --- through the real server -------------------------------------------------------


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=5, speed=0.0, fault_timeout_s=1.0)) as base:
        yield base


@pytest.fixture(autouse=True)
def _clear_faults(url: str) -> Iterator[None]:
    yield
    httpx.delete(url + "/__admin/faults", timeout=10)


def post(url: str, *tasks: dict, headers: dict | None = None, timeout: float = 30) -> httpx.Response:
    return httpx.post(url + "/v1", json=list(tasks), headers={**AUTH, **(headers or {})}, timeout=timeout)


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("402", 402, "insufficientCredits"),
        ("403", 403, "insufficientPermissions"),
        ("429", 429, "rateLimitExceeded"),
        ("500", 500, "internalServerError"),
        ("503", 503, "serviceUnavailable"),
        ("504", 504, "timeoutProvider"),
        ("timeout", 504, "timeoutProvider"),  # held for fault_timeout_s, then 504
    ],
)
def test_header_faults_are_runware_shaped(url: str, fault: str, status: int, code: str) -> None:
    t1, t2 = task(), task()
    answer = post(url, t1, t2, headers={"X-Mock-Fault": fault})
    assert answer.status_code == status
    errors = answer.json()["errors"]
    assert [e["code"] for e in errors] == [code, code]
    assert [e["taskUUID"] for e in errors] == [t1["taskUUID"], t2["taskUUID"]]
    assert ("retry-after" in answer.headers) == (status in (429, 503))
    # The failed request never reached the task handlers: the taskUUID is still free.
    assert post(url, t1).status_code == 200


def test_reset_drops_the_connection_without_a_response(url: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(url, task(), headers={"X-Mock-Fault": "reset"})


def test_timeout_outlasts_a_short_client_timeout(url: str) -> None:
    with pytest.raises(httpx.ReadTimeout):
        post(url, task(), headers={"X-Mock-Fault": "timeout"}, timeout=0.2)


def test_latency_header_delays_but_succeeds(url: str) -> None:
    assert post(url, task(), headers={"X-Mock-Latency-Ms": "50"}).status_code == 200


def test_a_bad_fault_header_is_a_400_not_a_500(url: str) -> None:
    answer = post(url, task(), headers={"X-Mock-Fault": "teapot"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "invalidRequestBody"


def test_admin_faults_fail_the_next_n_api_requests(url: str) -> None:
    set_ = httpx.post(url + "/__admin/faults", json={"fault": "429", "count": 2, "retryAfter": 3}, timeout=10)
    assert set_.status_code == 200 and set_.json()["active"]["remaining"] == 2
    first = post(url, task())
    assert first.status_code == 429 and first.headers["retry-after"] == "3"
    # The admin routes and /health are never faulted or counted.
    assert httpx.get(url + "/__admin/faults", timeout=10).json()["active"]["remaining"] == 1
    assert httpx.get(url + "/health", timeout=10).status_code == 200
    assert post(url, task()).status_code == 429
    assert post(url, task()).status_code == 200


def test_admin_clear_and_bad_specs(url: str) -> None:
    httpx.post(url + "/__admin/faults", json={"fault": "500", "count": 5}, timeout=10).raise_for_status()
    cleared = httpx.delete(url + "/__admin/faults", timeout=10).json()
    assert cleared["active"] is None
    assert post(url, task()).status_code == 200
    bad = httpx.post(url + "/__admin/faults", json={"fault": "418"}, timeout=10)
    assert bad.status_code == 400 and "must be one of" in bad.json()["errors"][0]["message"]
    assert httpx.post(url + "/__admin/faults", content=b"{", timeout=10).status_code == 400


def test_admin_seeded_rate_gives_the_same_sequence_twice(url: str) -> None:
    def run() -> list[int]:
        spec = {"rate": 0.5, "seed": 9, "faults": ["429", "503"], "retryAfter": 0}
        httpx.post(url + "/__admin/faults", json=spec, timeout=10).raise_for_status()
        return [post(url, task()).status_code for _ in range(12)]

    first = run()
    assert set(first) == {200, 429, 503}
    assert run() == first


@pytest.mark.parametrize("kind", ["503", "402", "403"])
def test_start_up_rate_applies_to_api_requests_only(kind: str) -> None:
    config = MockConfig(random_seed=1, fault_rate=1.0, fault_kinds=[kind])
    with run_mock_server(config) as base:
        answer = post(base, task())
        assert answer.status_code == int(kind) and answer.json()["errors"][0]["taskType"] == "imageInference"
        assert httpx.get(base + "/health", timeout=10).status_code == 200


# --- the app's client against each fault --------------------------------------------


def client(url: str, polling: PollPolicy = PollPolicy()) -> RunwareClient:
    return RunwareClient(
        url + "/v1",
        KEY,
        timeouts=Timeouts(call=0.5, deadline=60),
        retry=RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.05),
        polling=polling,
    )


FAULTS = ["429", "500", "503", "504", "timeout", "reset"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_client_retries_transient_faults_and_succeeds(url: str, fault: str) -> None:
    spec = {"fault": fault, "count": 2, "retryAfter": 0}
    httpx.post(url + "/__admin/faults", json=spec, timeout=10).raise_for_status()
    async with client(url) as c:
        generation = await c.generate(task(taskUUID=str(uuid.uuid4()), numberResults=2))
    assert len(generation) == 2
    assert httpx.get(url + "/__admin/faults", timeout=10).json()["active"]["remaining"] == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("429", RateLimited),
        ("500", ServerError),
        ("503", ServerError),
        ("504", ServerError),
        ("timeout", RequestTimeout),
        ("reset", NetworkError),
    ],
)
async def test_client_surfaces_faults_that_outlast_its_retries(url: str, fault: str, error: type) -> None:
    spec = {"fault": fault, "count": 3, "retryAfter": 0}
    httpx.post(url + "/__admin/faults", json=spec, timeout=10).raise_for_status()
    async with client(url) as c:
        with pytest.raises(error) as caught:
            await c.generate(task())
    assert caught.value.retryable
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("402", PaymentRequired, "Your account balance is insufficient"),
        ("403", AuthError, "The API key doesn't have permissions to perform the request"),
    ],
)
async def test_client_does_not_retry_402_or_403(url: str, fault: str, error: type, message: str) -> None:
    spec = {"fault": fault, "count": 3}
    httpx.post(url + "/__admin/faults", json=spec, timeout=10).raise_for_status()
    async with client(url) as c:
        with pytest.raises(error) as caught:
            await c.generate(task())
    assert caught.value.status == int(fault) and caught.value.message == message
    assert not caught.value.retryable
    # One attempt only: two of the three armed faults are left.
    assert httpx.get(url + "/__admin/faults", timeout=10).json()["active"]["remaining"] == 2


async def test_client_async_polling_rides_out_faults_on_get_response(url: str) -> None:
    # The acknowledgement goes through; the first polls fail and are retried.
    async with client(url, PollPolicy(initial=0.05, maximum=0.1)) as c:
        t = task(deliveryMethod="async", numberResults=2)
        c._call.sleep = _then_fail(url, c._call.sleep)
        generation = await c.generate(t)
    assert len(generation) == 2
    # Both injected failures were spent on the polls.
    assert httpx.get(url + "/__admin/faults", timeout=10).json()["active"]["remaining"] == 0


def _then_fail(url: str, sleep):
    """Arm two 503s right after the acknowledgement (before the first poll)."""
    armed = False

    async def wrapped(seconds: float) -> None:
        nonlocal armed
        if not armed:
            armed = True
            spec = {"fault": "503", "count": 2, "retryAfter": 0}
            async with httpx.AsyncClient() as h:
                (await h.post(url + "/__admin/faults", json=spec, timeout=10)).raise_for_status()
        await sleep(seconds)

    return wrapped


@settings(max_examples=200, deadline=None)
@given(
    spec=st.dictionaries(
        st.sampled_from(["fault", "count", "rate", "seed", "faults", "latencyMs", "retryAfter", "x"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=8)
        | st.lists(st.text(max_size=8), max_size=3),
        max_size=4,
    )
)
def test_any_admin_spec_is_accepted_or_refused_with_a_reason(spec: dict) -> None:
    faults = FaultInjector()
    try:
        faults.configure(spec)
    except FaultSpecError as exc:
        assert str(exc)
    else:
        for _ in range(3):
            faults.decide({}, api_request=True)


def test_command_line_flags_reach_the_config() -> None:
    from mock_api.__main__ import build_parser, config_from_args

    argv = "--speed 0 --latency-ms 40 --fault-rate 0.25 --fault-seed 3 --fault-kinds 429,reset,402,403"
    argv += " --fault-timeout-s 2 --allow-outbound hooks.internal --allow-outbound 10.0.0.0/8"
    config = config_from_args(build_parser().parse_args(argv.split()))
    assert (config.speed, config.latency_ms, config.fault_rate, config.fault_seed) == (0.0, 40, 0.25, 3)
    assert config.fault_kinds == ["429", "reset", "402", "403"] and config.fault_timeout_s == 2.0
    assert config.allow_outbound == ["hooks.internal", "10.0.0.0/8"]
    with pytest.raises(ValueError):
        config_from_args(build_parser().parse_args(["--fault-rate", "2"]))
