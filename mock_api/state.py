"""Everything one mock instance remembers, in one object.

``MockState`` owns the replay store, the image store, the jobs, the fault plans,
the journal, the outbound sender, the account, the WebSocket sessions, the random source
and the background tasks;
``reset()`` forgets what a run accumulated and ``aclose()`` stops it all. Routes
reach it with ``state_of(request)`` (``create_app`` puts it on ``app.state.mock``).
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import HTTPConnection

from .account import Account
from .config import MockConfig
from .control.faults import FaultInjector
from .control.journal import Journal
from .engine.replay import ReplayStore
from .images.store import ImageStore
from .jobs import JobStore
from .outbound import Outbound, OutboundPolicy
from .sessions import SessionStore

# Payloads up to this many bytes are decoded, journaled and validated on the event loop
# (a thread hop would cost more than the work); bigger ones in a worker thread, at most
# PARSE_THREADS at once (CPU work: more would only take turns at the GIL with the loop).
INLINE_PAYLOAD_BYTES = 64 * 1024
PARSE_THREADS = 2

T = TypeVar("T")


class MockState:
    """All state of one app instance."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        # Raises ValueError naming a bad file.
        self.replay = ReplayStore.load(config.replay_dirs, max_image_bytes=config.max_recorded_image_bytes)
        self.store = ImageStore(config)
        self.rng = random.Random(config.random_seed)
        self.jobs = JobStore(speed=config.speed, ttl_s=config.job_ttl_s, max_jobs=config.max_jobs)
        self.faults = FaultInjector(
            latency_ms=config.latency_ms,
            rate=config.fault_rate,
            seed=config.fault_seed,
            kinds=config.fault_kinds,
            timeout_hold_s=config.fault_timeout_s,
        )
        # The mock's own keys are scrubbed from every record, offered as a key or not.
        self.journal = Journal(
            max_entries=config.journal_size, secrets=(config.require_key, config.admin_key)
        )
        self.outbound = Outbound(
            OutboundPolicy(config.allow_outbound, enabled=config.send_outbound),
            timeout_s=config.outbound_timeout_s,
            backoff_s=config.webhook_backoff_s,
        )
        self.account = Account(config.account_balance)
        self.sessions = SessionStore(self.jobs.clock.now, config.sessions)
        # Open WebSockets, each by its closer (/__admin/disconnect drops them all).
        self.sockets: set[Callable[[], Awaitable[None]]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self.parse_slots = anyio.CapacityLimiter(PARSE_THREADS)
        self.key_salt = secrets.token_bytes(16)  # callers are told apart by a keyed hash of their key

    @staticmethod
    def inline(size: int) -> bool:
        """Whether CPU work on a payload of ``size`` bytes is done on the event loop. A caller
        on the hot path calls the work itself then: a coroutine around it costs more than
        the work for a small payload."""
        return size <= INLINE_PAYLOAD_BYTES

    async def parse(self, size: int, work: Callable[..., T], *args: Any) -> T:
        """Run CPU work on a payload of ``size`` bytes: inline when small, else in a worker thread."""
        if self.inline(size):
            return work(*args)
        return await anyio.to_thread.run_sync(work, *args, limiter=self.parse_slots)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine (an upload after a sync answer), keeping a reference to it."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()

    async def reset(self) -> None:
        """Forget everything a run accumulated: images, jobs, taskUUIDs, journal, faults, deliveries;
        the account's balance goes back to its start value."""
        self._cancel_background()
        self.store.clear()
        self.rng = random.Random(self.config.random_seed)
        await self.jobs.reset()
        self.faults.reset()
        self.journal.clear()
        self.outbound.clear()
        self.account.reset()
        self.sessions.clear()

    async def aclose(self) -> None:
        """Stop background work and close outbound connections (server shutdown)."""
        self._cancel_background()
        await self.jobs.close()
        await self.outbound.aclose()


def state_of(connection: HTTPConnection) -> MockState:
    """The state of the app serving a request or WebSocket."""
    state = connection.app.state.mock
    if not isinstance(state, MockState):
        raise TypeError("this app was not made by mock_api.create_app")
    return state
