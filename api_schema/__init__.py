"""The Runware contract for GLM-Image (runware:glm-image@0), as pydantic v2 models.

Imports nothing else of this project. Bounds and defaults live in ``limits``;
error codes in ``errors.PARAMS``; the documented examples in ``examples/``.
"""

from . import limits
from .errors import PARAMS, make_error, validation_errors
from .examples import DOCUMENTED_REFERENCE_URLS, Example, load_examples, load_exchange
from .limits import MODEL_ID
from .parse import check_task, parse_task, wire_field_names
from .refs import RefKind, classify_reference, sniff_mime
from .responses import (
    AccountManagementResult,
    AuthenticationResult,
    Envelope,
    ErrorItem,
    GetResponseItem,
    ImageInferenceResult,
    ImageUploadResult,
    MediaStorageResult,
    PingResult,
    TaskAck,
)
from .tasks import (
    TASK_MODELS,
    AccountManagementTask,
    AuthenticationTask,
    GetResponseTask,
    GetTaskDetailsTask,
    ImageInferenceTask,
    ImageUploadTask,
    Inputs,
    MediaStorageTask,
    PingTask,
    Safety,
    Task,
    new_task_uuid,
)

__all__ = [
    "DOCUMENTED_REFERENCE_URLS",
    "MODEL_ID",
    "PARAMS",
    "TASK_MODELS",
    "AccountManagementResult",
    "AccountManagementTask",
    "AuthenticationResult",
    "AuthenticationTask",
    "Envelope",
    "ErrorItem",
    "Example",
    "GetResponseItem",
    "GetResponseTask",
    "GetTaskDetailsTask",
    "ImageInferenceResult",
    "ImageInferenceTask",
    "ImageUploadResult",
    "ImageUploadTask",
    "Inputs",
    "MediaStorageResult",
    "MediaStorageTask",
    "PingResult",
    "PingTask",
    "RefKind",
    "Safety",
    "Task",
    "TaskAck",
    "check_task",
    "classify_reference",
    "limits",
    "load_examples",
    "load_exchange",
    "make_error",
    "new_task_uuid",
    "parse_task",
    "sniff_mime",
    "validation_errors",
    "wire_field_names",
]
