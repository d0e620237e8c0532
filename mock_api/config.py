"""Settings of one mock server instance.

A plain dataclass so the async/webhook/fault modules can add their own fields
without touching the ones here. Every field has a default: ``MockConfig()`` is a
working offline mock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024


@dataclass
class MockConfig:
    # Auth: None accepts any non-empty key; a string accepts only that key.
    require_key: str | None = field(default=None, repr=False)
    # Largest request body accepted; bigger ones get HTTP 413.
    max_body_bytes: int = 32 * MB
    # Fixes the mock's randomness (random seeds, imageUUIDs) for reproducible runs.
    random_seed: int | None = None
    # Folders of recorded exchanges to replay, on top of the built-in examples.
    replay_dirs: list[Path] = field(default_factory=list)
    # An imageInference that matches no recorded exchange is an error, not synthesized.
    strict: bool = False
    # Budget of the cache of encoded image bytes (evicted images are rendered again).
    cache_max_bytes: int = 64 * MB
    # Budget of the store of source pictures (uploads and inline reference images).
    sources_max_bytes: int = 128 * MB
    # Largest reference or uploaded image, decoded.
    max_reference_bytes: int = 20 * MB
    # How many image URLs are remembered at most (oldest are forgotten first).
    max_images: int = 50_000
    # Lifetime of an image URL when the request gives no ttl.
    default_ttl: int = 24 * 3600
    # How many images may be rendered at the same time (bounds peak memory).
    render_concurrency: int = 2

    def __post_init__(self) -> None:
        self.replay_dirs = [Path(p) for p in self.replay_dirs]
        for name in ("max_body_bytes", "cache_max_bytes", "sources_max_bytes", "max_reference_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_images <= 0 or self.default_ttl <= 0 or self.render_concurrency <= 0:
            raise ValueError("max_images, default_ttl and render_concurrency must be positive")
        if self.require_key is not None and not self.require_key:
            raise ValueError("require_key must be a non-empty string or None")
