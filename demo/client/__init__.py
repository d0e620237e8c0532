"""The reusable Runware client: one async client for the live API and the mock.

Imports ``api_schema``, httpx and Pillow only: never Gradio, never the mock.

    from demo.client import RunwareClient, RetryPolicy, Timeouts

    async with RunwareClient("https://api.runware.ai/v1", key, retry=RetryPolicy(max_retries=5)) as c:
        task = {"positivePrompt": 'A sign that reads "OPEN"', "width": 1024, "height": 768}
        generation = await c.generate(task)  # generation.images: in request order
"""

from .client import Observer, OnResult, RunwareClient
from .errors import (
    AuthError,
    ImageError,
    NetworkError,
    NotFound,
    PaymentRequired,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    RunwareError,
    ServerError,
    ValidationFailed,
)
from .policies import Limits, PollPolicy, RetryPolicy, Timeouts
from .recorder import Recorder
from .results import Generation, ImageResult
from .transport import parse_retry_after, same_origin

__all__ = [
    "AuthError",
    "Generation",
    "ImageError",
    "ImageResult",
    "Limits",
    "NetworkError",
    "NotFound",
    "Observer",
    "OnResult",
    "PaymentRequired",
    "PollPolicy",
    "ProtocolError",
    "RateLimited",
    "Recorder",
    "RequestTimeout",
    "RetryPolicy",
    "RunwareClient",
    "RunwareError",
    "ServerError",
    "Timeouts",
    "ValidationFailed",
    "parse_retry_after",
    "same_origin",
]
