"""The first screen's showcase: the four documented examples as pictures, one click to run.

The pictures are the mock's previews of the examples (exactly what the mock's replay
returns, scaled down), rendered once per process on a background thread started with
the page, so start-up does not wait for them and no request (and no credit) is spent.
On the live backend they are still the mock's previews, and the heading says so.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

from api_schema import load_examples
from api_schema.quotes import quoted_strings

from ..backend import example_pictures

log = logging.getLogger("demo.ui")

THUMB_WIDTH = 768  # ~2x the showcase column on a phone, a touch over it on a desktop
ROOT = Path(tempfile.gettempdir()) / "glm-image-demo" / "showcase"


def heading(backend_kind: str) -> str:
    if backend_kind == "live":
        return (
            "**Try an example:** the four documented prompts, shown as mock *previews* (the live "
            "model paints the whole scene). A click fills the form and runs it on the live API."
        )
    return "**Try an example:** the documented prompts as mock previews; a click runs one, free."


def caption(title: str, prompt: str, kind: str) -> str:
    """Title, kind and the quoted strings the prompt asks for, as the thumbnail's caption."""
    strings = " · ".join(f"“{s}”" for s in quoted_strings(prompt))
    edit = " (edit)" if kind == "image-to-image" else ""
    return f"{title}{edit}\n{strings}"


class Pictures:
    """The showcase files, rendered once on a background thread; ``files()`` waits for them."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self._done = threading.Event()
        self._files: list[str] = []
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._render, name="showcase", daemon=True)
                self._thread.start()

    def _render(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            files = []
            for example, data in zip(load_examples(), example_pictures(), strict=True):
                files.append(str(_write_thumbnail(self.root / f"{example.slug}.webp", data)))
            self._files = files
        except Exception as exc:  # the page works without its showcase
            log.error("showcase pictures failed: %s", type(exc).__name__)
        finally:
            self._done.set()

    def files(self, timeout: float = 60.0) -> list[str]:
        self.start()
        self._done.wait(timeout)
        return list(self._files)

    def gallery(self) -> list[tuple[str, str]]:
        """(file, caption) per example, in load_examples() order ([] if rendering failed)."""
        files = self.files()
        examples = load_examples()
        if len(files) != len(examples):
            return []
        return [
            (path, caption(e.title, e.request["positivePrompt"], e.kind))
            for path, e in zip(files, examples, strict=True)
        ]


def _write_thumbnail(path: Path, data: bytes) -> Path:
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        height = round(img.height * THUMB_WIDTH / img.width)
        small = img.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "WEBP", quality=85, method=4)
    # Another app process may be writing the same file: write aside, then rename.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return path


@dataclass
class Showcase:
    heading: gr.Markdown
    gallery: gr.Gallery


def build(backend_kind: str, pictures: Pictures) -> Showcase:
    """The showcase components, in the current layout context."""
    with gr.Group(elem_id="showcase"):
        head = gr.Markdown(heading(backend_kind), elem_id="showcase-heading")
        gallery = gr.Gallery(
            value=None,  # filled on page load (see ``wire``): start-up never waits for it
            label="Documented examples",
            show_label=False,
            columns=2,
            height="auto",
            object_fit="contain",
            allow_preview=False,  # a click picks the example rather than enlarging it
            interactive=False,
            buttons=[],
            elem_id="showcase-gallery",
        )
    return Showcase(head, gallery)


def wire(demo: gr.Blocks, gallery: gr.Gallery, pictures: Pictures) -> None:
    """Fill the showcase on each page load (instant once the first render is done)."""
    demo.load(
        pictures.gallery,
        inputs=None,
        outputs=gallery,
        api_visibility="private",
        queue=False,
        show_progress="hidden",
    )
