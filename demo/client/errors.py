"""One exception type per way a Runware call can fail.

Every error carries Runware's ``code``, ``parameter`` and ``message`` (verbatim from the
error item when the server sent one), the HTTP status, the ``taskUUID`` and whether
trying again later may help. The UI shows ``str(error)``; none of them ever holds the
API key (the client redacts server text before it gets here).
"""

from __future__ import annotations

from collections.abc import Iterable

from api_schema import ErrorItem
from api_schema import errors as codes


class RunwareError(Exception):
    """Base of every failure the client reports."""

    default_code = "error"
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        parameter: str | None = None,
        status: int | None = None,
        task_uuid: str | None = None,
        retryable: bool | None = None,
        errors: Iterable[ErrorItem] = (),
    ) -> None:
        self.code = code or self.default_code
        self.message = message
        self.parameter = parameter
        self.status = status
        self.task_uuid = task_uuid
        self.retryable = self.default_retryable if retryable is None else retryable
        self.errors: list[ErrorItem] = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.parameter:
            text += f" (parameter: {self.parameter})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"parameter={self.parameter!r}, status={self.status!r}, task_uuid={self.task_uuid!r}, "
            f"retryable={self.retryable!r})"
        )

    # Exceptions are pickled by their args; keep the attributes when they are.
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[RunwareError], state: dict) -> RunwareError:
    err = cls.__new__(cls)
    Exception.__init__(err)
    err.__dict__.update(state)
    return err


class ValidationFailed(RunwareError):
    """The request is invalid: found before sending, or answered with HTTP 400."""

    default_code = "invalidRequest"


class AuthError(RunwareError):
    """HTTP 401/403: no key, a wrong key, or a key without permission."""

    default_code = codes.INVALID_API_KEY


class PaymentRequired(RunwareError):
    """HTTP 402: the account's balance does not cover the task."""

    default_code = "insufficientCredits"


class NotFound(RunwareError):
    """HTTP 404: an unknown task or image."""

    default_code = codes.TASK_NOT_FOUND


class RateLimited(RunwareError):
    """HTTP 429 that outlasted the retries (or the deadline)."""

    default_code = codes.RATE_LIMITED
    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:  # type: ignore[no-untyped-def]
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(RunwareError):
    """HTTP 5xx that outlasted the retries."""

    default_code = codes.SERVER_ERROR
    default_retryable = True


class ProtocolError(RunwareError):
    """The server answered, but not in the documented shape (contract drift)."""

    default_code = "invalidResponse"


class RequestTimeout(RunwareError):
    """A call took longer than its timeout, or the generation passed its deadline."""

    default_code = codes.TIMEOUT
    default_retryable = True


class NetworkError(RunwareError):
    """The server could not be reached (connection refused, reset, DNS) after retries."""

    default_code = "networkError"
    default_retryable = True


class ImageError(RunwareError):
    """Image bytes that are missing, too large, or not an image of the stated format."""

    default_code = "invalidImage"


_BY_STATUS: dict[int, type[RunwareError]] = {
    400: ValidationFailed,
    401: AuthError,
    402: PaymentRequired,
    403: AuthError,
    404: NotFound,
    408: RequestTimeout,
    409: ValidationFailed,
    413: ValidationFailed,
    422: ValidationFailed,
    429: RateLimited,
}

# For errors reported inside a 200 answer (getResponse), the code tells the kind.
_BY_CODE: dict[str, type[RunwareError]] = {
    codes.INVALID_API_KEY: AuthError,
    codes.RATE_LIMITED: RateLimited,
    codes.SERVER_ERROR: ServerError,
    codes.SERVICE_UNAVAILABLE: ServerError,
    codes.TIMEOUT: RequestTimeout,
    codes.TASK_NOT_FOUND: NotFound,
    codes.IMAGE_NOT_FOUND: NotFound,
}

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def error_class(status: int | None, code: str | None) -> type[RunwareError]:
    if status is not None and status >= 400:
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        if status >= 500:
            return ServerError
    if code in _BY_CODE:
        return _BY_CODE[code]  # type: ignore[index]
    if code and (code.startswith("invalid") or code in (codes.UNKNOWN_PARAMETER, codes.CONFLICT_TASK_UUID)):
        return ValidationFailed
    if status is not None and status >= 400:
        return RunwareError
    return ServerError


def from_items(
    items: list[ErrorItem],
    *,
    status: int | None = None,
    task_uuid: str | None = None,
    retry_after: float | None = None,
    fallback: str = "The server reported an error without details.",
) -> RunwareError:
    """The exception for an error answer: typed by status (or code), worded by its first item."""
    first = items[0] if items else None
    code = first.code if first else None
    cls = error_class(status, code)
    kw = {
        "code": code,
        "parameter": first.parameter if first else None,
        "status": status,
        "task_uuid": (first.task_uuid if first and first.task_uuid else task_uuid),
        "errors": items,
    }
    if status is not None and status in RETRYABLE_STATUSES:
        kw["retryable"] = True
    message = first.message if first else fallback
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, **kw)
    return cls(message, **kw)
