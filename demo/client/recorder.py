"""Write each imageInference exchange the client makes into a recording folder.

``RunwareClient(..., observers=[Recorder(path)])`` hooks it in; the client knows
nothing of recordings, it only tells its observers about each finished generation.

Format (the one the mock replays with ``python -m mock_api --replay DIR``)::

    <record_dir>/<20261125T120000Z>-<taskUUID[:8]>/exchange.json
    <record_dir>/<...>/<imageUUID>.<ext>       the image bytes exactly as received

``exchange.json`` = ``{"title", "request", "response": {"data": [...]}, "images",
"recordedAt"}``. An exchange is built in a ``.tmp-*`` folder inside ``record_dir`` and
renamed into place, so an interrupted run never leaves a half-written exchange (one
killed mid-write leaves a ``.tmp-*`` folder; the next recording sweeps those older than an
hour). The
request is the wire task (it never holds a key); no header is recorded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import Generation

log = logging.getLogger("demo.recorder")

# Fields that must never reach a recording even if a future request carried them.
_SECRET_FIELDS = frozenset({"apiKey", "authorization", "Authorization"})


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


@dataclass(frozen=True)
class Recorder:
    """An observer that records every finished generation into ``directory``."""

    directory: Path

    def on_generation(self, generation: Generation) -> None:
        record_exchange(self.directory, generation)


def exchange_document(gen: Generation, recorded_at: datetime) -> dict[str, Any]:
    items = []
    for img in gen.images:
        item = img.item.model_dump(by_alias=True, exclude_none=True)
        item.pop("status", None)  # present when the item came from getResponse
        items.append(item)
    return {
        "title": str(gen.request.get("positivePrompt", ""))[:60],
        "request": _scrub(gen.request),
        "response": {"data": _scrub(items)},
        "images": {img.image_uuid: img.filename for img in gen.images},
        "recordedAt": recorded_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def record_exchange(record_dir: Path, gen: Generation, *, now: datetime | None = None) -> Path | None:
    """Write one exchange atomically; returns its folder, or None if writing failed.

    A failure to record is logged and swallowed: it must not cost the user the
    images they just paid for.
    """
    recorded_at = now or datetime.now(timezone.utc)
    try:
        return _write(Path(record_dir), gen, recorded_at)
    except OSError as exc:
        log.warning("could not record exchange %s: %s", gen.task_uuid, exc.strerror or exc)
        return None


# A temporary folder older than this was left by a run that died mid-write (kill -9).
STALE_TMP_S = 3600.0


def sweep_stale(record_dir: Path, *, now: float | None = None) -> int:
    """Remove ``.tmp-*`` folders a killed run left behind; returns how many went."""
    cutoff = (time.time() if now is None else now) - STALE_TMP_S
    removed = 0
    for tmp in record_dir.glob(".tmp-*"):
        try:
            if tmp.is_dir() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def _write(record_dir: Path, gen: Generation, recorded_at: datetime) -> Path:
    record_dir.mkdir(parents=True, exist_ok=True)
    sweep_stale(record_dir)
    stem = f"{recorded_at.strftime('%Y%m%dT%H%M%SZ')}-{gen.task_uuid[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=record_dir))
    try:
        for img in gen.images:
            (tmp / img.filename).write_bytes(img.data)
        doc = exchange_document(gen, recorded_at)
        (tmp / "exchange.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        for n in range(1000):
            final = record_dir / (stem if n == 0 else f"{stem}-{n}")
            if final.exists():
                continue
            try:
                os.rename(tmp, final)  # atomic on one file system; fails if final appeared meanwhile
            except OSError:
                if final.exists():
                    continue
                raise
            log.info("recorded exchange %s", final.name)
            return final
        raise OSError(f"no free exchange name for {stem}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
