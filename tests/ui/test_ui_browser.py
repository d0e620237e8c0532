"""The UI in real Chromium (Debian's /usr/bin/chromium) through Playwright.

One launched app and one browser per module (tests/ui/conftest.py); every wait is for
an element or a state, bounded at ~30 s. The page is found the way a visitor finds it:
by labels, roles and text (the helpers are in tests/support/browser.py). Screenshots
of the key states, at 1440 px and 390 px, light and dark, go to tests/artifacts/
(git-ignored).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from gradio_client import Client
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from api_schema import load_examples
from demo.ui import presets
from mock_api.images.signs import fallback_font_path
from mock_api.testing import spawn_mock
from tests.support.appserver import run_app
from tests.support.browser import (
    BROWSER_MODULE,
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    UUID,
    check_page,
    close_panel,
    copy_code,
    expect,
    fetch,
    generate_button,
    open_panel,
    request_sent,
    rows,
    run,
    set_number,
    shot,
    status,
)
from tests.support.receiver import run_receiver
from tests.support.snippets import run_curl, run_python

pytestmark = BROWSER_MODULE

# --- every control, at both widths and in both themes --------------------------------


@pytest.mark.parametrize(
    ("viewport", "theme"),
    [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")],
    ids=["1440-light", "1440-dark", "390-light", "390-dark"],
)
def test_every_control_works(open_page, viewport, theme):
    name = f"{viewport['width']}-{theme}"
    page = open_page(viewport, theme)
    expect(page.locator("#backend-badge")).to_contain_text("Mock backend: preview images, no credits used")
    for example in load_examples():  # the showcase captions each picture with its title
        expect(page.locator("#showcase-gallery").get_by_text(example.title)).to_be_visible()
    check_page(page, name)
    shot(page, f"{name}-01-initial")

    page.get_by_label("Prompt").fill('A tea shop with a wooden sign that reads "MORNING LEAF"')
    # Size: a preset sets both sliders; an off-grid width gets a note and "Custom".
    page.get_by_label("Size").click()
    page.get_by_role("option", name=presets.preset_label(1056, 1568)).click()
    expect(page.get_by_label("number input for Height")).to_have_value("1568")
    set_number(page, "Width", 1000)
    expect(page.locator("#grid-note")).to_contain_text("not a multiple of 32")
    expect(page.get_by_label("Size")).to_have_value("Custom")
    set_number(page, "Width", 768)
    set_number(page, "Height", 1024)
    page.get_by_label("Randomize seed").uncheck()
    page.get_by_role("textbox", name="Seed").fill("7")
    set_number(page, "Steps", 30)
    set_number(page, "CFG scale", 6.5)
    set_number(page, "Number of results", 2)
    open_panel(page, "Reference images (image to image)")
    expect(page.get_by_label("Reference URLs or imageUUIDs")).to_be_visible()
    close_panel(page, "Reference images (image to image)")
    open_panel(page, "Output")
    page.get_by_label("PNG").check()
    set_number(page, "Quality", 80)
    page.get_by_label("base64Data").check()
    # Opening Advanced used to turn the empty TTL into 0, refused on every later run.
    open_panel(page, "Advanced")
    expect(page.get_by_label("TTL (seconds)")).to_have_value("")
    page.get_by_label("async").check()
    page.get_by_label("Safety check").check()
    expect(page.locator("#safety-mode input")).to_have_value("fast")
    close_panel(page, "Advanced")
    # A visitor's own key switches this session's badge to live; clearing it switches back.
    open_panel(page, "Your Runware API key (optional)")
    key = page.get_by_label("API key")
    key.fill("sk-visitor-test-key")
    key.blur()
    expect(page.locator("#backend-badge")).to_contain_text("Live Runware API")
    key.fill("")
    key.blur()
    expect(page.locator("#backend-badge")).to_contain_text("Mock backend")

    run(page, 2)
    sent = request_sent(page)
    assert "ttl" not in sent  # empty stays empty
    assert (sent["width"], sent["height"], sent["seed"], sent["steps"], sent["CFGScale"]) == (
        768,
        1024,
        7,
        30,
        6.5,
    )
    assert (sent["outputFormat"], sent["outputQuality"], sent["outputType"]) == ("PNG", 80, "base64Data")
    assert sent["deliveryMethod"] == "async" and sent["safety"] == {"checkContent": True, "mode": "fast"}
    assert [r[1] for r in rows(page)] == ["7", "8"]
    expect(page.get_by_role("textbox", name="Seed")).to_have_value("7")
    check_page(page, name)
    shot(page, f"{name}-02-result")

    # A value past its bound is reported next to its field in Runware's words, and kept
    # as typed (the slider used to clamp 5000 to 2048 silently); nothing is sent.
    before = status(page).inner_text()
    set_number(page, "Width", 5000)
    generate_button(page).click()
    width = page.locator("#width")
    expect(width).to_contain_text("invalidWidth")
    expect(width).to_contain_text("must be between 128 and 2048 (got 5000)")
    expect(page.get_by_label("number input for Width")).to_have_value("5000")
    assert status(page).inner_text() == before
    check_page(page, name)  # the error's colours too
    shot(page, f"{name}-03-error")


# --- phone layout -----------------------------------------------------------------


def test_on_a_phone_the_result_is_under_generate_and_shown_whole(phone):
    phone.get_by_label("Prompt").fill('A poster that reads "TALL" above a sign that reads "WIDE"')
    for shape, size in (("portrait", (960, 1728)), ("landscape", (1728, 960))):
        preset = presets.preset_label(*size)
        phone.get_by_label("Size").click()
        phone.get_by_role("option", name=preset).click()
        run(phone)
        check_page(phone, shape)
        # Right under Generate: the status line, then the picture, with nothing between.
        button = generate_button(phone).bounding_box()
        image = phone.locator("#results-gallery img").bounding_box()
        assert 0 < image["y"] - (button["y"] + button["height"]) < 200
        assert image["height"] <= PHONE["height"]  # it fits the screen (and is whole: check_page)
        shot(phone, f"390-light-04-{shape}", full_page=False)
    for count in (4, 20):
        set_number(phone, "Number of results", count)
        run(phone, count)
        check_page(phone, f"{count} results")
        shot(phone, f"390-light-05-grid-{count}")


# --- seeds ------------------------------------------------------------------------


def test_seed_42_four_times_twice_gives_42_to_45_and_keeps_the_box(page):
    page.get_by_label("Prompt").fill('Four shop signs that read "SEED"')
    page.get_by_label("Randomize seed").uncheck()
    page.get_by_role("textbox", name="Seed").fill("42")
    set_number(page, "Number of results", 4)
    for _ in range(2):
        run(page, 4)
        assert [r[1] for r in rows(page)] == ["42", "43", "44", "45"]  # request order
        expect(page.get_by_role("textbox", name="Seed")).to_have_value("42")
    # Randomize on: the box shows the seed the first image actually used, and image i has
    # seed + i as the hint says (left to the API, each image had an unrelated seed).
    page.get_by_label("Randomize seed").check()
    run(page, 4)
    first = rows(page)[0][1]
    expect(page.get_by_role("textbox", name="Seed")).to_have_value(first)
    assert first != "42"
    assert [int(r[1]) for r in rows(page)] == [int(first) + i for i in range(4)]
    assert request_sent(page)["seed"] == int(first)
    # That seed repeats the whole run.
    page.get_by_label("Randomize seed").uncheck()
    run(page, 4)
    assert [int(r[1]) for r in rows(page)] == [int(first) + i for i in range(4)]


# --- chained edits ----------------------------------------------------------------


def test_a_three_step_chained_edit_builds_on_the_previous_step(phone):
    prompt = phone.get_by_label("Prompt")
    use = phone.get_by_role("button", name="Use as reference")
    note = phone.locator("#reference-note")
    prompt.fill('A shop front with a sign that reads "STEP ONE"')
    run(phone)
    first = rows(phone)[0][2]
    use.click()  # one result: it is the one
    expect(note).to_contain_text(first)
    expect(phone.get_by_label("Reference URLs or imageUUIDs")).to_have_value(first)

    prompt.fill('Add a banner that reads "STEP TWO"')
    run(phone)
    assert request_sent(phone)["inputs"]["referenceImages"] == [first]
    second = rows(phone)[0][2]
    use.click()
    expect(note).to_contain_text(second)
    expect(phone.locator("#selected-info")).to_contain_text("Reference now")
    # The new step replaces the old one instead of piling up.
    expect(phone.get_by_label("Reference URLs or imageUUIDs")).to_have_value(second)

    prompt.fill('Add a chalkboard that reads "STEP THREE"')
    run(phone)
    assert request_sent(phone)["inputs"]["referenceImages"] == [second]
    shot(phone, "390-light-06-chained-edit")


def test_use_as_reference_with_several_results_asks_for_a_selection(page):
    page.get_by_label("Prompt").fill('Two signs that read "PICK ME"')
    set_number(page, "Number of results", 2)
    run(page, 2)
    page.get_by_role("button", name="Use as reference").click()
    info = page.locator("#selected-info")
    expect(info).to_contain_text("Select an image first")
    expect(page.locator(".toast-body")).to_have_count(0)  # words, not a bare red "Error"
    page.get_by_role("button", name="Thumbnail 2 of 2").click()
    expect(info).to_contain_text("Selected image 2 of 2")
    with contextlib.suppress(PlaywrightError):
        page.keyboard.press("Escape")  # leave the enlarged preview
    page.get_by_role("button", name="Use as reference").click()
    expect(page.locator("#reference-note")).to_contain_text(f"image 2 of the last run ({rows(page)[1][2]})")
    shot(page, "1440-light-07-use-as-reference")


# --- progress, stop, delivery ------------------------------------------------------


def test_progress_is_honest_and_stop_cancels(page):
    page.get_by_label("Prompt").fill('A quick sign that reads "FIRST RUN"')
    run(page)
    old = request_sent(page)["taskUUID"]
    # ~2 s of simulated work per image at the in-process mock's pace: long enough to watch.
    page.get_by_label("Prompt").fill('A slow sign that reads "SECOND RUN"')
    set_number(page, "Steps", 300)
    set_number(page, "Number of results", 4)
    open_panel(page, "Advanced")
    page.get_by_label("async").check()
    generate_button(page).click()
    expect(status(page)).to_contain_text("Generating 4 images")
    expect(generate_button(page)).to_be_disabled()
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    # The old results went together: gallery, table and request JSON all belong to the new run.
    expect(page.locator("#results-gallery img")).to_have_count(0)
    assert rows(page) == []
    assert request_sent(page)["taskUUID"] != old
    expect(status(page)).to_contain_text(re.compile(r"[12] of 4 images ready"))
    shot(page, "1440-light-08-in-progress", full_page=False)
    stop.click()
    expect(status(page)).to_contain_text("Stopped")
    expect(generate_button(page)).to_be_enabled()
    expect(stop).to_be_hidden()
    kept = page.locator("#results-gallery img").count()
    assert 1 <= kept < 4 and len(rows(page)) == kept  # what arrived stays, together
    expect(page.locator("#text-check")).to_be_hidden()  # no text check of a stopped run
    # The page works on: the next run goes through.
    set_number(page, "Steps", 20)
    set_number(page, "Number of results", 1)
    run(page)


def test_the_built_in_mock_refuses_a_webhook_next_to_its_field(page):
    # The app's in-process mock sends nothing by default (a Space must not call its own
    # loopback for a visitor); where webhooks are delivered is tested through /generate
    # on an app started with GLM_IMAGE_MOCK_OUTBOUND=1 (tests/ui/test_app_api.py).
    with run_receiver() as hook:
        page.get_by_label("Prompt").fill('A sign that reads "DELIVERED"')
        open_panel(page, "Advanced")
        page.get_by_label("Webhook URL").fill(f"{hook.url}/hook")
        generate_button(page).click()
        # The mock's own answer, in its words, where a failed run is reported.
        expect(status(page)).to_contain_text("Failed")
        expect(status(page)).to_contain_text("this mock does not deliver webhooks or uploads")
        assert hook.hits == []
    expect(generate_button(page)).to_be_enabled()
    shot(page, "1440-light-09-webhook-refused", full_page=False)


# --- code that runs as printed -------------------------------------------------------


def test_snippets_of_an_upload_run_run_and_response_urls_open(page, tmp_path: Path):
    picture = tmp_path / "shelf.png"
    Image.effect_noise((200, 150), 50).convert("RGB").save(picture)
    page.get_by_label("Prompt").fill('Put a price tag that reads "SALE" on the shelf')
    set_number(page, "Width", 512)
    set_number(page, "Height", 384)
    open_panel(page, "Reference images (image to image)")
    page.locator("#reference-images input[type=file]").set_input_files(str(picture))
    expect(page.locator("#reference-images")).to_contain_text("shelf.png")
    run(page)
    response = json.loads(copy_code(page, "Response"))
    (item,) = response["data"]
    assert item["imageURL"].startswith(page.url.split("?")[0].rstrip("/") + "/image/")
    assert Image.open(io.BytesIO(fetch(item["imageURL"]))).size == (512, 384)
    curl, python = copy_code(page, "curl"), copy_code(page, "Python")
    assert "…" not in curl and "characters)" not in curl  # the upload is in full
    with spawn_mock() as mock:
        for endpoint in (None, f"{mock.url}/v1"):  # as printed (this app), and a fresh mock
            answer = run_curl(curl, endpoint)
            assert "errors" not in answer and fetch(answer["data"][0]["imageURL"])
            (printed,) = run_python(python, endpoint)
            assert fetch(printed["url"])
    shot(page, "1440-light-10-developer", full_page=False)


# --- kept from before: errors and examples ---------------------------------------------


def test_an_invalid_prompt_is_reported_beside_it_and_nothing_is_sent(phone):
    prompt = phone.get_by_label("Prompt")
    prompt.fill("x")
    prompt.press("Enter")  # Enter submits, like the Generate button
    expect(phone.locator("#positive-prompt")).to_contain_text("invalidPositivePrompt")
    expect(status(phone)).to_contain_text("Ready")
    expect(phone.locator("#results-gallery img")).to_have_count(0)
    shot(phone, "390-light-11-prompt-error", full_page=False)


def test_a_backend_error_shows_runware_code_and_message(page):
    unknown = "3f1c9a52-3a4b-4c5d-8e6f-0123456789ab"  # valid UUID v4, never uploaded
    page.get_by_label("Prompt").fill('Edit the reference: add a sign that reads "EDIT"')
    open_panel(page, "Reference images (image to image)")
    page.get_by_label("Reference URLs or imageUUIDs").fill(unknown)
    generate_button(page).click()
    toast = page.locator(".toast-body").first
    expect(toast).to_contain_text("invalidReferenceImages")
    expect(toast).to_contain_text(unknown)
    expect(status(page)).to_contain_text("Failed")
    expect(status(page)).to_contain_text("invalidReferenceImages")
    expect(generate_button(page)).to_be_enabled()
    shot(page, "1440-light-12-backend-error")


def test_an_example_click_fills_the_form_and_generates(page):
    example = next(e for e in load_examples() if e.kind == "image-to-image")
    documented = example.response["data"][0]
    page.locator("#showcase-gallery").get_by_text(example.title).click()
    expect(page.get_by_label("Prompt")).to_have_value(example.request["positivePrompt"])
    expect(page.get_by_label("Reference URLs or imageUUIDs")).to_have_value(
        example.request["inputs"]["referenceImages"][0]
    )
    expect(status(page)).to_contain_text("Done")
    ((_, seed, uuid, *_),) = rows(page)
    assert (uuid, seed) == (documented["imageUUID"], str(documented["seed"]))
    expect(page.get_by_role("textbox", name="Seed")).to_have_value(str(documented["seed"]))
    assert UUID.fullmatch(uuid)
    shot(page, "1440-light-13-example")


# --- the text check ------------------------------------------------------------------

BILINGUAL = 'A tea shop sign that reads "OPEN DAILY" above a banner "欢迎光临"'

# Keeps every text the text-check line shows, and notes, when a row of its table first
# shows, whether the gallery already showed its images (the check must never come first).
WATCH_CHECK_JS = """() => {
  window.__lines = [];
  window.__imagesBeforeRow = null;
  if (window.__checkWatch) window.__checkWatch.disconnect();
  const shown = (el) => el && el.getBoundingClientRect().height > 0;
  window.__checkWatch = new MutationObserver(() => {
    const line = document.querySelector('#text-check');
    const text = shown(line) ? line.innerText.trim() : '';
    if (text && text !== window.__lines[window.__lines.length - 1]) window.__lines.push(text);
    const row = document.querySelector('#text-check-table .virtual-row');
    if (window.__imagesBeforeRow === null && shown(row)) {
      const imgs = [...document.querySelectorAll('#results-gallery img')];
      window.__imagesBeforeRow = imgs.length > 0 && imgs.every(shown);
    }
  });
  window.__checkWatch.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def check_line(page):
    return page.locator("#text-check")


def check_rows(page) -> list[list[str]]:
    """The text-check table: image, asked for, read, score, ok per quoted string."""
    return [text.split("\n") for text in page.locator("#text-check-table .virtual-row").all_inner_texts()]


@pytest.mark.parametrize(
    ("viewport", "theme"),
    [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")],
    ids=["1440-light", "1440-dark", "390-light", "390-dark"],
)
def test_the_text_check_fills_in_under_the_results_after_the_images(open_page, viewport, theme):
    if fallback_font_path() is None:
        pytest.skip("no CJK font for the mock's previews (apt-get install fonts-wqy-zenhei)")
    name = f"{viewport['width']}-{theme}"
    page = open_page(viewport, theme)
    page.get_by_label("Prompt").fill(BILINGUAL)
    set_number(page, "Width", 512)
    set_number(page, "Height", 384)
    set_number(page, "Number of results", 2)
    page.evaluate(WATCH_CHECK_JS)
    run(page, 2)
    expect(check_line(page)).to_have_text("Text check: ✓ 4 of 4 strings written correctly")
    assert page.evaluate("window.__imagesBeforeRow") is True  # the pictures came first
    assert page.evaluate("window.__lines")[0] == "Text check: reading 2 quoted strings in 2 images…"
    assert [[r[0], r[1], r[4]] for r in check_rows(page)] == [
        ["1", "OPEN DAILY", "✓"],
        ["1", "欢迎光临", "✓"],
        ["2", "OPEN DAILY", "✓"],
        ["2", "欢迎光临", "✓"],
    ]
    check_page(page, name)
    shot(page, f"{name}-14-text-check")


def test_a_new_run_cancels_the_check_still_reading_the_last_one(page):
    page.get_by_label("Prompt").fill('Eight shop signs that read "FIRST RUN" and "OLD CHECK"')
    set_number(page, "Number of results", 8)  # 1024x1024: seconds of reading on two cores
    run(page, 8)
    expect(check_line(page)).to_contain_text("images read…")
    page.get_by_label("Prompt").fill('A sign that reads "FRESH BREAD"')
    set_number(page, "Number of results", 1)
    set_number(page, "Width", 384)
    set_number(page, "Height", 256)
    # On a quick machine the old check may finish, or nearly, while the form is filled
    # (its last image read during the click): then only the new run's own line is checked.
    read = re.search(r"(\d+) of 8 images read", check_line(page).inner_text())
    still_reading = read is not None and int(read.group(1)) <= 4
    page.evaluate(WATCH_CHECK_JS)  # from here on, just before Generate
    run(page)
    expect(check_line(page)).to_have_text("Text check: ✓ 1 of 1 string written correctly")
    assert [[r[0], r[1], r[4]] for r in check_rows(page)] == [["1", "FRESH BREAD", "✓"]]
    if still_reading:
        # The old check read its images ahead of the new one on the OCR pool: had it not
        # been cancelled, its summary would have shown by now.
        assert not [line for line in page.evaluate("window.__lines") if "of 16 strings" in line]


def _broken_ocr(folder: Path) -> Path:
    """A stand-in for the OCR package, first on the app's path: its engine raises on every read."""
    package = folder / "rapidocr_onnxruntime"
    package.mkdir()
    (package / "__init__.py").write_text(
        "class RapidOCR:\n"
        "    def __init__(self, **options):\n"
        "        pass\n"
        "    def __call__(self, image):\n"
        "        raise RuntimeError('the OCR engine crashed')\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize("case", ["ocr-raising", "check-off"])
def test_a_failing_or_disabled_check_leaves_the_generation_intact(browser, tmp_path: Path, case: str):
    env = {"GLM_IMAGE_TEXT_CHECK": "0"} if case == "check-off" else {"PYTHONPATH": str(_broken_ocr(tmp_path))}
    with run_app(tmp_path / "app.log", **env) as url:
        context = browser.new_context(viewport=DESKTOP)
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_label("Prompt").fill('A sign that reads "FRESH BREAD"')
            set_number(page, "Width", 384)
            set_number(page, "Height", 256)
            run(page)
            if case == "check-off":
                expect(check_line(page)).to_be_hidden()
            else:
                expect(check_line(page)).to_have_text(
                    "Text check: not available: OCR failed (RuntimeError: the OCR engine crashed)"
                )
                shot(page, "1440-light-15-text-check-not-available", full_page=False)
            expect(page.locator("#text-check-table")).to_be_hidden()
            assert len(rows(page)) == 1 and "Done" in status(page).inner_text()
        finally:
            context.close()
        # The API answers as before, with the image, and says the same in its table.
        client = Client(url, verbose=False, download_files=False)
        prompt = 'A sign that reads "FRESH BREAD"'
        out = client.predict(positive_prompt=prompt, width=384, height=256, api_name="/generate")
    assert len(out[0]) == 1 and "Done" in out[6]
    why = "not available: OCR failed (RuntimeError: the OCR engine crashed)"
    expected = [] if case == "check-off" else [[1, "FRESH BREAD", "", None, why]]
    assert out[8]["data"] == expected
