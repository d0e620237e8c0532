"""Look and feel: the Gradio theme, the page CSS and script, the header HTML.

System fonts only: a Google font would make every page load reach the internet,
which an offline demo (and its tests) must not do. Every text colour here keeps a
contrast of at least 4.5:1 on its background in the light and the dark theme (a
browser test measures it).
"""

from __future__ import annotations

import html

import gradio as gr

from api_schema import limits

from .style import PHONE_MAX_PX, SHOWCASE_CSS

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
        # White on indigo-600 .. sky-700 stays above 4.5:1 across the gradient.
        button_primary_background_fill="linear-gradient(90deg, *primary_600, *secondary_700)",
        button_primary_background_fill_hover="linear-gradient(90deg, *primary_700, *secondary_800)",
        button_primary_background_fill_dark="linear-gradient(90deg, *primary_600, *secondary_700)",
        button_primary_background_fill_hover_dark="linear-gradient(90deg, *primary_700, *secondary_800)",
        button_primary_text_color="white",
        button_primary_text_color_dark="white",
        button_cancel_background_fill="#b91c1c",
        button_cancel_background_fill_dark="#b91c1c",
        button_cancel_background_fill_hover="#991b1b",
        button_cancel_background_fill_hover_dark="#991b1b",
        button_cancel_text_color="white",
        button_cancel_text_color_dark="white",
        # Errors readable on both themes (the stock dark red on indigo was ~1.7:1).
        error_text_color="#b91c1c",
        error_text_color_dark="#fca5a5",
        error_background_fill="#fef2f2",
        error_background_fill_dark="#2a1215",
        error_border_color="#f87171",
        error_border_color_dark="#f87171",
        block_title_text_weight="600",
        # The stock Soft palette puts indigo-500 and slate-400 text on white (2.6..4.5:1).
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_400",
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        color_accent="*primary_600",
        checkbox_label_background_fill_selected="*primary_600",
        input_placeholder_color="*neutral_500",
        input_placeholder_color_dark="*neutral_300",
    )


CSS = f"""
.gradio-container {{ max-width: 1480px !important; margin: 0 auto !important; }}
#header {{ padding: 0 !important; }}
#hero {{ display: flex; align-items: center; justify-content: space-between; gap: 12px 24px;
        flex-wrap: wrap; padding: 4px 0 0 0; }}
#hero > div:first-child {{ flex: 1 1 320px; min-width: 0; }}
#hero .backend-badge {{ flex: 0 0 auto; }}
#hero h1 {{ font-size: 1.9rem; margin: 0; line-height: 1.2; letter-spacing: -0.01em; }}
#hero h1 .model-id {{ font-size: 0.95rem; font-weight: 500; color: var(--body-text-color-subdued);
                     font-family: var(--font-mono); margin-left: 8px; white-space: nowrap; }}
#hero p {{ margin: 4px 0 0 0; color: var(--body-text-color-subdued); font-size: 0.98rem; }}
.backend-badge {{ display: inline-flex; align-items: center; gap: 8px; padding: 7px 14px;
                 border-radius: 999px; font-weight: 600; font-size: 0.92rem;
                 border: 1px solid transparent; max-width: 100%; }}
.backend-badge .dot {{ width: 9px; height: 9px; border-radius: 50%; display: inline-block; flex: none; }}
.backend-mock {{ background: #fff7e6; color: #7a4a00; border-color: #f5c470; }}
.backend-mock .dot {{ background: #f0a020; }}
.backend-live {{ background: #e8f8ee; color: #125e33; border-color: #7fd6a2; }}
.backend-live .dot {{ background: #1fa855; box-shadow: 0 0 0 3px rgba(31,168,85,.18); }}

/* One grid, three areas. Wide: compose and settings on the left, results on the right.
   Narrow: compose, results, settings, so the result sits right under Generate. */
#workspace {{ display: grid !important; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr);
             grid-template-areas: "compose results" "settings results";
             grid-template-rows: auto 1fr; align-items: start; gap: var(--layout-gap); }}
#workspace > * {{ min-width: 0 !important; width: auto !important; }}
#compose {{ grid-area: compose; }}
#results {{ grid-area: results; }}
#settings {{ grid-area: settings; }}
@media (max-width: {PHONE_MAX_PX}px) {{
  #workspace {{ grid-template-columns: minmax(0, 1fr); grid-template-areas: "compose" "results" "settings";
               grid-template-rows: auto; }}
  .gradio-container > .main {{ padding-left: 12px !important; padding-right: 12px !important; }}
  #hero h1 {{ font-size: 1.5rem; }}
  #hero p {{ font-size: 0.9rem; }}
}}

#prompt textarea {{ min-height: 5.2em; }}
#actions {{ gap: 8px; flex-wrap: nowrap; }}
#generate-btn {{ min-height: 48px; font-size: 1.05rem; }}
#stop-btn {{ min-height: 48px; }}
#status {{ min-height: 1.6em; }}
#status p {{ margin: 0; overflow-wrap: anywhere; }}

/* Every result whole: no cropping, no inner scrollbar, at most a viewport high. */
#results-gallery .grid-wrap {{ max-height: none !important; min-height: 0 !important; height: auto !important;
  overflow: visible !important; }}
#results-gallery .empty {{ min-height: 260px; border: 2px dashed var(--border-color-primary);
  border-radius: var(--radius-lg); flex-direction: column; gap: 10px; }}
#results-gallery .empty::after {{ content: "Your images appear here"; color: var(--body-text-color-subdued);
  font-size: 0.95rem; }}
#results-gallery.webhook .empty::after {{ content: "The results go to your webhook"; }}
#results-gallery .thumbnail-item {{ background: var(--background-fill-secondary); }}
#results-gallery .thumbnail-item img {{ object-fit: contain !important; }}
/* The caption names the image's place and seed; top left, clear of the preview's strip. */
#results-gallery .caption-label {{ top: 6px; left: 6px; bottom: auto; right: auto;
  max-width: calc(100% - 12px); font-size: 0.78rem; padding: 2px 8px; }}
/* Columns share the width (Gradio's fixed 100 px columns ran off a phone's screen). */
#results-gallery .grid-container {{
  grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important; }}
@media (max-width: 480px) {{
  #results-gallery.cols-4 .grid-container {{ grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }}
}}
#results-gallery.single .grid-container {{ grid-template-columns: minmax(0, 1fr) !important; }}
#results-gallery.single .thumbnail-item {{ aspect-ratio: auto !important; height: auto !important; }}
#results-gallery.single .thumbnail-item img {{ width: 100% !important; height: auto !important;
  max-height: min(72vh, 900px); }}

/* A validation message sits in the field's box, above its control, instead of an overlay
   that covers the label and cuts the message off in a half-width column. */
[data-testid="status-tracker"]:has(.validation-error) {{ position: static !important; inset: auto !important;
  background: none !important; padding: 0 0 6px 0 !important; display: block !important; }}
[data-testid="status-tracker"] .validation-error {{ position: static; text-align: left; font-size: 0.86rem;
  font-weight: 600; color: var(--error-text-color); background: var(--error-background-fill);
  border: 1px solid var(--error-border-color); border-radius: var(--radius-sm); padding: 6px 8px; }}
/* A textbox puts its message inside the label chip, where the stock red sat on the chip's
   indigo (1.7:1 in the dark theme): the message gets the error colours and a line of its own. */
[data-testid="block-info"] .validation-error {{ display: block; margin: 6px 0 2px 0; font-size: 0.86rem;
  font-weight: 600; line-height: 1.35; color: var(--error-text-color) !important;
  background: var(--error-background-fill); border: 1px solid var(--error-border-color);
  border-radius: var(--radius-sm); padding: 6px 8px; white-space: normal; overflow-wrap: anywhere; }}
/* The status line says "Failed: ..." itself; the tracker's red "Error" badge and its x sat on
   top of those words. The tracker still shows while a run is in flight. */
#status > [data-testid="status-tracker"]:has(.error) {{ display: none !important; }}
/* A slider's number box grows with what it holds: a typed or linked 1000000000 (refused
   next to the field, never clamped) was cut to "100000" in Gradio's fixed 78 px box. */
.no-clamp input[type="number"] {{ field-sizing: content; min-width: 78px; max-width: 100%; }}
#selection {{ align-items: center; gap: 8px; flex-wrap: wrap; }}
#selected-info {{ min-width: 0; flex: 1 1 220px; }}
#selected-info p, #reference-note p {{ margin: 0; font-size: 0.9rem; overflow-wrap: anywhere; }}
#result-table td, #result-table th {{ font-size: 0.82rem; }}
#grid-note p {{ color: #8a4b00; font-size: 0.88rem; margin: 0; }}
.dark #grid-note p {{ color: #fcd34d; }}
#examples-box .label-wrap span, #examples-box > .label {{ font-weight: 600; }}
#developer .cm-content, #developer .cm-line {{ white-space: pre-wrap !important; word-break: break-all; }}
/* Code on a dark ground in both themes: the editor's palette is made for it. */
#developer .cm-editor {{ max-width: 100%; background: #0f172a !important; color: #e2e8f0; }}
/* Text the highlighter has not coloured (yet, or at all) is light too: the light theme's
   own line colour is slate-800, unreadable on this ground. Token spans keep theirs. */
#developer .cm-content, #developer .cm-line {{ color: #e2e8f0 !important; }}
#developer .cm-gutters {{ background: #0f172a !important; color: #94a3b8 !important; border: none; }}
#developer .cm-activeLine, #developer .cm-activeLineGutter {{ background: #1e293b !important; }}
.hint {{ color: var(--body-text-color-subdued); font-size: 0.86rem; }}
/* The accent (indigo-600) reads well on white but not on the dark theme's slate. */
.dark button[role="tab"][aria-selected="true"] {{ color: #a5b4fc !important; }}
.hint a {{ color: inherit; text-decoration: underline; }}
{SHOWCASE_CSS}"""

# Gradio's slider clamps a typed number into range when the box loses focus, so a
# typed 5000 would be sent as 2048 without a word. Stopping that blur before it reaches
# the box keeps the typed value; the validator then names the bound next to the field.
NO_CLAMP_JS = """
<script>
document.addEventListener("blur", (event) => {
  const box = event.target;
  if (box instanceof HTMLInputElement && box.type === "number" && box.closest(".no-clamp")) {
    event.stopImmediatePropagation();
  }
}, true);
</script>
"""

# The Developer code boxes are dark in both themes (CSS above), but in the light theme the
# highlighter keeps its light palette (Nord light): comments #434c5e, shell words #3b4252,
# keywords #5e81ac, at 1.8..4.4:1 on the dark ground. Its token classes (".ͼ2c") are made
# up at run time and differ between Gradio builds, so they are found by their colour:
# every token rule under 4.5:1 on the ground is lightened, keeping its hue, inside #developer.
CODE_COLOURS_JS = """
<script>
(() => {
  const ground = [15, 23, 42];  /* #0f172a, the code boxes' ground */
  const lum = (c) => {
    const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const [r, g, b] = c.map(lin);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (c) => (Math.max(lum(c), lum(ground)) + 0.05) / (Math.min(lum(c), lum(ground)) + 0.05);
  const done = new Set();
  let sheet = null;
  const scan = () => {
    const rules = [];
    for (const s of [...document.styleSheets, ...(document.adoptedStyleSheets || [])]) {
      try { rules.push(...s.cssRules); } catch (e) { /* another origin's sheet */ }
    }
    let extra = "";
    for (const rule of rules) {
      const sel = rule.selectorText;
      if (!sel || !/^\\.\u037c[0-9a-z]+$/.test(sel) || done.has(sel) || !rule.style?.color) continue;
      const rgb = (rule.style.color.match(/\\d+(\\.\\d+)?/g) || []).slice(0, 3).map(Number);
      if (rgb.length < 3) continue;
      done.add(sel);
      let c = rgb;
      for (let t = 0.1; ratio(c) < 4.6 && t <= 1; t += 0.1) c = rgb.map((v) => Math.round(v + (255 - v) * t));
      if (c !== rgb) extra += `#developer ${sel} { color: rgb(${c.join(",")}) !important; }\\n`;
    }
    if (!extra) return;
    sheet = sheet || document.head.appendChild(document.createElement("style"));
    sheet.textContent += extra;
  };
  new MutationObserver(scan).observe(document.head, { childList: true, subtree: true, characterData: true });
  document.addEventListener("DOMContentLoaded", scan);
})();
</script>
"""


SIGNUP_URL = "https://my.runware.ai/signup"


def header_html() -> str:
    """The title and the one line a visitor needs: what GLM-Image is good at."""
    return (
        '<div id="hero">'
        f'<h1>GLM-Image <span class="model-id">{html.escape(limits.MODEL_ID)}</span></h1>'
        "<p>Z.ai's open image model writes the words you ask for <strong>inside the picture</strong> "
        "(signs, labels, posters, maps) and <strong>edits a picture by instruction</strong>. "
        "Put the text to draw in &quot;quotes&quot;.</p></div>"
    )


def key_help(backend_kind: str) -> str:
    """What the key panel says: where a key comes from, and how to go back."""
    back = (
        "Clear the box to go back to the mock backend (no credits used)."
        if backend_kind != "live"
        else "Clear the box to go back to this Space's own key."
    )
    return (
        f"No key yet? Get one at [my.runware.ai/signup]({SIGNUP_URL}). "
        f"With a key, this browser session uses the live Runware API and that key's credits. {back}"
    )


def badge_html(kind: str, label: str) -> str:
    css = "backend-live" if kind == "live" else "backend-mock"
    return (
        f'<div class="backend-badge {css}" id="backend-badge" data-backend="{html.escape(kind)}">'
        f'<span class="dot"></span>{html.escape(label)}</div>'
    )
