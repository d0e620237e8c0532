"""The app as a user meets it: start-up time and click-to-image in real Chromium."""

from __future__ import annotations

import os
from pathlib import Path

from .common import CHROMIUM, CHROMIUM_ARGS, Result, spawn_app, time_app_start, timed_result

TIMEOUT_MS = 30_000

# True once an <img> in the gallery that was not there before the click has loaded.
_NEW_IMAGE_SHOWN = """
(before) => {
  const imgs = Array.from(document.querySelectorAll('#results-gallery img'));
  const fresh = imgs.find(i => !before.includes(i.src) && i.complete && i.naturalWidth > 0);
  if (fresh && window.__shownAt === undefined) { window.__shownAt = performance.now(); }
  return Boolean(fresh);
}
"""
_MARK_CLICK = """
() => {
  window.__shownAt = undefined;
  const btn = document.querySelector('#generate-btn');
  btn.addEventListener('click', () => { window.__clickAt = performance.now(); }, {capture: true, once: true});
}
"""


def run_startup(quick: bool = False) -> list[Result]:
    time_app_start()  # warm-up: the first start fills the OS page cache and .pyc files
    samples = [time_app_start() for _ in range(2 if quick else 5)]
    return [
        timed_result(
            "app_start",
            "`python app.py` to the first 200 from /gradio_api/info (mock backend)",
            samples,
            6000,
            notes="subprocess start included; polled every 20 ms",
        )
    ]


def run_click(quick: bool = False) -> list[Result]:
    if not os.path.exists(CHROMIUM):
        return [
            Result(
                name="ui_click_to_image",
                what="click Generate to image shown, Chromium, 1024x768",
                target="<= 1000 ms",
                unit="ms",
                median=float("nan"),
                notes=f"skipped: {CHROMIUM} is missing",
            )
        ]
    from playwright.sync_api import sync_playwright

    runs = 3 if quick else 10
    samples: list[float] = []
    with spawn_app() as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app.url, wait_until="domcontentloaded")
            page.locator("#generate-btn").wait_for(state="visible")
            page.locator("#randomize-seed input[type=checkbox]").uncheck()
            height = page.locator("#height input[type=number]")
            height.fill("768")
            height.press("Enter")
            for i in range(runs + 1):  # the first click is a warm-up
                page.get_by_label("Prompt").fill(f'A tea shop with a wooden sign that reads "LEAF {i}"')
                page.locator("#seed input").fill(str(7000 + i))
                # The click is time-stamped in the page; the check polls every animation frame.
                before = page.eval_on_selector_all("#results-gallery img", "els => els.map(e => e.src)")
                page.evaluate(_MARK_CLICK)
                page.locator("#generate-btn").click()
                page.wait_for_function(_NEW_IMAGE_SHOWN, arg=before, polling="raf", timeout=TIMEOUT_MS)
                elapsed_ms = page.evaluate("() => window.__shownAt - window.__clickAt")
                if i == 0:
                    sent = page.locator("#results-gallery img").first
                    size = sent.evaluate("i => [i.naturalWidth, i.naturalHeight]")
                    if size != [1024, 768]:
                        raise RuntimeError(f"the UI generated {size}, not 1024x768")
                else:
                    samples.append(elapsed_ms / 1000)
            shot = Path(__file__).resolve().parent / "results" / "ui_click_last.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    return [
        timed_result(
            "ui_click_to_image",
            "click Generate to new gallery image loaded (naturalWidth > 0), Chromium, mock, 1024x768",
            samples,
            1000,
            notes="in-page performance.now(), polled per animation frame",
        )
    ]
