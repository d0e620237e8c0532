"""Request tasks: imageInference for GLM-Image and the protocol tasks around it."""

from __future__ import annotations

import math
import re
import uuid as uuid_mod
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from . import limits as L
from .refs import RefKind, classify_reference

# Requests: unknown fields are errors (a typo like cfgScale must not pass), numbers
# and booleans are not coerced from strings. Python code may use snake_case names;
# the wire parser (parse_task) accepts the wire names only.
_TASK_CONFIG = ConfigDict(
    extra="forbid",
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
)


# A UUID version 4 (RFC 4122 variant) in canonical form, in either case: what the check
# below accepts, matched in one call (it runs for every task; parsing cost ~2 us).
_CANONICAL_UUID4 = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)


def _uuid_v4(value: str) -> str:
    if isinstance(value, str) and _CANONICAL_UUID4.fullmatch(value):
        return value
    try:
        parsed = uuid_mod.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise ValueError("must be a UUID v4 string, e.g. 'a770f077-f413-47de-9dac-be0b26a35da6'") from None
    if parsed.version != 4 or str(parsed) != value.lower() or len(value) != 36:
        raise ValueError(f"must be a UUID version 4 in canonical form (got version {parsed.version})")
    return value


def _http_uri(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("must be an absolute http(s) URI")
    return value


def _prompt(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _cfg_step(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    step = L.CFG_SCALE.step or 0.01
    if abs(round(value / step) * step - value) > 1e-9:
        raise ValueError(f"must be a multiple of {step} (got {value!r})")
    return value


def _reference(value: str) -> str:
    classify_reference(value)
    return value


def _upload_image(value: str) -> str:
    # "Image to upload (URL, Data URI, or Base64)" (docs, image upload); mediaStorage's media likewise.
    kind = classify_reference(value)
    if kind not in (RefKind.URL, RefKind.DATA_URI, RefKind.BASE64):
        raise ValueError("must be a public http(s) URL, a data URI or a base64-encoded image")
    return value


def _any_uuid(value: str) -> str:
    try:
        parsed = uuid_mod.UUID(value)
    except (ValueError, AttributeError, TypeError):
        parsed = None
    if parsed is None or len(value) != 36:
        raise ValueError("must be a UUID, e.g. 'a770f077-f413-47de-9dac-be0b26a35da6'")
    return value


UUID4 = Annotated[StrictStr, AfterValidator(_uuid_v4), Field(json_schema_extra={"format": "uuid"})]
AnyUUID = Annotated[StrictStr, AfterValidator(_any_uuid), Field(json_schema_extra={"format": "uuid"})]
UploadSource = Annotated[StrictStr, AfterValidator(_upload_image)]
HttpURI = Annotated[StrictStr, AfterValidator(_http_uri), Field(json_schema_extra={"format": "uri"})]
ReferenceImage = Annotated[StrictStr, AfterValidator(_reference)]


def _int(rng: L.NumberRange) -> dict[str, Any]:
    kw: dict[str, Any] = {"ge": int(rng.minimum)}
    if rng.maximum is not None:
        kw["le"] = int(rng.maximum)
    return kw


class Safety(BaseModel):
    model_config = _TASK_CONFIG

    check_content: StrictBool = Field(False, alias="checkContent")
    mode: Literal[L.SAFETY_MODES] | None = Field(  # type: ignore[valid-type]
        None, description="Default 'none'; 'fast' when checkContent is true and mode is not given."
    )

    @property
    def effective_mode(self) -> str:
        if self.mode is not None:
            return self.mode
        return "fast" if self.check_content else "none"

    @property
    def enabled(self) -> bool:
        return self.effective_mode != "none"


class Inputs(BaseModel):
    model_config = _TASK_CONFIG

    reference_images: list[ReferenceImage] | None = Field(None, alias="referenceImages")


def _wire_required(schema: dict[str, Any]) -> None:
    # taskType, model, width and height have Python defaults for convenience, but the wire
    # requires them, with a value: a JSON null width is no width.
    schema["required"] = sorted({*schema.get("required", []), *WIRE_REQUIRED})
    for name in WIRE_REQUIRED:
        prop = schema.get("properties", {}).get(name, {})
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        if prop.get("default", ...) is None:
            del prop["default"]


# Fields the API requires on the wire even where Python code may leave them out. The model
# page marks width and height "Required: true" (it also prints "Default: 1024", which is
# what Python code gets when it leaves them out: ``to_wire`` always sends both).
WIRE_REQUIRED = ("taskType", "model", "width", "height")


class ImageInferenceTask(BaseModel):
    """The imageInference task for GLM-Image, with every documented field."""

    model_config = ConfigDict(**_TASK_CONFIG, json_schema_extra=_wire_required)

    task_type: Literal["imageInference"] = Field("imageInference", alias="taskType")
    task_uuid: UUID4 = Field(alias="taskUUID")
    model: Literal[L.MODEL_ID] = L.MODEL_ID  # type: ignore[valid-type]
    positive_prompt: Annotated[
        StrictStr,
        Field(
            alias="positivePrompt",
            min_length=int(L.POSITIVE_PROMPT.minimum),
            max_length=int(L.POSITIVE_PROMPT.maximum or 0),
        ),
        AfterValidator(_prompt),
    ]
    width: StrictInt | None = Field(
        None, **_int(L.WIDTH), description="Required on the wire; Python code may leave it out (1024)."
    )
    height: StrictInt | None = Field(
        None, **_int(L.HEIGHT), description="Required on the wire; Python code may leave it out (1024)."
    )
    seed: StrictInt | None = Field(None, **_int(L.SEED))
    steps: StrictInt = Field(int(L.STEPS.default or 0), **_int(L.STEPS))
    cfg_scale: Annotated[
        StrictFloat,
        Field(
            alias="CFGScale",
            ge=L.CFG_SCALE.minimum,
            le=L.CFG_SCALE.maximum,
            json_schema_extra={"multipleOf": L.CFG_SCALE.step},
        ),
        AfterValidator(_cfg_step),
    ] = L.CFG_SCALE.default  # type: ignore[assignment]
    number_results: StrictInt = Field(
        int(L.NUMBER_RESULTS.default or 1), alias="numberResults", **_int(L.NUMBER_RESULTS)
    )
    output_type: Literal[L.OUTPUT_TYPES] = Field(L.DEFAULT_OUTPUT_TYPE, alias="outputType")  # type: ignore[valid-type]
    output_format: Literal[L.OUTPUT_FORMATS] = Field(L.DEFAULT_OUTPUT_FORMAT, alias="outputFormat")  # type: ignore[valid-type]
    output_quality: StrictInt = Field(
        int(L.OUTPUT_QUALITY.default or 95), alias="outputQuality", **_int(L.OUTPUT_QUALITY)
    )
    webhook_url: HttpURI | None = Field(None, alias="webhookURL")
    upload_endpoint: HttpURI | None = Field(None, alias="uploadEndpoint")
    delivery_method: Literal[L.DELIVERY_METHODS] = Field(L.DEFAULT_DELIVERY_METHOD, alias="deliveryMethod")  # type: ignore[valid-type]
    safety: Safety | None = None
    ttl: StrictInt | None = Field(None, **_int(L.TTL), description="Seconds; URL output only.")
    include_cost: StrictBool = Field(False, alias="includeCost")
    inputs: Inputs | None = None

    @model_validator(mode="after")
    def _width_with_height(self) -> ImageInferenceTask:
        if (self.width is None) != (self.height is None):
            missing = "height" if self.height is None else "width"
            given = "width" if missing == "height" else "height"
            raise PydanticCustomError(
                "width_height_together",
                "width and height must be used together: {given} was given without {missing}",
                {"parameter": missing, "given": given, "missing": missing},
            )
        return self

    # Derived values the mock and UI need.
    @property
    def effective_width(self) -> int:
        return self.width if self.width is not None else int(L.WIDTH.default or 1024)

    @property
    def effective_height(self) -> int:
        return self.height if self.height is not None else int(L.HEIGHT.default or 1024)

    @property
    def reference_images(self) -> list[str]:
        return list(self.inputs.reference_images or []) if self.inputs else []

    @property
    def safety_enabled(self) -> bool:
        return bool(self.safety and self.safety.enabled)

    def to_wire(self) -> dict[str, Any]:
        """The request as the API expects it: wire names, the fields that were set and the
        ones the wire requires (taskType, model, and width and height, 1024 when left out)."""
        data = self.model_dump(by_alias=True, exclude_unset=True, mode="json")
        data["taskType"] = self.task_type
        data["model"] = self.model
        data["width"] = self.effective_width
        data["height"] = self.effective_height
        return data


class AuthenticationTask(BaseModel):
    model_config = _TASK_CONFIG

    task_type: Literal["authentication"] = Field("authentication", alias="taskType")
    api_key: StrictStr = Field(alias="apiKey", min_length=1, repr=False)
    connection_session_uuid: StrictStr | None = Field(None, alias="connectionSessionUUID")


class PingTask(BaseModel):
    model_config = _TASK_CONFIG

    task_type: Literal["ping"] = Field("ping", alias="taskType")
    ping: StrictBool = True
    task_uuid: UUID4 | None = Field(None, alias="taskUUID")


class GetResponseTask(BaseModel):
    model_config = _TASK_CONFIG

    task_type: Literal["getResponse"] = Field("getResponse", alias="taskType")
    task_uuid: UUID4 = Field(alias="taskUUID")


class GetTaskDetailsTask(BaseModel):
    model_config = _TASK_CONFIG

    task_type: Literal["getTaskDetails"] = Field("getTaskDetails", alias="taskType")
    task_uuid: UUID4 = Field(alias="taskUUID")


class ImageUploadTask(BaseModel):
    """Deprecated by runware-sdk 1.8 in favour of mediaStorage; still answered."""

    model_config = _TASK_CONFIG

    task_type: Literal["imageUpload"] = Field("imageUpload", alias="taskType")
    task_uuid: UUID4 = Field(alias="taskUUID")
    image: UploadSource


def _needs(parameter: str, operation: str) -> PydanticCustomError:
    return PydanticCustomError(
        "operation_needs",
        "required when operation is '{operation}'",
        {"parameter": parameter, "operation": operation},
    )


class MediaStorageTask(BaseModel):
    """Store a picture (``upload``: media in, mediaUUID and mediaURL out) or forget one (``delete``).

    A mediaUUID works wherever an imageUUID does. Source: runware-sdk 1.8 (MediaStorageParams).
    """

    model_config = _TASK_CONFIG

    task_type: Literal["mediaStorage"] = Field("mediaStorage", alias="taskType")
    task_uuid: UUID4 = Field(alias="taskUUID")
    operation: Literal[L.MEDIA_OPERATIONS]  # type: ignore[valid-type]
    media: UploadSource | None = Field(None, description="upload: a public URL, a data URI or base64.")
    media_uuid: AnyUUID | None = Field(None, alias="mediaUUID", description="delete: the media to forget.")

    @model_validator(mode="after")
    def _operation_fields(self) -> MediaStorageTask:
        if self.operation == "upload" and self.media is None:
            raise _needs("media", "upload")
        if self.operation == "delete" and self.media_uuid is None:
            raise _needs("mediaUUID", "delete")
        return self


class AccountManagementTask(BaseModel):
    """Read the account: ``getDetails`` (balance, organization, team). Source: docs, account management."""

    model_config = _TASK_CONFIG

    task_type: Literal["accountManagement"] = Field("accountManagement", alias="taskType")
    task_uuid: UUID4 = Field(alias="taskUUID")
    operation: Literal[L.ACCOUNT_OPERATIONS]  # type: ignore[valid-type]


Task = (
    ImageInferenceTask
    | AuthenticationTask
    | PingTask
    | GetResponseTask
    | GetTaskDetailsTask
    | ImageUploadTask
    | MediaStorageTask
    | AccountManagementTask
)

TASK_MODELS: dict[str, type[BaseModel]] = {
    "imageInference": ImageInferenceTask,
    "authentication": AuthenticationTask,
    "ping": PingTask,
    "getResponse": GetResponseTask,
    "getTaskDetails": GetTaskDetailsTask,
    "imageUpload": ImageUploadTask,
    "mediaStorage": MediaStorageTask,
    "accountManagement": AccountManagementTask,
}


def new_task_uuid() -> str:
    return str(uuid_mod.uuid4())
