"""The switch that makes the mock send nothing at all (``MockConfig(send_outbound=False)``,
``--no-outbound``): a public app's in-process mock must never call a visitor's URL, not
even one on its own loopback (which the default, loopback-only policy allows)."""

from __future__ import annotations

import httpx
import pytest

from mock_api import MockConfig
from mock_api.testing import AUTH, run_mock_server, spawn_mock, task
from tests.support.receiver import run_receiver

FIELDS = ["webhookURL", "uploadEndpoint"]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("delivery", ["sync", "async"])
def test_with_outbound_off_a_loopback_target_is_refused_up_front(field: str, delivery: str) -> None:
    with run_receiver() as receiver, run_mock_server(MockConfig(send_outbound=False, speed=0)) as url:
        sent = task(**{field: receiver.url + "/hook", "deliveryMethod": delivery})
        answer = httpx.post(url + "/v1", json=[sent], headers=AUTH, timeout=30)
        assert answer.status_code == 400
        (error,) = answer.json()["errors"]
        assert error["code"] == f"invalid{field[0].upper()}{field[1:]}" and error["parameter"] == field
        assert "does not deliver" in error["message"] and receiver.url not in error["message"]
        # Nothing was attempted, and the taskUUID is still free.
        assert httpx.get(url + "/__admin/deliveries", timeout=10).json()["deliveries"] == []
        assert (
            httpx.post(url + "/v1", json=[task(taskUUID=sent["taskUUID"])], headers=AUTH).status_code == 200
        )
        assert receiver.wait_for(1, timeout=0.5) == []


def test_the_default_still_delivers_to_loopback() -> None:
    # The switch is separate from the loopback-only default of `python -m mock_api`.
    with run_receiver() as receiver, run_mock_server(MockConfig(speed=0)) as url:
        answer = httpx.post(
            url + "/v1", json=[task(webhookURL=receiver.url + "/hook")], headers=AUTH, timeout=30
        )
        assert answer.status_code == 200
        assert len(receiver.wait_for(1)) == 1


def test_the_cli_flag_turns_it_off_and_refuses_a_contradiction() -> None:
    with spawn_mock("--no-outbound") as mock:
        answer = httpx.post(
            mock.url + "/v1", json=[task(webhookURL="http://127.0.0.1:9/hook")], headers=AUTH, timeout=30
        )
        assert "does not deliver" in answer.json()["errors"][0]["message"]
    with pytest.raises(ValueError, match="contradicts"):
        MockConfig(send_outbound=False, allow_outbound=["hooks.internal"])
