"""Webhooks, uploadEndpoint PUTs and the loopback-only rule for outbound requests.

The receivers are loopback HTTP servers the tests start; no name other than
``localhost`` is ever resolved for real (a fake resolver stands in for DNS).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mock_api import MockConfig
from mock_api.outbound import Outbound, OutboundPolicy, TargetRefused
from mock_api.testing import AUTH, run_mock_server, task
from tests.support.receiver import run_receiver

# --- the policy on its own -------------------------------------------------------


def fake_dns(table: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


DNS = fake_dns(
    {
        "example.com": ["93.184.216.34"],
        "sneaky.test": ["127.0.0.1", "10.1.2.3"],  # one loopback answer is not enough
        "loop.test": ["127.0.0.1", "::1"],
        "internal.corp": ["10.20.30.40"],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://127.0.0.5/hook",
        "http://[::1]:8080/hook",
        "https://[::ffff:127.0.0.1]/x",
        "http://loop.test/hook",
    ],
)
async def test_loopback_targets_are_allowed(url: str) -> None:
    target = await OutboundPolicy(resolver=DNS).check(url)
    assert target.url == url


async def test_localhost_is_resolved_for_real_and_allowed() -> None:
    target = await OutboundPolicy().check("http://localhost:1234/hook?token=abc")
    assert target.address in ("127.0.0.1", "::1")
    # The request goes to the checked address; the Host header keeps the name.
    assert target.connect_url.startswith(("http://127.0.0.1:1234/hook", "http://[::1]:1234/hook"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "10.0.0.1"),
        ("http://[::ffff:10.0.0.1]/hook", "not allowed"),
        ("http://0.0.0.0/hook", "not allowed"),
        ("http://example.com/hook", "93.184.216.34"),
        ("http://sneaky.test/hook", "10.1.2.3"),
        ("http://nowhere.invalid/hook", "could not be resolved"),
        ("ftp://127.0.0.1/x", "http(s)"),
        ("not a url", "http(s)"),
    ],
)
async def test_other_targets_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as caught:
        await OutboundPolicy(resolver=DNS).check(url, what="webhookURL")
    assert reason in str(caught.value)
    assert "webhookURL" in str(caught.value)


async def test_allow_outbound_widens_the_list() -> None:
    by_name = OutboundPolicy(["internal.corp"], resolver=DNS)
    assert (await by_name.check("http://internal.corp/x")).address == "10.20.30.40"
    with pytest.raises(TargetRefused):
        await by_name.check("http://example.com/x")
    by_net = OutboundPolicy(["10.0.0.0/8"], resolver=DNS)
    assert (await by_net.check("http://10.9.9.9/x")).address == "10.9.9.9"
    assert (await by_net.check("http://internal.corp/x")).address == "10.20.30.40"
    with pytest.raises(TargetRefused):
        await by_net.check("http://192.168.1.1/x")
    anywhere = OutboundPolicy(["*"], resolver=DNS)
    assert (await anywhere.check("http://example.com/x")).address == "93.184.216.34"


async def test_retries_are_bounded_and_back_off() -> None:
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    with run_receiver(default=503) as receiver:
        outbound = Outbound(backoff_s=(0.2, 0.4, 0.8), sleep=no_sleep)
        delivery = await outbound.post_webhook(receiver.url + "/hook", {"taskUUID": "t", "imageUUID": "i"})
        await outbound.aclose()
    assert not delivery.ok and [a["status"] for a in delivery.attempts] == [503] * 4
    assert waits == [0.2, 0.4, 0.8] and len(receiver.hits) == 4


# --- through the real server -----------------------------------------------------


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    config = MockConfig(random_seed=3, speed=0.0, webhook_backoff_s=[0.05, 0.05, 0.05])
    with run_mock_server(config) as base:
        yield base


def post(url: str, *tasks: dict) -> httpx.Response:
    return httpx.post(url + "/v1", json=list(tasks), headers=AUTH, timeout=30)


def test_webhook_gets_one_post_per_image_and_the_request_is_acknowledged(url: str) -> None:
    with run_receiver() as receiver:
        t = task(webhookURL=receiver.url + "/hook?token=s3cret", numberResults=2, outputFormat="PNG")
        answer = post(url, t)
        assert answer.status_code == 200
        assert answer.json() == {"data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"]}]}
        hits = receiver.wait_for(2)
    assert len(hits) == 2
    bodies = [json.loads(h.body) for h in hits]
    assert all(h.method == "POST" and h.path == "/hook?token=s3cret" for h in hits)
    assert all(h.headers["content-type"] == "application/json" for h in hits)
    assert all(list(b) == ["data"] and len(b["data"]) == 1 for b in bodies)
    items = [b["data"][0] for b in bodies]
    assert {i["taskUUID"] for i in items} == {t["taskUUID"]}
    assert len({i["imageUUID"] for i in items}) == 2 and all(i["imageURL"].endswith(".png") for i in items)
    # The admin view shows the deliveries with the URL's token redacted.
    deliveries = httpx.get(url + "/__admin/deliveries", timeout=10).json()["deliveries"]
    mine = [d for d in deliveries if d["taskUUID"] == t["taskUUID"]]
    assert len(mine) == 2 and all(d["ok"] for d in mine)
    assert "s3cret" not in json.dumps(deliveries)


def test_webhook_is_retried_after_a_non_2xx_answer(url: str) -> None:
    with run_receiver(statuses=[500, 502]) as receiver:
        t = task(webhookURL=receiver.url + "/retry")
        post(url, t).raise_for_status()
        hits = receiver.wait_for(3)
    assert len(hits) == 3
    assert json.loads(hits[0].body) == json.loads(hits[2].body)  # the same item each time


def test_sync_delivery_with_a_webhook_is_acknowledged_and_delivered(url: str) -> None:
    with run_receiver() as receiver:
        t = task(deliveryMethod="sync", webhookURL=receiver.url + "/sync")
        assert "imageUUID" not in post(url, t).json()["data"][0]
        (hit,) = receiver.wait_for(1)
    assert json.loads(hit.body)["data"][0]["taskUUID"] == t["taskUUID"]


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_upload_endpoint_gets_the_raw_image_with_its_content_type(url: str, fmt: str, mime: str) -> None:
    with run_receiver() as receiver:
        t = task(
            uploadEndpoint=receiver.url + f"/bucket/out.{fmt.lower()}?X-Amz-Signature=abc", outputFormat=fmt
        )
        (item,) = post(url, t).json()["data"]  # sync: the result comes back as usual
        (hit,) = receiver.wait_for(1)
    assert hit.method == "PUT" and hit.headers["content-type"] == mime
    assert hit.body == httpx.get(item["imageURL"], timeout=30).content


@pytest.mark.parametrize("field", ["webhookURL", "uploadEndpoint"])
@pytest.mark.parametrize(
    "target", ["http://10.0.0.1/hook", "http://192.0.2.7:8080/x", "http://[2001:db8::1]/x"]
)
def test_non_loopback_targets_are_refused_before_anything_runs(url: str, field: str, target: str) -> None:
    t = task(**{field: target})
    answer = post(url, t)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["parameter"] == field and error["code"] == f"invalid{field[0].upper()}{field[1:]}"
    assert "--allow-outbound" in error["message"]
    # Refused, so the taskUUID is still free.
    assert post(url, task(taskUUID=t["taskUUID"])).status_code == 200


def test_reference_image_urls_are_never_fetched(url: str) -> None:
    with run_receiver() as receiver:
        t = task(inputs={"referenceImages": [receiver.url + "/ref.png"]})
        assert post(url, t).status_code == 200
        assert receiver.wait_for(1, timeout=0.5) == []
