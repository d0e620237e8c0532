"""The first screen in real Chromium: the showcase, before/after, history, price, links.

Same app, browser and helpers as test_ui_browser.py (one launched app per module, every
wait bounded, the page found by labels, roles and text). Screenshots go to
tests/artifacts/ as ``<width>-<theme>-2x-<state>.png``.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from PIL import Image

from api_schema import load_examples
from api_schema.quotes import quoted_strings
from demo.backend import example_pictures
from demo.ui import links, presets
from tests.support.browser import (
    BROWSER_MODULE,
    DESKTOP,
    PHONE,
    check_page,
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
from tests.support.page_checks import WHOLE_IMAGES_JS

pytestmark = BROWSER_MODULE

SHOWCASE_LOADED_JS = """() => {
  const imgs = [...document.querySelectorAll('#showcase-gallery img')];
  return imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""
VIEWS = [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")]
VIEW_IDS = ["1440-light", "1440-dark", "390-light", "390-dark"]


def showcase(page):
    return page.locator("#showcase-gallery")


def price(page):
    return page.locator("#price")


def image_bytes(page, selector: str) -> list[bytes]:
    srcs = page.eval_on_selector_all(selector, "els => els.map(e => e.src)")
    return [fetch(src) for src in srcs]


# --- the showcase ------------------------------------------------------------------


@pytest.mark.parametrize(("viewport", "theme"), VIEWS, ids=VIEW_IDS)
def test_the_showcase_pictures_load_before_any_click(open_page, viewport, theme):
    name = f"{viewport['width']}-{theme}"
    page = open_page(viewport, theme)
    page.wait_for_function(SHOWCASE_LOADED_JS)
    # The line that says what the model is for, and how to ask for text.
    expect(page.locator("#hero")).to_contain_text("inside the picture")
    expect(page.locator("#hero")).to_contain_text('"quotes"')
    for example in load_examples():
        card = showcase(page).get_by_role("button").filter(has_text=example.title)
        expect(card).to_be_visible()
        for text in quoted_strings(example.request["positivePrompt"]):
            expect(card).to_contain_text(f"“{text}”")
    # Before any run the empty result area steps aside: the showcase is on the first screen.
    first = showcase(page).locator("img").first.bounding_box()
    assert first["y"] < viewport["height"], first
    assert page.evaluate(WHOLE_IMAGES_JS, "#showcase-gallery") == []
    check_page(page, name)
    shot(page, f"{name}-2x-01-first-screen", full_page=False)


def test_clicking_a_showcase_picture_generates_exactly_that_picture(page):
    example = load_examples()[0]
    page.wait_for_function(SHOWCASE_LOADED_JS)
    showcase(page).get_by_text(example.title).click()
    expect(page.get_by_label("Prompt")).to_have_value(example.request["positivePrompt"])
    expect(status(page)).to_contain_text("Done")
    ((_, seed, uuid, *_),) = rows(page)
    documented = example.response["data"][0]
    assert (uuid, seed) == (documented["imageUUID"], str(documented["seed"]))
    # The showcase picture is the mock's answer, scaled: the result is that picture in full.
    (result,) = image_bytes(page, "#results-gallery img")
    assert result == example_pictures()[0]
    # The showcase stays below, to try another.
    expect(showcase(page).locator("img")).to_have_count(4)
    shot(page, "1440-light-2x-02-showcase-run")


# --- before / after ------------------------------------------------------------------


def test_an_image_to_image_run_shows_reference_and_result_side_by_side(page, tmp_path: Path):
    picture = tmp_path / "red-shelf.png"
    Image.new("RGB", (400, 300), (220, 30, 30)).save(picture)
    page.get_by_label("Prompt").fill('Put a price tag that reads "SALE" on the shelf')
    open_panel(page, "Reference images (image to image)")
    page.locator("#reference-images input[type=file]").set_input_files(str(picture))
    expect(page.locator("#reference-images")).to_contain_text("red-shelf.png")
    run(page)
    pair = page.locator("#before-after")
    expect(pair).to_be_visible()
    expect(pair).to_contain_text("Before / after")
    expect(pair.locator("img")).to_have_count(2)
    before, after = (Image.open(io.BytesIO(b)) for b in image_bytes(page, "#before-after img"))
    (result,) = image_bytes(page, "#results-gallery img")
    # The reference, drawn whole at the result's size; the result itself on the other side.
    assert before.size == after.size == Image.open(io.BytesIO(result)).size
    r, g, b = before.convert("RGB").getpixel((before.width // 2, before.height // 2))
    assert r > 180 and g < 80 and b < 80, (r, g, b)
    # The slider really slides: dragging its handle moves the split.
    box = pair.locator("img").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    shot(page, "1440-light-2x-03-before-after")
    # A text-to-image run hides it again, with the rest of the last results.
    page.locator("#reference-images").get_by_role("button", name="Clear").click()
    page.get_by_label("Prompt").fill('A plain sign that reads "NO EDIT"')
    run(page)
    expect(pair).to_be_hidden()


def test_a_documented_edit_shows_the_stand_in_next_to_the_result(phone):
    example = next(e for e in load_examples() if e.kind == "image-to-image")
    phone.wait_for_function(SHOWCASE_LOADED_JS)
    showcase(phone).get_by_text(example.title).click()
    expect(status(phone)).to_contain_text("Done")
    expect(phone.locator("#before-after img")).to_have_count(2)
    check_page(phone, "documented edit")
    shot(phone, "390-light-2x-04-before-after-example")


# --- history and compare ---------------------------------------------------------------


def test_two_runs_appear_in_the_history_and_clicking_the_first_restores_it(page):
    first_prompt = 'A tea shop sign that reads "FIRST RUN"'
    page.get_by_label("Prompt").fill(first_prompt)
    page.get_by_label("Randomize seed").uncheck()
    page.get_by_role("textbox", name="Seed").fill("7")
    run(page)
    first_image = image_bytes(page, "#results-gallery img")
    first_request = request_sent(page)
    strip = page.locator("#history-strip")
    expect(strip.locator("img")).to_have_count(1)

    page.get_by_label("Prompt").fill('Two bakery signs that read "SECOND RUN"')
    page.get_by_role("textbox", name="Seed").fill("100")
    set_number(page, "Number of results", 2)
    run(page, 2)
    expect(strip.locator("img")).to_have_count(2)
    expect(strip).to_contain_text("Run 1")
    expect(strip).to_contain_text("Run 2")
    expect(page.locator("#text-check")).to_contain_text("2 of 2 strings")

    strip.get_by_role("button", name="Thumbnail 1 of 2").click()
    expect(status(page)).to_contain_text("Restored run 1")
    # Run 2's text check is not shown under run 1's images.
    expect(page.locator("#text-check")).to_be_hidden()
    expect(page.get_by_label("Prompt")).to_have_value(first_prompt)
    expect(page.get_by_role("textbox", name="Seed")).to_have_value("7")
    expect(page.get_by_label("number input for Number of results")).to_have_value("1")
    expect(page.locator("#results-gallery img")).to_have_count(1)
    assert [r[1] for r in rows(page)] == ["7"]
    assert image_bytes(page, "#results-gallery img") == first_image
    assert request_sent(page)["taskUUID"] == first_request["taskUUID"]
    # Compare: every image of the ticked runs in one grid (both runs ticked at first).
    open_panel(page, "Compare runs side by side")
    grid = page.locator("#compare-grid")
    expect(grid.locator("img")).to_have_count(3)
    expect(grid).to_contain_text("Run 2 · #2 · seed 101")
    page.locator("#compare-pick label").filter(has_text="Run 1 ·").click()  # untick run 1
    expect(grid.locator("img")).to_have_count(2)
    check_page(page, "history")
    shot(page, "1440-light-2x-05-history-compare")


def test_a_restored_run_can_be_the_reference_of_the_next_edit(phone):
    phone.get_by_label("Prompt").fill('A shop front with a sign that reads "BASE"')
    run(phone)
    base = rows(phone)[0][2]
    phone.get_by_label("Prompt").fill('Another sign that reads "OTHER"')
    run(phone)
    phone.locator("#history-strip").get_by_role("button", name="Thumbnail 1 of 2").click()
    expect(status(phone)).to_contain_text("Restored run 1")
    phone.get_by_role("button", name="Use as reference").click()
    expect(phone.get_by_label("Reference URLs or imageUUIDs")).to_have_value(base)
    phone.get_by_label("Prompt").fill('Add a banner that reads "EDITED"')
    run(phone)
    assert request_sent(phone)["inputs"]["referenceImages"] == [base]
    # The reference came from this session's history: its before/after shows it.
    expect(phone.locator("#before-after img")).to_have_count(2)
    shot(phone, "390-light-2x-06-history-edit")


# --- price ----------------------------------------------------------------------------


def test_the_cost_estimate_changes_with_size_and_number_of_results(page):
    expect(price(page)).to_contain_text("No credits used")
    expect(price(page)).to_contain_text("$0.0225 for 1 image")
    set_number(page, "Number of results", 4)
    expect(price(page)).to_contain_text("$0.0900 for 4 images")
    page.get_by_label("Size").click()
    page.get_by_role("option", name=presets.preset_label(1024, 768)).click()
    expect(price(page)).to_contain_text("$0.0675 for 4 images")
    set_number(page, "Width", 5000)
    expect(price(page)).not_to_contain_text("$")
    set_number(page, "Width", 2048)
    expect(price(page)).to_contain_text("$0.1350 for 4 images")
    # A visitor's key means the live API: the line becomes the price the key will pay.
    open_panel(page, "Your Runware API key (optional)")
    expect(page.locator("#key-help")).to_contain_text("my.runware.ai/signup")
    expect(page.locator("#key-help")).to_contain_text("Clear the box to go back to the mock")
    key = page.get_by_label("API key")
    key.fill("sk-visitor-price-key")
    key.blur()
    expect(price(page)).to_contain_text("Estimated cost: about $0.1350 for 4 images")
    expect(page.locator("#backend-badge")).to_contain_text("Live Runware API")
    # The badge and the key panel sit together at the top, above the prompt.
    badge = page.locator("#backend-badge").bounding_box()
    panel = page.locator("#panel-key").bounding_box()
    prompt = page.get_by_label("Prompt").bounding_box()
    assert panel["y"] < prompt["y"] and badge["y"] < prompt["y"]
    shot(page, "1440-light-2x-07-price-live", full_page=False)
    key.fill("")
    key.blur()
    expect(price(page)).to_contain_text("No credits used")
    assert "sk-visitor-price-key" not in page.content()


# --- shareable links --------------------------------------------------------------------


def test_a_shared_link_fills_the_form_in_a_new_page(open_page, app_url: str):
    page = open_page()
    prompt = 'A café menu board that reads "SOUP & BREAD" — 50% off'
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Size").click()
    page.get_by_role("option", name=presets.preset_label(1056, 1568)).click()
    page.get_by_label("Randomize seed").uncheck()
    page.get_by_role("textbox", name="Seed").fill("9223372036854775807")
    set_number(page, "Steps", 33)
    set_number(page, "CFG scale", 6.25)
    set_number(page, "Number of results", 3)
    open_panel(page, "Output")
    page.get_by_label("PNG").check()
    open_panel(page, "Your Runware API key (optional)")
    page.get_by_label("API key").fill("sk-never-in-a-link")
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#share-note")).to_contain_text("Link copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.url  # the address bar holds it too
    assert "sk-never" not in link and "key" not in parse_qs(urlsplit(link).query)

    other = open_page(PHONE)
    other.goto(link)
    expect(other.get_by_label("Prompt")).to_have_value(prompt)
    expect(other.get_by_label("number input for Width")).to_have_value("1056")
    expect(other.get_by_label("number input for Height")).to_have_value("1568")
    expect(other.get_by_label("Size")).to_have_value(presets.preset_label(1056, 1568))
    expect(other.get_by_role("textbox", name="Seed")).to_have_value("9223372036854775807")
    expect(other.get_by_label("Randomize seed")).not_to_be_checked()
    expect(other.get_by_label("number input for Steps")).to_have_value("33")
    expect(other.get_by_label("number input for CFG scale")).to_have_value("6.25")
    expect(other.get_by_label("number input for Number of results")).to_have_value("3")
    open_panel(other, "Output")
    expect(other.get_by_label("PNG")).to_be_checked()
    expect(other.locator("#link-note")).to_contain_text("Filled from a shared link")
    open_panel(other, "Your Runware API key (optional)")
    expect(other.get_by_label("API key")).to_have_value("")
    shot(other, "390-light-2x-08-shared-link", full_page=False)
    run(other, 3)
    sent = request_sent(other)
    assert (sent["positivePrompt"], sent["width"], sent["height"], sent["seed"]) == (
        prompt,
        1056,
        1568,
        9223372036854775807,
    )
    assert (sent["steps"], sent["CFGScale"]) == (33, 6.25)
    assert (sent["numberResults"], sent["outputFormat"]) == (3, "PNG")


def test_after_a_run_the_address_bar_links_to_it(page):
    page.get_by_label("Prompt").fill('A sign that reads "LINKED"')
    run(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["prompt"] == ['A sign that reads "LINKED"']
    assert query["width"] == ["1024"] and query["n"] == ["1"]


HOSTILE = [
    # (query, what the page must show)
    ("width=5000&prompt=" + quote('A sign that reads "WIDE"'), ("#link-note", "invalidWidth")),
    ("width=abc&height=1e999&steps=NaN", ("#link-note", "is not a number")),
    ("prompt=" + quote("<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"), None),
    ("format=GIF&cfg=7.5", ("#link-note", "not one of JPG, PNG, WEBP")),
    ("api_key=sk-stolen&prompt=hi%20there", ("#link-note", "Keys never travel in links")),
    ("prompt=" + "x" * 20_000, ("#link-note", "cut to 6,000 characters")),
    ("seed=-5&n=0&steps=99999", ("#link-note", "invalidSeed")),
    ("prompt=%E0%A4%A&width=%00%ff&&&=&n", None),
]


@pytest.mark.parametrize(("query", "shown"), HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_a_hostile_link_is_reported_and_never_executed(open_page, app_url: str, query: str, shown):
    page = open_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{app_url}/?{query}")
    expect(generate_button(page)).to_be_visible()
    page.wait_for_function(SHOWCASE_LOADED_JS)
    if shown:
        selector, text = shown
        expect(page.locator(selector)).to_contain_text(text)
    if "script" in query:
        expect(page.get_by_label("Prompt")).to_have_value(
            "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
        )
    if "api_key" in query:
        open_panel(page, "Your Runware API key (optional)")
        expect(page.get_by_label("API key")).to_have_value("")
        expect(page.locator("#backend-badge")).to_contain_text("Mock backend")
    assert page.evaluate("window.__pwned") is None
    assert errors == []
    # Nothing was sent, and the page still works.
    assert status(page).inner_text().startswith("Ready")
    if "5000" in query:
        # As typed, and reported next to its field by Generate, as always; nothing is sent.
        expect(page.get_by_label("number input for Width")).to_have_value("5000")
        generate_button(page).click()
        expect(page.locator("#width")).to_contain_text("must be between 128 and 2048 (got 5000)")
        assert status(page).inner_text().startswith("Ready")


def test_links_read_only_the_documented_parameters():
    assert set(links.PARAMS) == {"prompt", "width", "height", "seed", "steps", "cfg", "n", "format"}
    assert "api_key" not in links.PARAMS.values()


def test_the_screens_are_captured_with_history_at_both_widths(open_page):
    for viewport, theme in VIEWS:
        page = open_page(viewport, theme)
        page.wait_for_function(SHOWCASE_LOADED_JS)
        page.get_by_label("Prompt").fill('A shop front with a sign that reads "OPEN"')
        run(page)
        page.get_by_label("Prompt").fill('Add a banner that reads "GRAND OPENING"')
        page.get_by_role("button", name="Use as reference").click()
        run(page)
        expect(page.locator("#before-after img")).to_have_count(2)
        expect(page.locator("#history-strip img")).to_have_count(2)
        check_page(page, f"{viewport['width']}-{theme}")
        shot(page, f"{viewport['width']}-{theme}-2x-09-edit-and-history")
