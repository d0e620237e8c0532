"""The app as a user meets it: start-up time, click-to-image in real Chromium, and a
``gradio_client`` caller of ``/generate``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .common import CHROMIUM, CHROMIUM_ARGS, Result, median, spawn_app, time_app_start, timed_result

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


# True once the text-check line reports the run's result (the line is cleared when a run starts).
_CHECK_DONE = """
() => {
  const line = document.querySelector('#text-check');
  const done = Boolean(line) && /written correctly|not available/.test(line.innerText);
  if (done && window.__checkedAt === undefined) { window.__checkedAt = performance.now(); }
  return done;
}
"""


def _click_samples(runs: int, env_extra: dict[str, str] | None = None) -> tuple[list[float], list[float]]:
    """Seconds from the click to the new image shown, and to the text check done (if it runs)."""
    from playwright.sync_api import sync_playwright

    shown: list[float] = []
    checked: list[float] = []
    check_on = (env_extra or {}).get("GLM_IMAGE_TEXT_CHECK") != "0"
    with spawn_app(env_extra) as app, sync_playwright() as pw:
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
            for i in range(runs + 1):  # the first click is a warm-up (it also loads the OCR models)
                page.get_by_label("Prompt").fill(f'A tea shop with a wooden sign that reads "LEAF {i}"')
                page.locator("#seed input").fill(str(7000 + i))
                # The click is time-stamped in the page; the checks poll every animation frame.
                before = page.eval_on_selector_all("#results-gallery img", "els => els.map(e => e.src)")
                page.evaluate(_MARK_CLICK)
                page.evaluate("() => { window.__checkedAt = undefined; }")
                page.locator("#generate-btn").click()
                page.wait_for_function(_NEW_IMAGE_SHOWN, arg=before, polling="raf", timeout=TIMEOUT_MS)
                image_ms = page.evaluate("() => window.__shownAt - window.__clickAt")
                check_ms = None
                if check_on:
                    page.wait_for_function(_CHECK_DONE, polling="raf", timeout=TIMEOUT_MS)
                    check_ms = page.evaluate("() => window.__checkedAt - window.__clickAt")
                if i == 0:
                    sent = page.locator("#results-gallery img").first
                    size = sent.evaluate("i => [i.naturalWidth, i.naturalHeight]")
                    if size != [1024, 768]:
                        raise RuntimeError(f"the UI generated {size}, not 1024x768")
                    continue
                shown.append(image_ms / 1000)
                if check_ms is not None:
                    checked.append(check_ms / 1000)
            if check_on:
                shot = Path(__file__).resolve().parent / "results" / "ui_click_last.png"
                shot.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(shot))
        finally:
            browser.close()
    return shown, checked


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
    runs = 3 if quick else 10
    # The same clicks with the text check off, in the same session: what the check adds to
    # the picture (nothing, it must be) is the difference on the same loaded machine.
    off, _ = _click_samples(runs, {"GLM_IMAGE_TEXT_CHECK": "0"})
    shown, checked = _click_samples(runs)
    note = "in-page performance.now(), polled per animation frame"
    return [
        timed_result(
            "ui_click_to_image",
            "click Generate to new gallery image loaded (naturalWidth > 0), Chromium, mock, 1024x768",
            shown,
            1000,
            notes=f"{note}; text check on",
        ),
        _recorded(
            timed_result(
                "ui_click_to_image_check_off",
                "the same with GLM_IMAGE_TEXT_CHECK=0 (same session, for comparison)",
                off,
                1000,
                notes=note,
            )
        ),
        _recorded(
            timed_result(
                "ui_click_to_text_check",
                "click Generate to the text-check line's result, Chromium, mock, 1024x768, 1 string",
                checked,
                1000,
                notes=f"{note}; OCR models loaded by the warm-up click",
            )
        ),
    ]


# /generate for 20 images, as a gradio_client caller sends it.
API_IMAGES = 20
_API_ARGS = {
    "positive_prompt": 'Twenty shop signs that read "OPEN"',
    "width": 1024,
    "height": 1024,
    "steps": 40,
    "number_results": API_IMAGES,
}


def _recorded(row: Result) -> Result:
    """A row that is measured and kept, with no target of its own."""
    row.target, row.passed = "recorded", None
    return row


def _fresh_client_get(url: str) -> None:
    """One GET the way gradio_client downloads a file: a new httpx client each time."""
    import httpx

    with httpx.stream("GET", url) as response:
        response.read()


def run_api(quick: bool = False) -> list[Result]:
    """gradio_client predict() with its default file downloads against download_files=False.

    A streamed /generate re-sent the whole gallery with every partial result, so the
    default client downloaded each file again per update; it answers once now. What
    remains is gradio_client's own cost per file (a new httpx client, hence a new TLS
    context, per download), measured here too.
    """
    import tempfile

    from gradio_client import Client

    runs = 2 if quick else 5
    timings: dict[bool, list[float]] = {True: [], False: []}
    per_file: list[float] = []
    # These rows are about the transfer: the text check (seconds of OCR per image) is off,
    # and timed on its own below.
    off = {"GLM_IMAGE_TEXT_CHECK": "0"}
    with spawn_app(off) as app, tempfile.TemporaryDirectory(prefix="bench-api-") as downloads:
        clients = {True: Client(app.url, verbose=False, download_files=downloads)}
        clients[False] = Client(app.url, verbose=False, download_files=False)
        for i in range(runs + 1):  # the first round is a warm-up
            for download, client in clients.items():
                start = time.perf_counter()
                out = client.predict(
                    **_API_ARGS, seed=str(100 * i), randomize_seed=False, api_name="/generate"
                )
                elapsed = time.perf_counter() - start
                if len(out[0]) != API_IMAGES:
                    raise RuntimeError(f"/generate returned {len(out[0])} images, not {API_IMAGES}")
                if i:
                    timings[download].append(elapsed)
                if not download and i:
                    urls = [g["image"]["url"] for g in out[0]]
                    start = time.perf_counter()
                    for url in urls:
                        _fresh_client_get(url)
                    per_file.append((time.perf_counter() - start) / len(urls))
        files = sum(1 for p in Path(downloads).rglob("*") if p.is_file())
    default, bare, fetch = median(timings[True]), median(timings[False]), median(per_file)
    per_call = files / (runs + 1)
    checked = _checked_api_calls(1 if quick else 3)
    return [
        Result(
            name="api_files_per_call",
            what=f"files a default gradio_client downloads for one {API_IMAGES}-image /generate",
            target=f"= {API_IMAGES} (one per image)",
            unit="files",
            median=per_call,
            runs=runs + 1,
            passed=per_call == API_IMAGES,
            notes="counted in the client's download folder",
        ),
        _recorded(
            timed_result(
                "api_20_images_default",
                f"gradio_client predict(number_results={API_IMAGES}), default downloads, 1024x1024, mock",
                timings[True],
                float("inf"),
                notes=f"{default / bare:.1f}x the row below, of which {API_IMAGES} x {fetch * 1000:.0f} ms "
                "is the client's own per-file cost",
            )
        ),
        _recorded(
            timed_result(
                "api_20_images_no_download",
                f"gradio_client predict(number_results={API_IMAGES}), download_files=False",
                timings[False],
                float("inf"),
            )
        ),
        _recorded(
            timed_result(
                "api_file_fetch",
                "one file fetched the way gradio_client does it (new httpx client per GET)",
                per_file,
                float("inf"),
                notes="median per file over the 20 files of a call",
            )
        ),
        _recorded(
            timed_result(
                "api_20_images_text_check",
                f"the same {API_IMAGES}-image call, download_files=False, with the text check on",
                checked,
                float("inf"),
                notes=f"{median(checked) - bare:.1f} s more than with the check off: the OCR of "
                f"{API_IMAGES} images, two at a time, before /generate answers",
            )
        ),
    ]


def _checked_api_calls(runs: int) -> list[float]:
    """Seconds per 20-image /generate (no downloads) with the text check on, after a warm-up."""
    from gradio_client import Client

    samples = []
    with spawn_app() as app:
        client = Client(app.url, verbose=False, download_files=False)
        for i in range(runs + 1):
            start = time.perf_counter()
            out = client.predict(**_API_ARGS, seed=str(100 * i), randomize_seed=False, api_name="/generate")
            if len(out[-1]["data"]) != API_IMAGES:
                raise RuntimeError(f"the text check has {len(out[-1]['data'])} rows, not {API_IMAGES}")
            if i:
                samples.append(time.perf_counter() - start)
    return samples
