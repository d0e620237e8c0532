"""OpenAPI documentation of the mock's routes, with the api_schema task models.

``POST /v1`` reads its body by hand (to answer every malformation Runware-style),
so FastAPI cannot infer its schema; it is declared here from the same pydantic
models that validate it, and ``component_schemas()`` adds those models to the spec.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic.json_schema import models_json_schema

from api_schema import TASK_MODELS, Envelope, ErrorItem

_REF = "#/components/schemas/{model}"


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
    }


POST_V1_DOCS: dict[str, Any] = {
    "summary": "Run tasks (the Runware REST endpoint)",
    "description": (
        "A JSON array of tasks: authentication, ping, imageInference, imageUpload, mediaStorage, "
        "accountManagement, getResponse, getTaskDetails. Authenticate "
        "with `Authorization: Bearer <key>` or an authentication task. Each task succeeds or fails "
        "on its own; answers share one envelope."
    ),
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "oneOf": [{"$ref": _REF.format(model=m.__name__)} for m in TASK_MODELS.values()]
                        },
                    }
                }
            },
        }
    },
    "responses": {
        200: _error_response("Envelope with data items (and error items for tasks that failed)"),
        400: _error_response("Invalid request: one error item per violation"),
        401: _error_response("Missing or invalid API key"),
        402: _error_response("Insufficient account balance (insufficientCredits)"),
        403: _error_response("The key lacks permission (insufficientPermissions; injected faults only)"),
        404: _error_response("An unknown or expired taskUUID (getResponse, getTaskDetails) or mediaUUID"),
        413: _error_response("Request body too large"),
    },
}

IMAGE_DOCS: dict[str, Any] = {
    "summary": "An image served by the mock",
    "responses": {
        200: {
            "description": "The image bytes",
            "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
        },
        404: _error_response("Unknown or expired image"),
    },
}

HEALTH_DOCS: dict[str, Any] = {"summary": "Liveness check"}


# What "UUID v4 in canonical form" means, for tools that generate requests from the spec.
UUID4_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def _add_uuid_patterns(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "uuid" and node.get("type") == "string":
            node.setdefault("pattern", UUID4_PATTERN)
        for value in node.values():
            _add_uuid_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _add_uuid_patterns(value)


@lru_cache(maxsize=1)
def component_schemas() -> dict[str, Any]:
    """The task, envelope and error models as OpenAPI component schemas (do not mutate)."""
    models = [(m, "validation") for m in TASK_MODELS.values()]
    models += [(Envelope, "serialization"), (ErrorItem, "serialization")]
    _, top = models_json_schema(models, by_alias=True, ref_template=_REF)
    schemas = top.get("$defs", {})
    for model in TASK_MODELS.values():
        schema = schemas.get(model.__name__, {})
        required = schema.setdefault("required", [])
        if "taskType" not in required:  # the wire needs it even though Python has a default
            required.insert(0, "taskType")
    _add_uuid_patterns(schemas)
    return schemas
