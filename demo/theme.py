"""Look and feel: the Gradio theme, page CSS and the header HTML.

System fonts only: a Google font would make every page load reach the internet,
which an offline demo (and its tests) must not do.
"""

from __future__ import annotations

import html

import gradio as gr

from api_schema import limits

_FONTS = [
    "ui-sans-serif",
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "sans-serif",
]
_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


def make_theme() -> gr.themes.Base:
    return gr.themes.Soft(
        primary_hue=gr.themes.colors.indigo,
        secondary_hue=gr.themes.colors.sky,
        neutral_hue=gr.themes.colors.slate,
        radius_size=gr.themes.sizes.radius_md,
        font=[gr.themes.Font(name) for name in _FONTS],
        font_mono=[gr.themes.Font(name) for name in _MONO],
    ).set(
        button_primary_background_fill="linear-gradient(90deg, *primary_600, *secondary_500)",
        button_primary_background_fill_hover="linear-gradient(90deg, *primary_700, *secondary_600)",
        button_primary_text_color="white",
        block_title_text_weight="600",
    )


CSS = """
.gradio-container { max-width: 1480px !important; margin: 0 auto !important; }
#hero { display: flex; align-items: center; justify-content: space-between; gap: 24px;
        padding: 4px 4px 0 4px; }
#hero > div:first-child { flex: 1 1 auto; min-width: 0; }
#hero .backend-badge { flex: 0 0 auto; }
@media (max-width: 860px) { #hero { flex-wrap: wrap; } }
#hero h1 { font-size: 1.9rem; margin: 0; line-height: 1.2; letter-spacing: -0.01em; }
#hero h1 .model-id { font-size: 0.95rem; font-weight: 500; color: var(--body-text-color-subdued);
                     font-family: var(--font-mono); margin-left: 8px; }
#hero p { margin: 4px 0 0 0; color: var(--body-text-color-subdued); font-size: 0.98rem; }
.backend-badge { display: inline-flex; align-items: center; gap: 8px; padding: 7px 14px;
                 border-radius: 999px; font-weight: 600; font-size: 0.92rem; white-space: nowrap;
                 border: 1px solid transparent; }
.backend-badge .dot { width: 9px; height: 9px; border-radius: 50%; display: inline-block; }
.backend-mock { background: #fff7e6; color: #8a5300; border-color: #f5c470; }
.backend-mock .dot { background: #f0a020; }
.backend-live { background: #e8f8ee; color: #146c3a; border-color: #7fd6a2; }
.backend-live .dot { background: #1fa855; box-shadow: 0 0 0 3px rgba(31,168,85,.18); }
#prompt textarea { min-height: 5.2em; }
#generate-btn { min-height: 48px; font-size: 1.05rem; }
#status { min-height: 1.6em; }
#status p { margin: 0; }
#results-gallery { min-height: 460px; }
#grid-note p { color: #9a5b00; font-size: 0.88rem; margin: 0; }
#result-table td, #result-table th { font-size: 0.82rem; }
#selected-info p { margin: 0; font-size: 0.9rem; }
#examples-box .label-wrap span, #examples-box > .label { font-weight: 600; }
footer { visibility: visible; }
.hint { color: var(--body-text-color-subdued); font-size: 0.86rem; }
"""


def header_html(badge_html: str) -> str:
    return (
        '<div id="hero"><div>'
        f'<h1>GLM-Image <span class="model-id">{html.escape(limits.MODEL_ID)}</span></h1>'
        "<p>Z.ai's open image model, strong at text inside images, on the Runware API: "
        "text to image and image to image, with every API parameter in reach.</p>"
        f"</div>{badge_html}</div>"
    )


def badge_html(kind: str, label: str) -> str:
    css = "backend-live" if kind == "live" else "backend-mock"
    return (
        f'<div class="backend-badge {css}" id="backend-badge" data-backend="{html.escape(kind)}">'
        f'<span class="dot"></span>{html.escape(label)}</div>'
    )
