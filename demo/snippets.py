"""Copyable snippets (curl and Python) that repeat a request against the active backend.

The key is always a placeholder (``$RUNWARE_API_KEY``); the real one never reaches
a snippet. Snippets are built from the exact wire dict the client sent.
"""

from __future__ import annotations

import json
from typing import Any

MOCK_HINT = "Mock backend: start it first with `python -m mock_api` (any non-empty key is accepted)."
FRESH_UUID_HINT = "taskUUID must be unique per task: use a fresh UUID v4 (e.g. `uuidgen`) to send it again."


def _strip_secrets(request: dict[str, Any]) -> dict[str, Any]:
    # The client never puts a key in the task; this guards against a future change.
    return {k: v for k, v in request.items() if k.lower() not in ("apikey", "authorization")}


def py_literal(value: Any, indent: int = 0) -> str:
    """A Python literal for a JSON value, laid out like indented JSON."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, dict) and value:
        items = [f"{inner}{k!r}: {py_literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        items = [f"{inner}{py_literal(v, indent + 4)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    return repr(value)


def curl_snippet(request: dict[str, Any], base_url: str, backend_kind: str) -> str:
    body = json.dumps([_strip_secrets(request)], indent=2, ensure_ascii=False)
    key = "${RUNWARE_API_KEY:-mock-key}" if backend_kind == "mock" else "$RUNWARE_API_KEY"
    lines = []
    if backend_kind == "mock":
        lines.append(f"# {MOCK_HINT}")
    lines += [
        f"# {FRESH_UUID_HINT}",
        f"curl -sS {base_url} \\",
        f'  -H "Authorization: Bearer {key}" \\',
        '  -H "Content-Type: application/json" \\',
        "  --data-binary @- <<'JSON'",
        body,
        "JSON",
    ]
    return "\n".join(lines) + "\n"


def python_snippet(request: dict[str, Any], base_url: str, backend_kind: str) -> str:
    task = _strip_secrets(request)
    is_async = task.get("deliveryMethod") == "async"
    literal = py_literal(task)
    if backend_kind == "mock":
        key_line = 'API_KEY = os.environ.get("RUNWARE_API_KEY", "mock-key")'
        header = f"# {MOCK_HINT}\n"
    else:
        key_line = 'API_KEY = os.environ["RUNWARE_API_KEY"]'
        header = ""
    parts = [
        header + "import os\n" + ("import time\n" if is_async else "") + "import uuid\n\nimport httpx\n",
        f'URL = "{base_url}"',
        key_line,
        "",
        f"task = {literal}",
        f'task["taskUUID"] = str(uuid.uuid4())  # {FRESH_UUID_HINT.split(":")[0]}',
        "",
        'headers = {"Authorization": f"Bearer {API_KEY}"}',
        "with httpx.Client(headers=headers, timeout=120) as client:",
        "    body = client.post(URL, json=[task]).json()",
    ]
    if is_async:
        parts += [
            "    # Async delivery: the first answer only acknowledges; poll getResponse.",
            "    poll = [{'taskType': 'getResponse', 'taskUUID': task['taskUUID']}]",
            "    for _ in range(60):",
            "        time.sleep(2)",
            "        body = client.post(URL, json=poll).json()",
            "        busy = [i for i in body.get('data', []) if i.get('status') == 'processing']",
            "        if body.get('errors') or (body.get('data') and not busy):",
            "            break",
        ]
    parts += [
        "",
        'for error in body.get("errors", []):',
        '    print("error:", error["code"], error["message"])',
        'for item in body.get("data", []):',
        '    image = item.get("imageURL") or "(inline image data)"',
        '    print(item.get("imageUUID"), "seed", item.get("seed"), "cost", item.get("cost"), image)',
    ]
    return "\n".join(parts) + "\n"
