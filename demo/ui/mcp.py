"""The MCP tool (``GLM_IMAGE_MCP=1``): one generation tool that reads well to an agent.

Gradio makes every public endpoint an MCP tool, named after its function, described by
its docstring (the lines before ``Args:``; each ``Args:`` line describes a parameter) and
typed by its input components. ``/generate``'s twenty form fields (webhooks, upload
endpoints, a visitor's key) and its eight outputs (snippets, raw JSON) would read badly,
so the agent gets ``generate_image``: a few named parameters, one image per call as image
content (with a URL to fetch it), and a JSON report with the seed, the imageUUID (pass it
back as ``reference_image`` to edit the picture) and the text check.

It runs unqueued: Gradio's queued tools answer a client that asks for no progress with
the repr of all outputs as one text (gradio 6.31), and the unqueued path returns each
output as its own content. A semaphore keeps the generation bound the queue would give.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import gradio as gr

from api_schema import limits

from ..textcheck import PASS_SCORE
from . import fields as F
from .events import CONCURRENCY
from .generate import GenerateHandler, View, public_base
from .text_check import TextCheckView

TOOL = "generate_image"  # the tool's name (Gradio prefixes it with the Space's name on a Space)
# Defaults an agent sees (in the schema) and gets when it leaves a parameter out.
WIDTH, HEIGHT = int(limits.WIDTH.default or 1024), int(limits.HEIGHT.default or 1024)
STEPS, CFG_SCALE = int(limits.STEPS.default or 1), float(limits.CFG_SCALE.default or 1)


def _describe(backend_label: str) -> str:
    """The tool's docstring: what Gradio shows an agent as description and parameters
    (the description's lines are joined; each parameter's must stay on one line)."""
    size = f"{limits.WIDTH.describe()} pixels (default {WIDTH})"
    grid = f"multiples of {limits.SIZE_GRID} work best"
    description = [
        "Generate an image with GLM-Image, Z.ai's image model served by Runware.",
        "It is at its best writing legible text inside pictures (signs, posters, menus, labels,",
        "book covers, slides; English and Chinese) and follows long, detailed prompts.",
        "Put every piece of text the picture must show in double quotes, e.g.",
        'A bakery window with a hand-painted sign that reads "FRESH BREAD".',
        "Each quoted string is read back from the result with OCR and scored.",
        "Makes one image per call: call again with another seed for a variation, or pass",
        "the imageUUID of a result as reference_image to edit that picture.",
        f"Backend of this server: {backend_label}.",
    ]
    args = {
        "prompt": f'What to draw, text to show in "double quotes"; '
        f"{limits.POSITIVE_PROMPT.describe()} characters.",
        "width": f"Image width, {size}; {grid}.",
        "height": f"Image height, {size}; {grid}.",
        "seed": f"Seed for a reproducible image, {int(limits.SEED.minimum)} to {limits.SEED_MAX}; "
        "leave it out for a random one.",
        "steps": f"Denoising steps, {limits.STEPS.describe()} (default {STEPS}).",
        "cfg_scale": f"How closely to follow the prompt, {limits.CFG_SCALE.describe()} "
        f"(default {CFG_SCALE:g}).",
        "output_format": f"File format of the image: {', '.join(limits.OUTPUT_FORMATS)} "
        f"(default {limits.DEFAULT_OUTPUT_FORMAT}).",
        "reference_image": "Optional picture to edit (image to image): an https URL, "
        "or the imageUUID of an earlier result of this tool.",
    }
    returns = (
        "The image (image content, then its URL) and a JSON report: seed, imageUUID, width, "
        "height, format, cost in USD and text_check (its summary, and one row per quoted string: "
        f"image, asked for, read, score 0-100, ok: ✓ at {PASS_SCORE} or more)."
    )
    lines = [*description, "", "Args:", *(f"    {k}: {v}" for k, v in args.items()), "", "Returns:"]
    return "\n".join([*lines, f"    {returns}"])


def add_mcp_tool(handler: GenerateHandler, text: TextCheckView) -> None:
    """Register ``generate_image``; call inside the ``gr.Blocks`` of the page."""
    bound = asyncio.Semaphore(CONCURRENCY)

    async def generate_image(
        prompt: str,
        width: int = WIDTH,
        height: int = HEIGHT,
        seed: int | None = None,
        steps: int = STEPS,
        cfg_scale: float = CFG_SCALE,
        output_format: str = limits.DEFAULT_OUTPUT_FORMAT,
        reference_image: str = "",
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> tuple[str, str]:
        values = {f.name: f.value for f in F.FIELDS}
        values.update(
            positive_prompt=prompt,
            width=width,
            height=height,
            seed="" if seed is None else seed,
            randomize_seed=seed is None,
            steps=steps,
            cfg_scale=cfg_scale,
            output_format=output_format,
            reference_urls=reference_image or "",
            number_results=1,
        )
        async with bound:
            views = [view async for view in handler.run(values, public_base(request), name=_parameter)]
            final = views[-1]
            if not final.files:
                raise gr.Error("No image came back from the API.", print_exception=False)
            checked = await text.check_view(final)
        report = _report(final, checked.summary(), checked.table())
        return final.files[0], json.dumps(report, ensure_ascii=False)

    generate_image.__doc__ = _describe(handler.backend.label)

    # Hidden components give the tool its parameter types (the schema an agent sees);
    # values pass unchecked to api_schema, which names a bad one in Runware's words.
    with gr.Group(visible=False):
        inputs = [
            gr.Textbox(label="prompt"),
            gr.Number(value=WIDTH, precision=0, label="width"),
            gr.Number(value=HEIGHT, precision=0, label="height"),
            gr.Number(value=None, precision=0, label="seed"),
            gr.Number(value=STEPS, precision=0, label="steps"),
            gr.Number(value=CFG_SCALE, label="cfg_scale"),
            F.lenient(gr.Radio(list(limits.OUTPUT_FORMATS), value=limits.DEFAULT_OUTPUT_FORMAT)),
            gr.Textbox(value="", label="reference_image"),
        ]
        outputs = [gr.Image(type="filepath", label="image"), gr.Textbox(label="report")]
    gr.Button(visible=False).click(
        generate_image,
        inputs=inputs,
        outputs=outputs,
        api_name=TOOL,
        queue=False,
    )


# A message names the tool's parameter an agent passed, not the page's field
# ("reference_image: invalidReferenceImages: ..." rather than "Reference images › ...").
_PARAMETERS = {"positive_prompt": "prompt", "reference_urls": "reference_image"}


def _parameter(f: F.Field) -> str:
    return _PARAMETERS.get(f.name, f.name)


def _report(view: View, summary: str, table: dict[str, Any]) -> dict[str, Any]:
    image = view.images[0]
    request = view.request or {}
    return {
        "seed": image.seed,
        "imageUUID": image.image_uuid,
        "width": request.get("width"),
        "height": request.get("height"),
        "format": image.format,
        "cost": image.cost,
        "text_check": {"summary": summary, **table},
    }
