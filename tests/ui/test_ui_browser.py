"""The UI in real Chromium (Debian's /usr/bin/chromium) through Playwright.

One launched app and one browser per module; every wait is for an element or a
state, bounded at ~30 s. Screenshots of the key states go to tests/artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_schema import load_examples
from mock_api.testing import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing (apt-get install -y chromium); required when CI is set",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
# page.set_default_timeout does not reach expect(), whose default is 5 s: too short on a
# busy 2-core machine (two full runs each had one browser test time out there).
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url, wait_until="domcontentloaded")
    expect(page.locator("#generate-btn")).to_be_visible()
    yield page
    context.close()


SETTLED_JS = """() => document.getAnimations().every(
    a => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)"""


def shot(page, name: str) -> Path:
    """Full-page screenshot once finite animations (toasts sliding in) have settled."""
    with contextlib.suppress(sync_api.TimeoutError):
        page.wait_for_function(SETTLED_JS, timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shutil.copy(path, Path("/tmp") / f"glm-image-{name}.png")
    return path


def wait_for_results(page, count: int = 1) -> None:
    images = page.locator("#results-gallery img")
    expect(images).to_have_count(count, timeout=TIMEOUT_MS)
    expect(page.locator("#status")).to_contain_text("Done", timeout=TIMEOUT_MS)


def test_initial_page_shows_form_badge_and_examples(page):
    expect(page.locator("#backend-badge")).to_contain_text("Mock backend: preview images, no credits used")
    expect(page.get_by_label("Prompt")).to_be_visible()
    for example in load_examples():
        expect(page.get_by_text(example.title, exact=True)).to_be_visible()
    shot(page, "01-initial")
    # A custom size off the 32-pixel grid gets a note; a preset sets both sliders.
    width = page.locator("#width input[type=number]")
    width.fill("1000")
    width.press("Enter")
    expect(page.locator("#grid-note")).to_contain_text("not a multiple of 32")
    expect(page.locator("#size-preset input")).to_have_value("Custom")
    page.locator("#size-preset input").click()
    page.get_by_role("option", name="1728 × 960 · ≈16:9 landscape").click()
    expect(page.locator("#height input[type=number]")).to_have_value("960")
    expect(width).to_have_value("1728")
    expect(page.locator("#grid-note")).not_to_contain_text("multiple")
    # A visitor's own key switches this session's badge to live (nothing is sent yet).
    page.get_by_text("Your Runware API key (optional)").click()
    key = page.locator("#api-key input")
    key.fill("sk-visitor-test-key")
    key.blur()
    expect(page.locator("#backend-badge")).to_contain_text("Live Runware API")
    key.fill("")
    key.blur()
    expect(page.locator("#backend-badge")).to_contain_text("Mock backend")


def test_type_a_prompt_generate_and_see_image_and_seed(page):
    page.get_by_label("Prompt").fill('A tea shop with a wooden sign that reads "MORNING LEAF"')
    page.locator("#randomize-seed input[type=checkbox]").uncheck()
    seed_box = page.locator("#seed input")
    seed_box.fill("4242")
    page.locator("#generate-btn").click()
    wait_for_results(page)
    table = page.locator("#result-table")
    expect(table).to_contain_text("4242")
    expect(table).to_contain_text(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"))
    expect(page.locator("#status")).to_contain_text("seed 4242")
    shot(page, "02-after-generate")


def test_an_invalid_input_shows_an_error_naming_the_field(page):
    prompt = page.get_by_label("Prompt")
    prompt.fill("x")
    prompt.press("Enter")  # Enter submits, like the Generate button
    # The message sits beside the field it is about; nothing was sent.
    expect(page.locator("#prompt")).to_contain_text("invalidPositivePrompt")
    expect(page.locator("#prompt")).to_contain_text("positivePrompt")
    expect(page.locator("#status")).to_contain_text("Ready")
    expect(page.locator("#results-gallery img")).to_have_count(0)
    shot(page, "04-error")


def test_a_backend_error_shows_runware_code_and_message(page):
    unknown = "3f1c9a52-3a4b-4c5d-8e6f-0123456789ab"  # valid UUID v4, never uploaded
    page.get_by_label("Prompt").fill('Edit the reference: add a sign that reads "EDIT"')
    page.get_by_text("Reference images (image to image)").click()
    page.locator("#reference-urls textarea").fill(unknown)
    page.locator("#generate-btn").click()
    toast = page.locator(".toast-body").first
    expect(toast).to_contain_text("invalidReferenceImages")
    expect(toast).to_contain_text(unknown)
    expect(page.locator("#status")).to_contain_text("Failed")
    expect(page.locator("#status")).to_contain_text("invalidReferenceImages")
    shot(page, "06-backend-error")


def test_an_example_click_fills_the_form_and_generates(page):
    example = next(e for e in load_examples() if e.kind == "image-to-image")
    documented = example.response["data"][0]
    page.get_by_text(example.title, exact=True).click()
    expect(page.get_by_label("Prompt")).to_have_value(example.request["positivePrompt"])
    expect(page.locator("#reference-urls textarea")).to_have_value(
        example.request["inputs"]["referenceImages"][0]
    )
    wait_for_results(page)
    table = page.locator("#result-table")
    expect(table).to_contain_text(documented["imageUUID"])
    expect(table).to_contain_text(str(documented["seed"]))
    expect(page.locator("#seed input")).to_have_value(str(documented["seed"]))
    shot(page, "03-after-example")


def test_several_results_then_use_one_as_the_next_reference(page):
    page.get_by_label("Prompt").fill('A row of shop signs reading "ONE", "TWO" and "THREE"')
    count = page.locator("#number-results input[type=number]")
    count.fill("3")
    count.press("Enter")
    page.locator("#generate-btn").click()
    wait_for_results(page, 3)
    # One metadata row per image: three distinct imageUUIDs in the table.
    page.wait_for_function(
        "new Set(document.querySelector('#result-table').innerText"
        ".match(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g) || []).size === 3"
    )
    page.locator("#results-gallery img").nth(1).click()
    expect(page.locator("#selected-info")).to_contain_text("Selected image 2")
    uuid = page.locator("#selected-info code").inner_text()
    page.locator("#use-as-reference").click()
    expect(page.locator("#reference-urls textarea")).to_have_value(uuid)
    shot(page, "05-use-as-reference")
