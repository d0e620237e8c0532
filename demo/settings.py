"""Configuration from the environment (pydantic-settings).

=====================  =========================================================
RUNWARE_API_KEY        the Runware key (secret; empty counts as unset)
GLM_IMAGE_BACKEND      auto | live | mock  (auto: live when a key is set, else mock)
RUNWARE_API_URL        live endpoint, default https://api.runware.ai/v1
MOCK_API_URL           a running ``python -m mock_api`` (e.g. http://127.0.0.1:8808/v1);
                       unset: the mock runs inside this process
MOCK_API_KEY           key sent to the mock (default "mock-key"; any works unless the
                       mock was started with --require-key)
MOCK_SPEED             in-process mock's simulated processing time for async delivery,
                       as a factor of the mock's default (default 0.2; 0 = instant)
RUNWARE_TIMEOUT        seconds per HTTP call (default 30)
RUNWARE_DEADLINE       seconds per generation, polling included (default 300)
RUNWARE_MAX_RETRIES    retries of a transient failure (default 3)
RUNWARE_RECORD_DIR     record every exchange into this folder (see README, "Recording")
GLM_IMAGE_TEXT_CHECK   1 | 0: read the quoted text back from each result with OCR (default 1)
GLM_IMAGE_DISK_MB      the most disk the app's result files and Gradio's cache may take
                       together; the oldest files go first (default 2048)
GLM_IMAGE_MOCK_OUTBOUND  1 | 0: let the in-process mock deliver webhooks and uploads to
                       this machine's loopback (default 0: it sends nothing at all)
=====================  =========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api_schema import limits


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


# Field name -> the one environment variable it is read from. Only these names are
# read: a generic TIMEOUT or BACKEND in the environment must not configure us.
ENV_NAMES = {
    "api_key": "RUNWARE_API_KEY",
    "backend": "GLM_IMAGE_BACKEND",
    "api_url": "RUNWARE_API_URL",
    "mock_api_url": "MOCK_API_URL",
    "mock_api_key": "MOCK_API_KEY",
    "mock_speed": "MOCK_SPEED",
    "timeout": "RUNWARE_TIMEOUT",
    "deadline": "RUNWARE_DEADLINE",
    "max_retries": "RUNWARE_MAX_RETRIES",
    "record_dir": "RUNWARE_RECORD_DIR",
    "text_check": "GLM_IMAGE_TEXT_CHECK",
    "disk_mb": "GLM_IMAGE_DISK_MB",
    "mock_outbound": "GLM_IMAGE_MOCK_OUTBOUND",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    def __init__(self, **values: Any) -> None:
        # Python callers use field names (Settings(timeout=5)); the sources know only
        # the variable names, so translate rather than let the env source match both.
        super().__init__(**{ENV_NAMES.get(k, k): v for k, v in values.items()})

    api_key: SecretStr | None = Field(None, validation_alias=ENV_NAMES["api_key"])
    backend: Literal["auto", "live", "mock"] = Field("auto", validation_alias=ENV_NAMES["backend"])
    api_url: str = Field(limits.API_URL, validation_alias=ENV_NAMES["api_url"])
    mock_api_url: str | None = Field(None, validation_alias=ENV_NAMES["mock_api_url"])
    mock_api_key: SecretStr = Field(SecretStr("mock-key"), validation_alias=ENV_NAMES["mock_api_key"])
    # A demo on the in-process mock should feel quick; QA wanting the realistic pace
    # runs `python -m mock_api` (speed 1) and points MOCK_API_URL at it.
    mock_speed: float = Field(0.2, ge=0, le=100, validation_alias=ENV_NAMES["mock_speed"])
    timeout: float = Field(30.0, gt=0, le=3600, validation_alias=ENV_NAMES["timeout"])
    deadline: float = Field(300.0, gt=0, le=86400, validation_alias=ENV_NAMES["deadline"])
    max_retries: int = Field(3, ge=0, le=10, validation_alias=ENV_NAMES["max_retries"])
    record_dir: Path | None = Field(None, validation_alias=ENV_NAMES["record_dir"])
    text_check: bool = Field(True, validation_alias=ENV_NAMES["text_check"])
    # A Space's disk is ~50 GB: results and Gradio's copies of them stay within this.
    disk_mb: int = Field(2048, ge=8, le=1024 * 1024, validation_alias=ENV_NAMES["disk_mb"])
    # Off by default: on a public Space any visitor's webhook URL or upload endpoint would
    # make the server call its own loopback (SSRF). On for local testing of a receiver.
    mock_outbound: bool = Field(False, validation_alias=ENV_NAMES["mock_outbound"])

    @field_validator("backend", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None
        return raw.strip() if isinstance(raw, str) else value

    @field_validator("api_url", "mock_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL such as http://127.0.0.1:8808/v1 (got {value!r})")
        return value.rstrip("/") if parts.path not in ("", "/") else value

    @property
    def has_key(self) -> bool:
        return self.api_key is not None

    @property
    def resolved_backend(self) -> str:
        if self.backend == "auto":
            return "live" if self.has_key else "mock"
        return self.backend


def load_settings(**overrides: object) -> Settings:
    """Read the environment; SettingsError names the variable and says what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = str(err["loc"][0]) if err["loc"] else ""
            name = ENV_NAMES.get(loc, loc.upper())
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("Invalid configuration: " + "; ".join(problems)) from None
