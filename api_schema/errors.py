"""Runware error items: the code table and the translation of validation failures.

One error item per violation, code ``invalid<Parameter>``, a message that names the
parameter and the bound it broke.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from . import limits
from .responses import ErrorItem


@dataclass(frozen=True)
class ParamInfo:
    code: str
    type: str
    anchor: str  # fragment of the model page documenting the parameter


def _p(code: str, type_: str, anchor: str) -> ParamInfo:
    return ParamInfo(code, type_, anchor)


# The code table: wire parameter path -> (error code, documented type, docs anchor).
PARAMS: dict[str, ParamInfo] = {
    "taskType": _p("invalidTaskType", "string", "request-tasktype"),
    "taskUUID": _p("invalidTaskUUID", "string", "request-taskuuid"),
    "model": _p("invalidModel", "string", "request-model"),
    "positivePrompt": _p("invalidPositivePrompt", "string", "request-positiveprompt"),
    "width": _p("invalidWidth", "integer", "request-width"),
    "height": _p("invalidHeight", "integer", "request-height"),
    "seed": _p("invalidSeed", "integer", "request-seed"),
    "steps": _p("invalidSteps", "integer", "request-steps"),
    "CFGScale": _p("invalidCFGScale", "float", "request-cfgscale"),
    "numberResults": _p("invalidNumberResults", "integer", "request-numberresults"),
    "outputType": _p("invalidOutputType", "string", "request-outputtype"),
    "outputFormat": _p("invalidOutputFormat", "string", "request-outputformat"),
    "outputQuality": _p("invalidOutputQuality", "integer", "request-outputquality"),
    "webhookURL": _p("invalidWebhookURL", "string", "request-webhookurl"),
    "uploadEndpoint": _p("invalidUploadEndpoint", "string", "request-uploadendpoint"),
    "deliveryMethod": _p("invalidDeliveryMethod", "string", "request-deliverymethod"),
    "safety": _p("invalidSafety", "object", "request-safety"),
    "safety.checkContent": _p("invalidCheckContent", "boolean", "request-safety-checkcontent"),
    "safety.mode": _p("invalidSafetyMode", "string", "request-safety-mode"),
    "ttl": _p("invalidTtl", "integer", "request-ttl"),
    "includeCost": _p("invalidIncludeCost", "boolean", "request-includecost"),
    "inputs": _p("invalidInputs", "object", "request-inputs-referenceimages"),
    "inputs.referenceImages": _p(
        "invalidReferenceImages", "array of strings", "request-inputs-referenceimages"
    ),
    # Protocol tasks other than imageInference.
    "apiKey": _p("invalidApiKey", "string", ""),
    "image": _p("invalidImage", "string", ""),
    "media": _p("invalidMedia", "string", ""),
    "mediaUUID": _p("invalidMediaUUID", "string", ""),
    "operation": _p("invalidOperation", "string", ""),
    "ping": _p("invalidPing", "boolean", ""),
    "connectionSessionUUID": _p("invalidConnectionSessionUUID", "string", ""),
}

# Codes that are not about one parameter's value.
UNKNOWN_PARAMETER = "unsupportedParameter"
UNKNOWN_TASK_TYPE = "invalidTaskType"
INVALID_API_KEY = "invalidApiKey"
# The documented invalidApiKey message (runware.ai docs, platform/errors), verbatim.
INVALID_API_KEY_MESSAGE = "Invalid API key. Get one at https://my.runware.ai/signup"
CONFLICT_TASK_UUID = "conflictTaskUUID"
# HTTP 402 and 403, with the messages of the docs (platform/errors). The codes are the mock's
# choice: the docs name only the statuses; the SDK files any code with "Credits" in it as a
# final "quota" error and "insufficientPermissions" as a final "auth" one.
INSUFFICIENT_CREDITS = "insufficientCredits"
INSUFFICIENT_CREDITS_MESSAGE = "Your account balance is insufficient"
INSUFFICIENT_PERMISSIONS = "insufficientPermissions"
INSUFFICIENT_PERMISSIONS_MESSAGE = "The API key doesn't have permissions to perform the request"
INVALID_REQUEST_BODY = "invalidRequestBody"
REQUEST_TOO_LARGE = "requestTooLarge"
TASK_NOT_FOUND = "taskNotFound"
IMAGE_NOT_FOUND = "imageNotFound"
# mediaStorage delete of a mediaUUID the mock does not hold (the code is the mock's choice).
MEDIA_NOT_FOUND = "mediaNotFound"
RATE_LIMITED = "rateLimitExceeded"
SERVER_ERROR = "internalServerError"
SERVICE_UNAVAILABLE = "serviceUnavailable"
TIMEOUT = "timeoutProvider"
# Mock-only: --strict replay found no recorded exchange for an imageInference.
NO_RECORDED_RESPONSE = "noRecordedResponse"
# An HTTP route or method the server does not serve.
NOT_FOUND = "notFound"
METHOD_NOT_ALLOWED = "methodNotAllowed"
# Mock-only: its /__admin surface refused a request (a foreign Host or Origin).
ADMIN_REFUSED = "adminRequestRefused"
# A request whose head or body did not arrive in time (HTTP 408).
REQUEST_TIMEOUT = "requestTimeout"

# Parameters whose value is never echoed in a message: a key of the wrong type is still a key.
SECRET_PARAMS = frozenset({"apiKey"})

# Work per task stays bounded whatever a request holds: at most this many error items
# (the last one says how many more there were), "did you mean" hints for the first few
# unknown names only (each costs a fuzzy match), and no name longer than this echoed.
MAX_REPORTED_ERRORS = 20
MAX_HINTED_UNKNOWN = 5
MAX_NAME_CHARS = 64

# Bounds per parameter, for messages. Read from limits so they live in one place.
_RANGES: dict[str, limits.NumberRange] = {
    "positivePrompt": limits.POSITIVE_PROMPT,
    "width": limits.WIDTH,
    "height": limits.HEIGHT,
    "seed": limits.SEED,
    "steps": limits.STEPS,
    "CFGScale": limits.CFG_SCALE,
    "numberResults": limits.NUMBER_RESULTS,
    "outputQuality": limits.OUTPUT_QUALITY,
    "ttl": limits.TTL,
}

_ALLOWED: dict[str, tuple[str, ...]] = {
    "outputType": limits.OUTPUT_TYPES,
    "outputFormat": limits.OUTPUT_FORMATS,
    "deliveryMethod": limits.DELIVERY_METHODS,
    "safety.mode": limits.SAFETY_MODES,
    "model": (limits.MODEL_ID,),
}
# "operation" means something else in each task that has one.
_ALLOWED_BY_TASK: dict[str, dict[str, tuple[str, ...]]] = {
    "mediaStorage": {"operation": limits.MEDIA_OPERATIONS},
    "accountManagement": {"operation": limits.ACCOUNT_OPERATIONS},
}


def param_info(path: str) -> ParamInfo:
    """The table entry for a wire path, with a derived code for anything unlisted."""
    info = PARAMS.get(path)
    if info is not None:
        return info
    last = path.rsplit(".", 1)[-1]
    return ParamInfo("invalid" + last[:1].upper() + last[1:], "unknown", "")


def documentation_url(path: str) -> str:
    anchor = param_info(path).anchor
    return f"{limits.DOCS_URL}#{anchor}" if anchor else limits.DOCS_URL


def make_error(
    code: str,
    message: str,
    *,
    parameter: str | None = None,
    task_type: str | None = None,
    task_uuid: str | None = None,
) -> ErrorItem:
    """An error item; type and documentation are filled in from the code table."""
    info = PARAMS.get(parameter or "")
    return ErrorItem(
        code=code,
        message=message,
        parameter=parameter,
        type=info.type if info else None,
        documentation=documentation_url(parameter) if parameter else None,
        taskType=task_type,
        taskUUID=task_uuid,
    )


def _loc_to_path(loc: Iterable[Any]) -> str:
    # Drop list indexes (inputs.referenceImages.0 -> inputs.referenceImages) and
    # pydantic's internal tags for unions and validators.
    parts = [str(p) for p in loc if not isinstance(p, int)]
    parts = [p for p in parts if not p.startswith(("function-", "tagged-union", "lax-or-strict"))]
    return ".".join(parts)


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _display_name(path: str, loc: Iterable[Any]) -> str:
    """The parameter as a reader would point at it: inputs.referenceImages[1]."""
    index = [p for p in loc if isinstance(p, int)]
    return f"{path}[{index[0]}]" if index and path else path or "request"


def clip_name(name: str) -> str:
    """A parameter name as it may be echoed: at most MAX_NAME_CHARS characters."""
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"


def unknown_parameter(path: str, known: Iterable[str], *, hint: bool = True) -> tuple[str, str]:
    """(code, message) for a name the task does not take, with a "did you mean" when one is close.

    ``known`` are the fields' paths (inputs.referenceImages): the name is matched against
    their last parts, and the hint names the whole path, so a field sent at the wrong level
    (referenceImages at the top, as SDKs did) is told where it goes, not its own name back.
    """
    last = path.rsplit(".", 1)[-1]
    suggestion = ""
    if hint and len(last) <= MAX_NAME_CHARS:
        by_last: dict[str, str] = {}
        for field_path in known:
            by_last.setdefault(field_path.rsplit(".", 1)[-1], field_path)
        found = difflib.get_close_matches(last, list(by_last), n=1, cutoff=0.6)
        found += [k for k in by_last if k.lower() == last.lower() and k not in found]
        if found and by_last[found[0]] != path:
            suggestion = f" Did you mean '{by_last[found[0]]}'?"
    return UNKNOWN_PARAMETER, f"Unknown parameter '{clip_name(path)}'.{suggestion}"


def _message(
    path: str, err: dict[str, Any], known: Iterable[str], task_type: str | None = None
) -> tuple[str, str]:
    """(code, message) for one pydantic error."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input") if path not in SECRET_PARAMS else "[redacted]"
    name = _display_name(path, err.get("loc", ()))
    rng = _RANGES.get(path)
    allowed = _ALLOWED_BY_TASK.get(task_type or "", {}).get(path) or _ALLOWED.get(path)

    if ctx.get("parameter"):
        # Cross-field checks (width without height) name their parameter themselves.
        return param_info(path).code, f"Invalid value for '{name}': {err['msg']}."
    if kind == "extra_forbidden":
        return unknown_parameter(path, known)
    code = param_info(path).code
    if kind == "missing":
        return code, f"Missing required parameter '{name}'."
    if allowed and kind in ("literal_error", "enum"):
        options = ", ".join(allowed)
        return code, f"Invalid value for '{name}': must be one of {options} (got {_got(value)})."
    if rng is not None and kind in (
        "greater_than_equal",
        "less_than_equal",
        "greater_than",
        "less_than",
        "string_too_short",
        "string_too_long",
    ):
        unit = " characters long" if path == "positivePrompt" else ""
        if isinstance(value, str):
            got = f"{len(value)} character{'s' if len(value) != 1 else ''}"
        else:
            got = _got(value)
        return code, f"Invalid value for '{name}': must be {rng.describe()}{unit} (got {got})."
    if kind.startswith("int_") or kind == "int_type":
        bound = f" {rng.describe()}" if rng else ""
        return code, f"Invalid value for '{name}': must be an integer{bound} (got {_got(value)})."
    if kind.startswith("float_") or kind.startswith("bool_") or kind.endswith("_type"):
        expected = param_info(path).type
        return code, f"Invalid value for '{name}': must be of type {expected} (got {_got(value)})."
    if kind == "value_error":
        reason = str(ctx.get("error", err.get("msg", "")))
        return code, f"Invalid value for '{name}': {reason.rstrip('.')}."
    if kind == "model_attributes_type" or kind == "dict_type":
        return code, f"Invalid value for '{name}': must be an object (got {_got(value)})."
    return code, f"Invalid value for '{name}': {err.get('msg', 'invalid')} (got {_got(value)})."


def validation_errors(
    exc: ValidationError,
    *,
    task_type: str | None = None,
    task_uuid: str | None = None,
    known_fields: Iterable[str] = (),
) -> list[ErrorItem]:
    """Turn a pydantic ValidationError into Runware error items, one per violation."""
    items: list[ErrorItem] = []
    seen: set[tuple[str, str]] = set()
    known = list(known_fields)
    for err in exc.errors(include_url=False):
        path = (err.get("ctx") or {}).get("parameter") or _loc_to_path(err["loc"])
        code, message = _message(path, err, known, task_type)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        items.append(
            make_error(
                code, message, parameter=clip_name(path) or None, task_type=task_type, task_uuid=task_uuid
            )
        )
    return items


def capped(
    items: list[ErrorItem],
    *,
    omitted: int = 0,
    task_type: str | None = None,
    task_uuid: str | None = None,
) -> list[ErrorItem]:
    """At most MAX_REPORTED_ERRORS items; past that, the last one says how many were left out.

    ``omitted`` counts problems found but never built into items (they count as "more").
    """
    if len(items) + omitted <= MAX_REPORTED_ERRORS:
        return items
    more = len(items) + omitted - (MAX_REPORTED_ERRORS - 1)
    summary = make_error(
        INVALID_REQUEST_BODY,
        f"... and {more:,} more problems in this task (the first {MAX_REPORTED_ERRORS - 1} are listed).",
        task_type=task_type,
        task_uuid=task_uuid,
    )
    return [*items[: MAX_REPORTED_ERRORS - 1], summary]
