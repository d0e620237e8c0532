"""Results in request order, cancellation, observers and the policy objects (respx fake)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from demo.client import Limits, PollPolicy, Recorder, RetryPolicy, RunwareClient, Timeouts
from tests.support.fakes import IMAGE_HOST, LIVE_URL, FakeRunware

KEY = "live-key-0123456789abcdef"
TASK = {"positivePrompt": 'Four signs that read "ORDER"', "width": 256, "height": 256, "seed": 40}


class Sleeps(list):
    """Stands in for asyncio.sleep: records each delay, waits for none."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        await asyncio.sleep(0)


class FinishBackwards(FakeRunware):
    """Async jobs finish their images last first, one per poll, listed in request order."""

    def _getResponse(self, task, raw):
        out, errors = super()._getResponse(task, raw)
        done = sum(1 for item in out if item.get("status") == "success")
        items = self.jobs[task.task_uuid]["items"]
        finished = set(range(len(items) - done, len(items)))
        processing = {"taskType": "imageInference", "taskUUID": task.task_uuid, "status": "processing"}
        listed = [
            item | {"status": "success"} if i in finished else processing for i, item in enumerate(items)
        ]
        return listed, errors


@pytest.fixture
def router():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as r:
        yield r


def client(**kw) -> RunwareClient:
    c = RunwareClient(LIVE_URL, KEY, polling=PollPolicy(initial=0.01, maximum=0.01), **kw)
    c._call.sleep = Sleeps()
    return c


async def test_sync_results_keep_request_order_when_downloads_finish_out_of_order(router):
    fake = FakeRunware(KEY).install(router)
    listed: list[str] = []  # image paths in the order the answer lists them
    results = fake._results

    def listing(task, raw):
        items = results(task, raw)
        listed.extend(httpx.URL(i["imageURL"]).path for i in items)
        return items

    fake._results = listing
    last_started = asyncio.Event()

    async def image(request: httpx.Request) -> httpx.Response:
        # The first image's download waits until the last one's has started.
        if request.url.path == listed[-1]:
            last_started.set()
        elif request.url.path == listed[0]:
            await last_started.wait()
        return fake.image(request)

    router.get(url__startswith=IMAGE_HOST).mock(side_effect=image)
    arrived: list[int] = []
    async with client() as c:
        gen = await c.generate(dict(TASK, numberResults=4), on_result=lambda r: arrived.append(r.seed))
    assert arrived[0] != 40 and 40 in arrived  # the first image was not the first to arrive
    assert [img.seed for img in gen] == [40, 41, 42, 43]
    assert [img.index for img in gen] == [0, 1, 2, 3]


async def test_async_results_are_in_the_order_the_api_lists_them(router):
    FinishBackwards(KEY).install(router)
    arrived: list[int] = []
    async with client() as c:
        gen = await c.generate(
            dict(TASK, numberResults=3, deliveryMethod="async"), on_result=lambda r: arrived.append(r.seed)
        )
    assert arrived == [42, 41, 40]  # as they finished
    assert [img.seed for img in gen] == [40, 41, 42] and [img.index for img in gen] == [0, 1, 2]


async def test_cancelling_a_generation_stops_its_polling(router):
    fake = FakeRunware(KEY).install(router)
    fake.stall_after = 0  # no image ever finishes
    async with client(timeouts=Timeouts(deadline=600)) as c:
        job = asyncio.ensure_future(c.generate(dict(TASK, deliveryMethod="async")))
        while len(fake.posts) < 3:  # acknowledged, and polling
            await asyncio.sleep(0)
        job.cancel()
        for _ in range(1000):  # counted turns of the loop, not a clock
            if job.done():
                break
            await asyncio.sleep(0)
        # Python 3.11's wait_for lost a cancellation arriving as a poll's answer did: the
        # loop went on polling, and a UI's Stop could not end it.
        assert job.cancelled()
        polls = len(fake.posts)
        for _ in range(50):  # a loop still running would poll on every turn (its sleeps are instant)
            await asyncio.sleep(0)
        assert len(fake.posts) == polls


async def test_a_failing_observer_does_not_cost_the_images(router, tmp_path):
    FakeRunware(KEY).install(router)

    class Broken:
        def on_generation(self, generation):
            raise RuntimeError("disk on fire")

    seen = []

    class Watcher:
        def on_generation(self, generation):
            seen.append(generation.task_uuid)

    async with client(observers=[Broken(), Recorder(tmp_path / "rec"), Watcher()]) as c:
        gen = await c.generate(dict(TASK, numberResults=2))
    assert len(gen) == 2 and seen == [gen.task_uuid]
    assert len([p for p in (tmp_path / "rec").iterdir() if not p.name.startswith(".")]) == 1


@pytest.mark.parametrize(
    "build",
    [
        lambda: Timeouts(call=0),
        lambda: Timeouts(deadline=-1),
        lambda: RetryPolicy(max_retries=-1),
        lambda: RetryPolicy(backoff_base=-0.1),
        lambda: PollPolicy(initial=0),
        lambda: PollPolicy(factor=0.5),
        lambda: Limits(max_image_bytes=0),
    ],
)
def test_policies_refuse_nonsense(build):
    with pytest.raises(ValueError):
        build()


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff_base=0.0, backoff_max=5.0)
    assert [policy.backoff(n) for n in range(3)] == [0.0, 0.0, 0.0]
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0)
    assert all(5.0 <= policy.backoff(n) <= 6.0 for n in (3, 10))
    assert PollPolicy(initial=1, factor=2, maximum=3).next(2) == 3
