"""The mediaStorage task, which runware-sdk 1.8 prefers to imageUpload: ``upload`` stores a
picture (a URL, a data URI or base64) and answers its mediaUUID and mediaURL; ``delete``
forgets a stored one. A mediaUUID is an imageUUID like any other: it works as a reference
image and its URL serves the picture. Only pictures are stored (the live API takes any media).
"""

from __future__ import annotations

from typing import Any

from api_schema import MediaStorageTask
from api_schema import errors as E

from .handler import RequestContext, TaskResult, conflict, failed
from .upload import is_upload, store_picture, unusable


async def handle_media_storage(ctx: RequestContext, task: MediaStorageTask) -> TaskResult:
    if not ctx.state.jobs.claim(task.task_uuid):
        return conflict(task.task_type, task.task_uuid)
    state = ctx.state
    item: dict[str, Any] = {
        "taskType": task.task_type,
        "taskUUID": task.task_uuid,
        "operation": task.operation,
    }
    if task.operation == "delete":
        media_uuid = str(task.media_uuid)
        record = state.store.by_uuid(media_uuid)
        if record is None or not is_upload(record):
            return failed(
                404,
                E.MEDIA_NOT_FOUND,
                f"No stored media with mediaUUID {media_uuid} (never uploaded, deleted, or expired).",
                parameter="mediaUUID",
                task_type=task.task_type,
                task_uuid=task.task_uuid,
            )
        state.store.forget(media_uuid)
        return TaskResult(data=[{**item, "mediaUUID": record.image_uuid}])
    try:
        stored = await store_picture(str(task.media), state.store, state.config, state.rng)
    except ValueError as exc:
        return unusable("media", exc, task.task_type, task.task_uuid)
    item.update(mediaUUID=stored.image_uuid, mediaURL=ctx.base_url + stored.path)
    return TaskResult(data=[item])
