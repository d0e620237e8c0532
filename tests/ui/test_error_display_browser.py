"""What the page shows when something is wrong, and what it leaves in the console, in
real Chromium: errors readable in both themes, the status line not covered, the code
boxes readable, and a run that leaves no failed request behind.

Same fixtures as tests/ui/test_ui_browser.py (one app and one browser per module).
"""

from __future__ import annotations

import pytest

from tests.support.browser import (
    BROWSER_MODULE,
    DESKTOP,
    PHONE,
    check_page,
    expect,
    generate_button,
    open_panel,
    run,
    set_number,
    shot,
    status,
)

pytestmark = BROWSER_MODULE

BOTH = pytest.mark.parametrize(
    ("viewport", "theme"),
    [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")],
    ids=["1440-light", "1440-dark", "390-light", "390-dark"],
)


@BOTH
def test_the_prompt_error_is_readable_in_both_themes(open_page, viewport, theme):
    # A textbox puts its message inside the label chip: stock red on indigo was 1.67:1 (dark).
    name = f"{viewport['width']}-{theme}"
    page = open_page(viewport, theme)
    # Advanced first: its fields mount as it opens, and a box filled at that moment may
    # be mounted again, empty.
    open_panel(page, "Advanced")
    ttl = page.get_by_placeholder("empty: the API's default")
    expect(ttl).to_be_editable()
    page.get_by_label("Prompt").fill("")
    set_number(page, "Width", 5000)
    ttl.fill("5")
    ttl.press("Tab")  # the visitor leaves the box for the button
    expect(ttl).to_have_value("5")
    generate_button(page).click()
    prompt = page.locator("#positive-prompt")
    expect(prompt).to_contain_text("invalidPositivePrompt")
    expect(prompt).to_contain_text("Advanced › TTL (seconds): invalidTtl")
    expect(page.locator("#width")).to_contain_text("invalidWidth")
    check_page(page, name)
    shot(page, f"{name}-20-prompt-error", full_page=False)


@BOTH
def test_a_backend_error_leaves_the_status_line_uncovered(open_page, viewport, theme):
    # Gradio's tracker drew a red "Error" badge and a close button over "Failed: ...".
    name = f"{viewport['width']}-{theme}"
    page = open_page(viewport, theme)
    page.get_by_label("Prompt").fill('Edit the reference: a sign that reads "EDIT"')
    open_panel(page, "Reference images (image to image)")
    page.get_by_label("Reference URLs or imageUUIDs").fill("3f1c9a52-3a4b-4c5d-8e6f-0123456789ab")
    generate_button(page).click()
    expect(status(page)).to_contain_text("Failed")
    expect(status(page)).to_contain_text("invalidReferenceImages")
    expect(status(page).get_by_text("Error", exact=True)).to_be_hidden()
    expect(status(page).get_by_role("button", name="Clear")).to_be_hidden()
    check_page(page, name)
    shot(page, f"{name}-21-backend-error", full_page=False)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_code_boxes_are_readable_in_both_themes(open_page, theme):
    # The boxes are dark in both themes; the light theme's token colours (comments 2.07:1,
    # shell words 1.77:1) are lightened on that ground.
    page = open_page(DESKTOP, theme)
    page.get_by_label("Prompt").fill('A sign that reads "CODE"')
    run(page)
    open_panel(page, "Developer: request, response and code")
    for tab in ("Request", "curl", "Python"):
        page.get_by_role("tab", name=tab, exact=True).click()
        code = page.locator("#developer .cm-content").locator("visible=true").first
        expect(code).to_contain_text("taskUUID")
        check_page(page, f"{theme} {tab}")
        shot(page, f"1440-{theme}-22-code-{tab}", full_page=False)


def test_generate_leaves_no_failed_request_or_console_error(page):
    # A `cancels=` on Generate posted /cancel and /reset with no event_id: two 422s per run.
    failures: list[str] = []
    page.on("console", lambda m: failures.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.get_by_label("Prompt").fill('Two shop signs that read "ONE" and "TWO"')
    set_number(page, "Number of results", 2)
    run(page, 2)  # no check is reading yet
    run(page, 2)  # the first run's check may still be reading: this run cancels it
    expect(page.locator("#text-check")).to_contain_text("Text check:")
    expect(page.locator("#text-check")).not_to_contain_text("read…")
    assert failures == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440", "390"])
def test_a_hostile_links_numbers_show_whole_in_their_boxes(open_page, app_url: str, viewport):
    # Out of bounds goes in the field as written (never clamped): Gradio's fixed 78 px box
    # showed a linked steps=1e9 as "100000".
    page = open_page(viewport)
    page.goto(f"{app_url}/?width=99999&seed=abc&steps=1e9&n=-3", wait_until="domcontentloaded")
    note = page.locator("#link-note")
    expect(note).to_contain_text("invalidSteps")
    expect(note).to_contain_text("(got 1000000000)")
    for label, shown in (("Steps", "1000000000"), ("Width", "99999"), ("Number of results", "-3")):
        box = page.get_by_label(f"number input for {label}")
        expect(box).to_have_value(shown)
        assert box.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{label} is cut"
    check_page(page, f"{viewport['width']} hostile link")
    shot(page, f"{viewport['width']}-light-23-hostile-link", full_page=False)
