"""The whole page: ``build_ui(settings, backend, mcp=...)`` and what ``launch()`` needs with it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..backend import Backend, backend_for_key, make_backend
from ..settings import Settings
from ..textcheck import TextChecker
from .events import CONCURRENCY, wire_events
from .generate import GenerateHandler
from .layout import build_page
from .mcp import add_mcp_tool
from .session import wire as wire_session
from .showcase import Pictures
from .showcase import wire as wire_showcase
from .text_check import TextCheckView
from .theme import CODE_COLOURS_JS, CSS, NO_CLAMP_JS, badge_html, make_theme

QUEUE_SIZE = 64
MAX_FILE_SIZE = "20mb"


def build_ui(settings: Settings, backend: Backend | None = None, *, mcp: bool = False) -> gr.Blocks:
    """The page and its events. ``mcp``: also the one MCP tool, ``generate_image`` (launch
    with ``mcp_server=True``); ``/generate`` stays public and is not a tool."""
    backend = backend or make_backend(settings)
    handler = GenerateHandler(settings, backend)
    text = TextCheckView(TextChecker.from_settings(settings))

    def badge_for(api_key: str | None) -> str:
        active = backend_for_key(settings, api_key) if api_key and api_key.strip() else backend
        return badge_html(active.kind, active.label)

    pictures = Pictures()
    pictures.start()  # the showcase renders on its own thread while the server starts
    with gr.Blocks(title="GLM-Image · Runware", analytics_enabled=False, delete_cache=(3600, 7200)) as demo:
        page = build_page(backend.kind, backend.label, pictures)
        runs = wire_events(page, handler, badge_for, text)
        wire_session(page, handler, runs, demo)
        wire_showcase(demo, page.examples, pictures)
        if mcp:
            add_mcp_tool(handler, text)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo


def launch_kwargs(backend: Backend | None = None) -> dict[str, Any]:
    """What Gradio 6 takes at launch rather than in Blocks(), and the in-process mock's
    API routes on the app's own server (so the page's URLs and snippets work there)."""
    kwargs: dict[str, Any] = {
        "theme": make_theme(),
        "css": CSS,
        "head": NO_CLAMP_JS + CODE_COLOURS_JS,
        "max_file_size": MAX_FILE_SIZE,
        "show_error": True,
        "footer_links": ["api", "gradio"],
    }
    routes = backend.routes() if backend is not None else []
    if routes:
        kwargs["app_kwargs"] = {"routes": routes}
    return kwargs
