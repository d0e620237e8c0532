"""The result items of one imageInference: the recorded answer when a recording
matches, else a synthesized one (or, with ``strict``, an error)."""

from __future__ import annotations

import random
from typing import Any, Protocol

from api_schema import ErrorItem, ImageInferenceTask, make_error
from api_schema import errors as E

from ..config import MockConfig
from ..images.store import ImageGone, ImageStore
from .references import resolve_references
from .replay import ReplayStore, replay_items
from .synth import synthesize


class Resources(Protocol):
    """What answering needs of the mock's state (``MockState`` has it all)."""

    config: MockConfig
    replay: ReplayStore
    store: ImageStore
    rng: random.Random


class Unanswerable(Exception):
    """The request cannot be answered: the error items and the HTTP status they go with."""

    def __init__(self, status: int, errors: list[ErrorItem]) -> None:
        super().__init__(errors[0].message if errors else "unanswerable")
        self.status = status
        self.errors = errors


async def answer(state: Resources, task: ImageInferenceTask, base_url: str) -> list[dict[str, Any]]:
    """The complete result items, by replay or synthesis; raises Unanswerable."""

    recording = state.replay.match(task)
    if recording is None and state.config.strict:
        reason = state.replay.explain_miss(task)
        raise _refusal(
            task,
            400,
            E.NO_RECORDED_RESPONSE,
            f"No recorded response matches this imageInference request (--strict): {reason}.",
        )
    digests: list[str] = []
    if task.reference_images and (recording is None or not recording.has_files):
        digests, errors = await resolve_references(task, state.store, state.config)
        if errors:
            raise Unanswerable(400, errors)
    try:
        if recording is not None:
            return await replay_items(
                recording, task, digests, rng=state.rng, store=state.store, base_url=base_url
            )
        return await synthesize(
            task,
            digests,
            count=task.number_results,
            first_index=0,
            rng=state.rng,
            store=state.store,
            base_url=base_url,
        )
    except ImageGone:
        raise _refusal(
            task,
            503,
            E.SERVICE_UNAVAILABLE,
            "A reference picture was evicted from the mock's memory while rendering; try again.",
        ) from None


def _refusal(task: ImageInferenceTask, status: int, code: str, message: str) -> Unanswerable:
    error = make_error(code, message, task_type=task.task_type, task_uuid=task.task_uuid)
    return Unanswerable(status, [error])
