"""Settings of one mock server instance, and the one place their defaults live.

Every field has a default: ``MockConfig()`` is a working offline mock. The CLI's
flags and the constructors of the stores (jobs, faults, journal, outbound) take
their defaults from ``DEFAULTS`` instead of writing them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MB = 1024 * 1024
# No picture the mock is given may be wider or taller than this, whatever the pixel limit.
MAX_PICTURE_SIDE = 8192


@dataclass(frozen=True)
class SessionLimits:
    """How much a WebSocket session keeps for a client that disconnected, until it resumes.

    The docs: undelivered results are "kept in a buffer memory for 120 seconds". The counts
    and byte budgets are the mock's: past them the oldest buffered messages are dropped.
    """

    # How long a disconnected session stays resumable.
    buffer_s: float = 120.0
    # One session: at most this many buffered messages and bytes.
    messages: int = 1000
    bytes: int = 16 * MB
    # One key: at most this many sessions (the oldest is forgotten) and buffered bytes.
    per_key: int = 100
    key_bytes: int = 32 * MB
    # The whole mock: sessions and buffered bytes.
    max_sessions: int = 10_000
    total_bytes: int = 128 * MB

    def __post_init__(self) -> None:
        if self.buffer_s <= 0 or min(self.messages, self.bytes, self.per_key, self.key_bytes) <= 0:
            raise ValueError("session limits must be positive")
        if self.max_sessions <= 0 or self.total_bytes <= 0:
            raise ValueError("session limits must be positive")


@dataclass
class MockConfig:
    # Auth: None accepts any non-empty key; a string accepts only that key.
    require_key: str | None = field(default=None, repr=False)
    # The key /__admin requires (Authorization: Bearer); None = require_key, if any.
    admin_key: str | None = field(default=None, repr=False)
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
    # Most pixels a reference or upload may declare (checked from its header, before any
    # decoding), how many references one task may carry, and how many pixels the inline
    # ones may hold together (duplicates count once; None: three pictures of the largest size).
    max_reference_pixels: int = 4096 * 4096
    max_reference_images: int = 16
    max_reference_total_pixels: int | None = None
    # Largest picture file of a --replay recording (bigger ones stop start-up).
    max_recorded_image_bytes: int = 32 * MB
    # How many image URLs are remembered at most (oldest are forgotten first).
    max_images: int = 50_000
    # Lifetime of an image URL when the request gives no ttl.
    default_ttl: int = 24 * 3600
    # How many images may be rendered at the same time (bounds peak memory).
    render_concurrency: int = 2

    # --- the wire: what a connection may hold, and for how long ---
    # A request's head (request line and headers) must arrive within this, and fit in
    # max_header_bytes; its body must arrive within body_timeout_s of its start.
    header_timeout_s: float = 10.0
    max_header_bytes: int = 16 * 1024
    body_timeout_s: float = 60.0
    # Request bodies being read at once share this many bytes (None: twice max_body_bytes).
    max_inflight_body_bytes: int | None = None
    # The client must take each piece of an answer within this, or the connection is dropped.
    send_timeout_s: float = 30.0
    # An idle keep-alive connection is closed after this.
    keep_alive_s: float = 5.0

    # --- async delivery, webhooks, faults, journal, WebSocket ---
    # Multiplies the simulated processing time of async/webhook/WebSocket jobs
    # (1.0 = realistic, 0.1 = ten times faster, 0 = instant). Sync REST answers at once.
    speed: float = 1.0
    # How long finished jobs (and used taskUUIDs) are remembered, and how many jobs.
    job_ttl_s: float = 3600.0
    max_jobs: int = 1000
    # Unfinished jobs (async, webhook, WebSocket) one API key may have at once, so one
    # caller cannot take every job slot from the others.
    max_jobs_per_key: int = 250
    # Default extra latency of every API request, in milliseconds.
    latency_ms: int = 0
    # Share of API requests (0..1) failed at random with one of fault_kinds; a seed
    # makes the sequence of failures the same run after run.
    fault_rate: float = 0.0
    fault_seed: int | None = None
    fault_kinds: list[str] = field(default_factory=lambda: ["429", "500", "503"])
    # How long an injected "timeout" holds a request before answering 504.
    fault_timeout_s: float = 30.0
    # False: the mock sends no request at all (webhookURL and uploadEndpoint are refused
    # up front), e.g. inside a public app whose visitors must not make it call anywhere.
    send_outbound: bool = True
    # Hosts, IPs or networks webhooks and uploads may target besides loopback ("*" = any).
    allow_outbound: list[str] = field(default_factory=list)
    # Timeout of one webhook/upload attempt, and the waits between its retries.
    outbound_timeout_s: float = 5.0
    webhook_backoff_s: list[float] = field(default_factory=lambda: [0.2, 0.4, 0.8])
    # How many requests the journal keeps (oldest dropped first).
    journal_size: int = 1000
    # A WebSocket with no message for this long is closed, as the live API does.
    ws_idle_s: float = 120.0
    # Browser origins allowed to call the API and fetch images (CORS); empty = CORS off,
    # "*" = any origin. Never applies to /__admin.
    cors_origins: list[str] = field(default_factory=list)
    # Where the image and media URLs of answers point (scheme://host, no trailing slash);
    # None: the address the request came to. runware_respx sets the live image host.
    image_base_url: str | None = None
    # What a disconnected WebSocket session keeps for its client to resume with.
    sessions: SessionLimits = field(default_factory=SessionLimits)

    # --- the account (accountManagement getDetails) ---
    # USD; an imageInference whose estimated cost it does not cover gets HTTP 402. Not spent.
    account_balance: float = 100.0

    @property
    def reference_total_pixels(self) -> int:
        return self.max_reference_total_pixels or 3 * self.max_reference_pixels

    @property
    def inflight_body_bytes(self) -> int:
        """The budget of request bodies being read at once (twice the body limit unless set)."""
        return self.max_inflight_body_bytes or 2 * self.max_body_bytes

    def __post_init__(self) -> None:
        self.replay_dirs = [Path(p) for p in self.replay_dirs]
        self.cors_origins = [check_origin(o.strip()) for o in self.cors_origins if o.strip()]
        for name in (
            "max_body_bytes",
            "cache_max_bytes",
            "sources_max_bytes",
            "max_reference_bytes",
            "max_recorded_image_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_images <= 0 or self.default_ttl <= 0 or self.render_concurrency <= 0:
            raise ValueError("max_images, default_ttl and render_concurrency must be positive")
        if self.speed < 0 or not 0 <= self.fault_rate <= 1 or self.latency_ms < 0:
            raise ValueError("speed and latency_ms must be >= 0, fault_rate between 0 and 1")
        if self.max_jobs_per_key <= 0:
            raise ValueError("max_jobs_per_key must be positive")
        if self.journal_size <= 0 or self.max_jobs <= 0 or self.ws_idle_s <= 0 or self.fault_timeout_s < 0:
            raise ValueError("journal_size, max_jobs and ws_idle_s must be positive")
        if not 0 <= self.account_balance < float("inf"):
            raise ValueError("account_balance must be a number >= 0")
        if not 0 < self.max_reference_pixels <= MAX_PICTURE_SIDE**2 or self.max_reference_images < 1:
            raise ValueError(
                f"max_reference_pixels must be 1..{MAX_PICTURE_SIDE**2}, max_reference_images >= 1"
            )
        if (
            self.max_reference_total_pixels is not None
            and self.max_reference_total_pixels < self.max_reference_pixels
        ):
            raise ValueError("max_reference_total_pixels must be at least max_reference_pixels")
        timeouts = ("header_timeout_s", "body_timeout_s", "send_timeout_s", "keep_alive_s")
        if any(getattr(self, name) <= 0 for name in timeouts) or self.max_header_bytes < 1024:
            raise ValueError(f"{', '.join(timeouts)} must be positive, max_header_bytes at least 1024")
        if self.max_inflight_body_bytes is not None and self.max_inflight_body_bytes < self.max_body_bytes:
            raise ValueError("max_inflight_body_bytes must be at least max_body_bytes (one body must fit)")
        if not self.send_outbound and self.allow_outbound:
            raise ValueError(
                "allow_outbound (--allow-outbound) contradicts send_outbound=False (--no-outbound)"
            )
        for name in ("require_key", "admin_key"):
            if getattr(self, name) is not None and not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string or None")
        if self.image_base_url is not None:
            # Image URLs are this plus their path: "https://host/" would give "https://host//image".
            self.image_base_url = self.image_base_url.rstrip("/")
            if not self.image_base_url.startswith(("http://", "https://")) or "?" in self.image_base_url:
                raise ValueError("image_base_url must be an http(s) scheme://host[:port][/path], no query")


def check_origin(origin: str) -> str:
    """``origin`` as configured, or ValueError: ``*`` or ``scheme://host[:port]`` and nothing else."""
    if origin == "*":
        return origin
    origin = origin.rstrip("/")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError(
            f"a CORS origin is '*' or scheme://host[:port], e.g. http://localhost:5173 (got {origin!r})"
        )
    return origin


# The defaults, for code that needs one of them without a config at hand. Read only.
DEFAULTS = MockConfig()
