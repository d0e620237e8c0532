"""Copyable snippets (curl and Python) that repeat a request against the active backend.

They run as printed: each sends a fresh taskUUID (a reused one is a conflict), the
reference pictures a visitor uploaded are inlined in full as data URIs, and the
endpoint is the one the page used (the app's own ``/v1`` for its built-in mock). The
key is always a placeholder (``$RUNWARE_API_KEY``); the real one never reaches a snippet.
"""

from __future__ import annotations

import json
from typing import Any, Literal

Where = Literal["here", "mock", "live"]

HINTS: dict[str, str] = {
    "here": "Mock backend, served by this app at this address: any key works.",
    "mock": "Mock backend: `python -m mock_api` must be running there (any non-empty key is accepted).",
    "live": "Live Runware API: uses your credits.",
}
UUID_MARK = "@TASK_UUID@"  # replaced with a fresh UUID v4 when the curl snippet runs


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


def _key(where: Where) -> str:
    return "$RUNWARE_API_KEY" if where == "live" else "${RUNWARE_API_KEY:-mock-key}"


def curl_snippet(request: dict[str, Any], endpoint: str, where: Where) -> str:
    task = {**_strip_secrets(request), "taskUUID": UUID_MARK}
    body = json.dumps([task], indent=2, ensure_ascii=False)
    auth = f'-H "Authorization: Bearer {_key(where)}"'
    lines = [
        f"# {HINTS[where]}",
        "# Each run sends a fresh taskUUID (sending one twice is a conflictTaskUUID error).",
        "TASK_UUID=$(python3 -c 'import uuid; print(uuid.uuid4())')",
        f"sed \"s/{UUID_MARK}/$TASK_UUID/\" <<'JSON' | curl -sS {endpoint} \\",
        f"  {auth} \\",
        '  -H "Content-Type: application/json" \\',
        "  --data-binary @-",
        body,
        "JSON",
    ]
    if task.get("deliveryMethod") == "async":
        poll = '[{"taskType": "getResponse", "taskUUID": "\'"$TASK_UUID"\'"}]'
        lines += [
            "# Async delivery: that answer only acknowledges the task. Ask for the results:",
            f"sleep 3; curl -sS {endpoint} {auth} -H \"Content-Type: application/json\" -d '{poll}'",
        ]
    return "\n".join(lines) + "\n"


def python_snippet(request: dict[str, Any], endpoint: str, where: Where) -> str:
    task = _strip_secrets(request)
    is_async = task.get("deliveryMethod") == "async"
    if where == "live":
        key_line = 'API_KEY = os.environ["RUNWARE_API_KEY"]'
    else:
        key_line = 'API_KEY = os.environ.get("RUNWARE_API_KEY", "mock-key")'
    parts = [
        f"# {HINTS[where]}",
        "import os",
        *(["import time"] if is_async else []),
        "import uuid",
        "",
        "import httpx",
        "",
        f'URL = "{endpoint}"',
        key_line,
        "",
        f"task = {py_literal(task)}",
        'task["taskUUID"] = str(uuid.uuid4())  # a fresh one per request',
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
