"""The MCP endpoint of the launched app (GLM_IMAGE_MCP=1), driven by the ``mcp`` package's
client over streamable HTTP, as an agent's host would: one described generation tool, a
call that returns an image of the requested size and the text check of its quoted strings.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import mcp  # a runtime requirement (gradio[mcp]): missing, this file must fail, not skip
import pytest
from gradio_client import Client
from mcp.client import streamable_http
from PIL import Image

from api_schema import limits
from mock_api.images.signs import fallback_font_path
from mock_api.testing import quiet_env
from tests.support.appserver import run_app
from tests.support.snippets import RUN_TIMEOUT_S, readme_snippets

pytestmark = pytest.mark.timeout(240)

CALL_TIMEOUT_S = 120  # one tool call: a generation and its text check, on a busy 2-core machine
PARAMETERS = ["prompt", "width", "height", "seed", "steps", "cfg_scale", "output_format", "reference_image"]


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with run_app(GLM_IMAGE_MCP="1") as url:
        yield url


@asynccontextmanager
async def session(app_url: str) -> AsyncIterator[object]:
    """An initialised MCP client session on the app's streamable HTTP endpoint."""
    endpoint = f"{app_url}/gradio_api/mcp/"
    async with (
        httpx.AsyncClient(timeout=CALL_TIMEOUT_S, trust_env=False) as http,
        streamable_http.streamable_http_client(endpoint, http_client=http) as (read, write, _),
        mcp.ClientSession(read, write) as client,
    ):
        await asyncio.wait_for(client.initialize(), CALL_TIMEOUT_S)
        yield client


async def call(client, arguments: dict) -> object:
    return await asyncio.wait_for(client.call_tool("generate_image", arguments), CALL_TIMEOUT_S)


def report_of(result) -> dict:
    (text,) = [c.text for c in result.content if c.type == "text" and c.text.startswith("{")]
    return json.loads(text)


async def test_the_server_lists_one_described_generation_tool(app_url: str):
    async with session(app_url) as client:
        tools = (await asyncio.wait_for(client.list_tools(), CALL_TIMEOUT_S)).tools
    assert [t.name for t in tools] == ["generate_image"]  # no other event leaks as a tool
    (tool,) = tools
    for words in ("GLM-Image", "text inside pictures", "double quotes", "one image per call", "imageUUID"):
        assert words in tool.description, words
    assert "Mock backend" in tool.description  # says which backend answers
    schema = tool.inputSchema
    assert list(schema["properties"]) == PARAMETERS
    assert schema["required"] == ["prompt"]
    props = schema["properties"]
    assert all(p["description"] for p in props.values()), props
    assert props["width"]["type"] == "integer" and props["width"]["default"] == limits.WIDTH.default
    assert "between 128 and 2048" in props["width"]["description"]
    assert props["output_format"]["enum"] == list(limits.OUTPUT_FORMATS)
    assert props["cfg_scale"]["type"] == "number" and props["steps"]["default"] == limits.STEPS.default


async def test_a_call_returns_the_image_and_the_text_check_of_its_quoted_strings(app_url: str):
    bilingual = fallback_font_path() is not None  # the previews draw Chinese only with a CJK font
    prompt = 'A tea shop sign that reads "OPEN DAILY"' + (' above a banner "欢迎光临"' if bilingual else "")
    async with session(app_url) as client:
        result = await call(client, {"prompt": prompt, "width": 512, "height": 384, "seed": 42})
        assert not result.isError, result.content
        image, url, _ = result.content
        assert (image.type, image.mimeType) == ("image", "image/jpeg")
        picture = Image.open(io.BytesIO(base64.b64decode(image.data)))
        assert picture.size == (512, 384)
        with httpx.Client(timeout=30, trust_env=False) as http:  # the URL an agent can fetch
            fetched = http.get(url.text.removeprefix("Image URL: "))
        assert Image.open(io.BytesIO(fetched.content)).size == (512, 384)
        report = report_of(result)
        assert report["seed"] == 42 and (report["width"], report["height"]) == (512, 384)
        check = report["text_check"]
        expected = ["OPEN DAILY", "欢迎光临"] if bilingual else ["OPEN DAILY"]
        assert check["headers"] == ["image", "asked for", "read", "score", "ok"]
        assert [(row[1], row[4]) for row in check["data"]] == [(s, "✓") for s in expected], check
        assert check["summary"] == f"Text check: {len(expected)} of {len(expected)} strings written correctly"

        # The imageUUID edits that picture on the next call (image to image).
        edit_args = {"prompt": 'Add a banner that reads "SALE"', "reference_image": report["imageUUID"]}
        edit = await call(client, edit_args)
        assert not edit.isError, edit.content
        assert report_of(edit)["imageUUID"] != report["imageUUID"]


async def test_a_bad_argument_is_a_tool_error_in_runwares_words(app_url: str):
    async with session(app_url) as client:
        result = await call(client, {"prompt": 'A sign "X"', "width": 5000})
    assert result.isError
    (text,) = [c.text for c in result.content]
    assert "invalidWidth" in text and "must be between 128 and 2048 (got 5000)" in text
    assert "Traceback" not in text


async def test_a_bad_reference_is_named_by_the_tools_own_parameter(app_url: str):
    # The page's "Reference images › Reference URLs or imageUUIDs" means nothing to an agent.
    async with session(app_url) as client:
        result = await call(client, {"prompt": 'A sign "X"', "reference_image": "Hello!!"})
    assert result.isError
    (text,) = [c.text for c in result.content]
    assert "reference_image: invalidReferenceImages" in text
    assert "Reference URLs" not in text and "Traceback" not in text


def test_generate_stays_public_for_gradio_client_but_is_not_a_tool(app_url: str):
    client = Client(app_url, verbose=False, download_files=False)
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/generate", "/generate_image"}
    out = client.predict(positive_prompt="A quiet harbour", width=256, height=256, api_name="/generate")
    gallery, *_, text_check = out
    assert len(gallery) == 1 and text_check["data"] == []


def test_the_readme_mcp_snippet_runs_as_printed(app_url: str):
    code = readme_snippets()["mcp-client"].replace("http://127.0.0.1:7860", app_url)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=quiet_env()
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "['generate_image']", proc.stdout
    assert lines[1] == "image image/jpeg 768x512", proc.stdout
    assert lines[-1] == "Text check: 1 of 1 string written correctly", proc.stdout
