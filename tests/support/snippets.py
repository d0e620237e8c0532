"""Run the page's copyable snippets as a user would paste them: bash for curl, Python for httpx;
and find README's named snippets (``<!-- snippet: name -->`` before a python block).

``endpoint`` points a snippet at another backend than the one it names (the same text
with the URL swapped). Every run is bounded in time and sends only to loopback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from mock_api.testing import ROOT, quiet_env

RUN_TIMEOUT_S = 120
README_SNIPPET = re.compile(r"<!-- snippet: (?P<name>[\w-]+) -->\n```python\n(?P<code>.*?)```", re.S)


def readme_snippets() -> dict[str, str]:
    """README's named Python snippets, as printed: name -> code."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {m["name"]: m["code"] for m in README_SNIPPET.finditer(text)}


def _retarget(snippet: str, endpoint: str | None) -> str:
    if endpoint is None:
        return snippet
    named = re.search(r"https?://[^\s\"']+/v1\b", snippet)
    assert named, "the snippet names no endpoint"
    return snippet.replace(named.group(0), endpoint)


def run_curl(snippet: str, endpoint: str | None = None) -> dict[str, Any]:
    """The JSON body the curl snippet's (last) request answered."""
    proc = subprocess.run(
        ["bash", "-c", _retarget(snippet, endpoint)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=quiet_env(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    bodies = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert bodies, f"no JSON answer: {proc.stdout[-1000:]} {proc.stderr[-1000:]}"
    return bodies[-1]


def run_python(snippet: str, endpoint: str | None = None) -> list[dict[str, str]]:
    """What the Python snippet printed: one dict (imageUUID, seed, url) per image; errors fail."""
    proc = subprocess.run(
        [sys.executable, "-c", _retarget(snippet, endpoint)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=quiet_env(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "error:" not in proc.stdout, proc.stdout
    images = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "seed":
            images.append({"imageUUID": parts[0], "seed": parts[2], "url": parts[-1]})
    assert images, proc.stdout
    return images
