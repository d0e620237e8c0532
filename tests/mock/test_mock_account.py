"""The account: accountManagement getDetails, and the balance that decides a 402, over REST and WebSocket.

A tester drives the balance with ``/__admin/account`` (or starts the mock with
``--account-balance``); an imageInference whose estimated cost it does not cover gets
HTTP 402 ``insufficientCredits`` with the docs' message, before its taskUUID is claimed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from api_schema import AccountManagementResult
from api_schema import errors as E
from mock_api import MockConfig
from mock_api.__main__ import build_parser, config_from_args
from mock_api.testing import run_mock_server, task
from tests.support.wire import TRANSPORTS, call

START_BALANCE = 12.5


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=9, speed=0.0, account_balance=START_BALANCE)) as base:
        yield base


@pytest.fixture(autouse=True)
def _restore(url: str) -> Iterator[None]:
    yield
    httpx.delete(url + "/__admin/account", timeout=10).raise_for_status()


def details() -> dict[str, str]:
    return {"taskType": "accountManagement", "taskUUID": str(uuid.uuid4()), "operation": "getDetails"}


def set_balance(url: str, balance: object) -> httpx.Response:
    return httpx.post(url + "/__admin/account", json={"balance": balance}, timeout=10)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_details_shows_the_balance(url: str, transport: str) -> None:
    sent = details()
    answer = await call(transport, url, sent)
    [item] = answer.data
    result = AccountManagementResult.model_validate(item)
    assert (result.task_uuid, result.operation, result.balance) == (
        sent["taskUUID"],
        "getDetails",
        START_BALANCE,
    )
    assert item["currency"] == "USD" and item["organizationName"] and uuid.UUID(item["organizationUUID"])
    assert [m["roles"] for m in item["team"]] == [["Owner"]]
    set_balance(url, 3.25).raise_for_status()
    assert (await call(transport, url, details())).data[0]["balance"] == 3.25


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_empty_balance_refuses_inference_with_402_and_keeps_the_task_uuid_free(
    url: str, transport: str
) -> None:
    set_balance(url, 0).raise_for_status()
    t = task()
    refused = await call(transport, url, t)
    assert refused.status in (402, None) and refused.data == []
    [error] = refused.errors
    assert (error["code"], error["message"]) == (
        E.INSUFFICIENT_CREDITS,
        "Your account balance is insufficient",
    )
    assert (error["taskType"], error["taskUUID"]) == ("imageInference", t["taskUUID"])
    # Reading the account and storing media still work with nothing to spend.
    assert (await call(transport, url, details())).data[0]["balance"] == 0
    # Topped up, the very same task goes through: the refusal did not use its taskUUID.
    set_balance(url, 1).raise_for_status()
    assert [i["taskUUID"] for i in (await call(transport, url, t)).data] == [t["taskUUID"]]


async def test_the_balance_must_cover_the_estimated_cost(url: str) -> None:
    set_balance(url, 0.01).raise_for_status()  # a 1024x1024 image is estimated at $0.0225
    assert (await call("rest", url, task(width=1024, height=1024))).status == 402
    assert (await call("rest", url, task(width=256, height=256))).status == 200
    # 7 x $0.0014 = $0.0098 fits, 8 do not.
    assert (await call("rest", url, task(width=256, height=256, numberResults=7))).status == 200
    assert (await call("rest", url, task(width=256, height=256, numberResults=8))).status == 402
    assert (await call("rest", url, task(width=768, height=768, numberResults=2))).status == 402


def test_admin_account_routes(url: str) -> None:
    assert httpx.get(url + "/__admin/account", timeout=10).json() == {
        "balance": START_BALANCE,
        "currency": "USD",
    }
    for bad in (-1, "10", True, None, 1e12):
        answer = set_balance(url, bad)
        assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "invalidRequestBody", bad
    for body in (b"{", b"[]", b'{"balance": 1, "currency": "EUR"}'):
        assert httpx.post(url + "/__admin/account", content=body, timeout=10).status_code == 400
    assert set_balance(url, 0).json()["balance"] == 0
    httpx.post(url + "/__admin/reset", timeout=10).raise_for_status()
    assert httpx.get(url + "/__admin/account", timeout=10).json()["balance"] == START_BALANCE


def test_the_start_flag_sets_the_balance() -> None:
    config = config_from_args(build_parser().parse_args(["--account-balance", "0"]))
    assert config.account_balance == 0
    with pytest.raises(ValueError):
        MockConfig(account_balance=-1)
    with run_mock_server(config) as base:
        response = httpx.post(base + "/v1", json=[task()], headers={"Authorization": "Bearer k"}, timeout=30)
        assert response.status_code == 402
