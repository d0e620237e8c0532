"""The mock's pictures outside a request: a documented example's answer, a reference's stand-in.

A showcase of the documented examples, or a before/after view of an edit, wants the
same pictures the mock answers with, without a request (and without credits on the
live API). These functions go through the same stand-ins and renderer as a replay, so
the showcase picture of an example is byte for byte the image its replay returns.
"""

from __future__ import annotations

from api_schema import Example, ImageInferenceTask
from api_schema.refs import RefKind, classify_reference

from ..images.references import standin_reference
from ..images.render import PreviewSpec, render_bytes
from .references import url_picture


def example_picture(example: Example) -> bytes:
    """The encoded picture the mock's replay of a documented example returns."""
    task = ImageInferenceTask.model_validate(example.request, by_alias=True, by_name=False)
    refs = task.reference_images
    spec = PreviewSpec(
        prompt=task.positive_prompt,
        width=task.effective_width,
        height=task.effective_height,
        seed=example.result.seed,
        model=task.model,
        reference=url_picture(refs[0]) if refs else None,
    )
    return render_bytes(spec, task.output_format, task.output_quality)


def reference_stand_in(reference: str, *, mock: bool) -> bytes | None:
    """What a reference URL looks like to the mock (its stand-in or grey card).

    ``mock=False`` (the live API, which fetches the real picture): only the documented
    URLs' stand-ins, since any other URL's card would not be what the model saw.
    None for anything that is not a URL.
    """
    try:
        kind = classify_reference(reference)
    except ValueError:
        return None
    if kind is not RefKind.URL:
        return None
    return url_picture(reference) if mock else standin_reference(reference.strip())
