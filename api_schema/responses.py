"""Response items and the {"data": [...], "errors": [...]} envelope."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Responses may carry fields the live API adds later; keep them rather than fail.
_RESPONSE_CONFIG = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)

IMAGE_FIELDS = ("imageURL", "imageBase64Data", "imageDataURI")


class ErrorItem(BaseModel):
    """One Runware error: code, message, and what it is about."""

    model_config = _RESPONSE_CONFIG

    code: str
    message: str
    parameter: str | None = None
    type: str | None = None
    documentation: str | None = None
    task_type: str | None = Field(None, alias="taskType")
    task_uuid: str | None = Field(None, alias="taskUUID")

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ImageInferenceResult(BaseModel):
    """One generated image, as returned by imageInference (or getResponse on success)."""

    model_config = _RESPONSE_CONFIG

    task_type: Literal["imageInference"] = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    image_uuid: str = Field(alias="imageUUID")
    image_url: str | None = Field(None, alias="imageURL")
    image_base64_data: str | None = Field(None, alias="imageBase64Data")
    image_data_uri: str | None = Field(None, alias="imageDataURI")
    seed: int
    nsfw_content: bool | None = Field(None, alias="NSFWContent")
    cost: float | None = None

    @model_validator(mode="after")
    def _exactly_one_image(self) -> ImageInferenceResult:
        present = [
            name
            for name, value in zip(
                IMAGE_FIELDS, (self.image_url, self.image_base64_data, self.image_data_uri), strict=True
            )
            if value is not None
        ]
        if len(present) != 1:
            raise ValueError(
                "a result must carry exactly one of imageURL, imageBase64Data, imageDataURI"
                f" (got {', '.join(present) or 'none'})"
            )
        return self

    @property
    def output_type(self) -> str:
        if self.image_url is not None:
            return "URL"
        return "base64Data" if self.image_base64_data is not None else "dataURI"

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class TaskAck(BaseModel):
    """Acknowledgement of an async or webhook task: just the task's identity."""

    model_config = _RESPONSE_CONFIG

    task_type: str = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")


class GetResponseItem(BaseModel):
    """An item of a getResponse answer: its status, plus the result fields on success."""

    model_config = _RESPONSE_CONFIG

    task_type: str = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    status: Literal["processing", "success", "error"]
    image_uuid: str | None = Field(None, alias="imageUUID")

    def result(self) -> ImageInferenceResult:
        """The finished image; only valid when status is success."""
        return ImageInferenceResult.model_validate(self.model_dump(by_alias=True))


class AuthenticationResult(BaseModel):
    model_config = _RESPONSE_CONFIG

    task_type: Literal["authentication"] = Field(alias="taskType")
    connection_session_uuid: str = Field(alias="connectionSessionUUID")


class PingResult(BaseModel):
    model_config = _RESPONSE_CONFIG

    task_type: Literal["ping"] = Field(alias="taskType")
    pong: bool


class ImageUploadResult(BaseModel):
    model_config = _RESPONSE_CONFIG

    task_type: Literal["imageUpload"] = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    image_uuid: str = Field(alias="imageUUID")
    image_url: str | None = Field(None, alias="imageURL")


class MediaStorageResult(BaseModel):
    """mediaStorage: ``upload`` answers mediaUUID and mediaURL, ``delete`` the mediaUUID it forgot."""

    model_config = _RESPONSE_CONFIG

    task_type: Literal["mediaStorage"] = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    operation: str
    media_uuid: str = Field(alias="mediaUUID")
    media_url: str | None = Field(None, alias="mediaURL")


class AccountManagementResult(BaseModel):
    """accountManagement ``getDetails``: the account. Only ``balance`` is relied on here; the docs'
    example carries it as a number (USD), runware-sdk's generated types as an object (UNCERTAIN)."""

    model_config = _RESPONSE_CONFIG

    task_type: Literal["accountManagement"] = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    operation: str
    balance: float | dict[str, Any] | None = None


class Envelope(BaseModel):
    """The body of every answer: data items and error items, either may be empty."""

    model_config = ConfigDict(extra="allow")

    data: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[ErrorItem] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.data or not self.errors:
            body["data"] = self.data
        if self.errors:
            body["errors"] = [e.to_wire() for e in self.errors]
        return body
