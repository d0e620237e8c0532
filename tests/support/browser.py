"""Playwright helpers for the UI tests: viewports, screenshots, and what a visitor does.

Each helper finds the page the way a visitor does (labels, roles, text) and waits for a
state, never for a time. The fixtures that open pages are in tests/ui/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from mock_api.testing import CHROMIUM, ROOT
from tests.support.page_checks import CONTRAST_JS, OVERFLOW_JS, WHOLE_IMAGES_JS

# Every browser test module's marks (``pytestmark = BROWSER_MODULE``): skipped for a missing
# Chromium only off CI, where a missing browser must fail the run instead.
BROWSER_MODULE = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing (apt-get install -y chromium); required when CI is set",
    ),
]

ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 30_000
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# page.set_default_timeout does not reach expect(), whose default is 5 s: too short on a
# busy 2-core machine.
expect.set_options(timeout=TIMEOUT_MS)


SETTLED_JS = """() => document.getAnimations().every(
    a => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)"""


def shot(page, name: str, full_page: bool = True) -> Path:
    """A screenshot once finite animations (toasts sliding in) have settled."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(SETTLED_JS, timeout=5_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --- what a visitor does ----------------------------------------------------------


def generate_button(page):
    return page.get_by_role("button", name="Generate", exact=True)


def status(page):
    return page.locator("#status")


def set_number(page, label: str, value: object) -> None:
    """Type into a slider's number box, as a visitor does, and leave the box."""
    box = page.get_by_label(f"number input for {label}")
    box.fill(str(value))
    box.press("Tab")


def open_panel(page, title: str) -> None:
    header = page.get_by_role("button", name=title)
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def close_panel(page, title: str) -> None:
    header = page.get_by_role("button", name=title)
    if "open" in (header.get_attribute("class") or ""):
        header.click()


# Notes whether the status line showed a run starting, however briefly (a quick run may
# go from "Done" to "Done" between two polls of expect()).
# The whole page is watched, and #status looked up each time: Gradio may mount the status
# line anew (a run that changes the layout), and an observer of the old node hears nothing.
WATCH_STATUS_JS = """() => {
  window.__started = false;
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(() => {
    const el = document.querySelector('#status');
    if (el && /Generating|Sending/.test(el.innerText)) window.__started = true;
  });
  window.__watch.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def run(page, count: int = 1) -> None:
    """Press Generate and wait until this run's ``count`` results are shown."""
    page.evaluate(WATCH_STATUS_JS)
    generate_button(page).click()
    page.wait_for_function("() => window.__started")
    expect(status(page)).to_contain_text("Done")
    expect(page.locator("#results-gallery img")).to_have_count(count)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results-gallery img')]"
        ".every(i => i.complete && i.naturalWidth)"
    )


def rows(page) -> list[list[str]]:
    """The result table, one list of cells per image (#, seed, imageUUID, cost, [NSFW,] file)."""
    return [text.split("\n") for text in page.locator("#result-table .virtual-row").all_inner_texts()]


def copy_code(page, tab: str) -> str:
    """Open the Developer tab and copy its code with the copy button, as a visitor would."""
    open_panel(page, "Developer: request, response and code")
    page.get_by_role("tab", name=tab, exact=True).click()
    page.locator("#developer").get_by_role("button", name="Copy").locator("visible=true").first.click()
    return page.evaluate("navigator.clipboard.readText()")


def request_sent(page) -> dict:
    return json.loads(copy_code(page, "Request"))


def check_page(page, name: str) -> None:
    """No horizontal overflow, every result whole, every text at least 4.5:1."""
    # A support module gets no assertion rewriting: each message says what went wrong.
    for check, problems in (
        ("overflow", page.evaluate(OVERFLOW_JS)),
        ("whole images", page.evaluate(WHOLE_IMAGES_JS, "#results-gallery")),
        ("contrast", page.evaluate(CONTRAST_JS, 4.5)),
    ):
        assert problems == [], f"{name}, {check}: {problems}"


def fetch(url: str) -> bytes:
    with httpx.Client(timeout=30, trust_env=False) as http:
        resp = http.get(url)
    resp.raise_for_status()
    return resp.content
