"""Whatever a server answers, the client raises a RunwareError or returns a result:
never another exception (which a UI would show as a traceback)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo.client import PollPolicy, RetryPolicy, RunwareClient, RunwareError, Timeouts
from tests.support.fakes import IMAGE_HOST, LIVE_URL, tiny_image

TASK_UUID = "5b1f3c1e-8d2a-4c6b-9e0f-1a2b3c4d5e6f"
JPG = tiny_image("JPG")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
item_keys = st.sampled_from(
    [
        "taskType",
        "taskUUID",
        "imageUUID",
        "imageURL",
        "imageBase64Data",
        "imageDataURI",
        "seed",
        "cost",
        "status",
        "code",
        "message",
        "parameter",
        "NSFWContent",
    ]
)
item_values = st.one_of(
    json_values,
    st.just("imageInference"),
    st.just(TASK_UUID),
    st.just(f"{IMAGE_HOST}/a.jpg"),
    st.sampled_from(["success", "processing", "error"]),
)
items = st.lists(st.dictionaries(item_keys, item_values, max_size=8), max_size=3)
# "data" and "errors" as lists of item-like objects, or as anything else a drifting server might send.
members = st.one_of(
    items,
    items,
    st.integers(),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.dictionaries(item_keys, item_values, max_size=3),
)
envelopes = st.fixed_dictionaries({}, optional={"data": members, "errors": members})
bodies = st.one_of(envelopes, envelopes, envelopes, json_values)
statuses = st.sampled_from([200, 200, 200, 400, 401, 404, 409, 429, 500, 503])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=statuses, body=bodies, poll_body=bodies, delivery=st.sampled_from(["sync", "async"]))
def test_any_answer_is_a_result_or_a_runware_error(status, body, poll_body, delivery):
    async def run() -> None:
        router = respx.MockRouter(assert_all_called=False)
        router.post(LIVE_URL).side_effect = [
            httpx.Response(status, json=body),
            *[httpx.Response(200, json=poll_body)] * 3,
        ]
        router.get(url__startswith=IMAGE_HOST).respond(200, content=JPG)
        async with RunwareClient(
            LIVE_URL,
            "k",
            transport=httpx.MockTransport(router.async_handler),
            retry=RetryPolicy(max_retries=0),
            timeouts=Timeouts(deadline=0.05),
            polling=PollPolicy(initial=0.005, maximum=0.005),
        ) as client:
            task = {"taskUUID": TASK_UUID, "positivePrompt": "fuzz", "deliveryMethod": delivery}
            with contextlib.suppress(RunwareError):
                await client.generate(task)
            await client.ping()

    asyncio.run(run())
