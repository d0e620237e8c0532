"""The running app and the browser for the UI tests."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from mock_api.testing import CHROMIUM, CHROMIUM_ARGS
from tests.support.appserver import run_app
from tests.support.browser import DESKTOP, PHONE, TIMEOUT_MS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Chromium against a live Gradio app on a loaded 2-core machine loses an event now and
    # then (about one browser test in a few hundred runs): one rerun, shown as R in the
    # report, so a flake does not fail CI while a real failure still fails twice.
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with run_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def open_page(browser, app_url: str):
    """open_page(viewport, theme) -> a fresh page (own context: own session) on the app."""
    contexts = []

    def _open(viewport: dict[str, int] = DESKTOP, theme: str = "light"):
        context = browser.new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url + ("/?__theme=dark" if theme == "dark" else "/"), wait_until="domcontentloaded")
        expect(page.get_by_role("button", name="Generate", exact=True)).to_be_visible()
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


@pytest.fixture
def phone(open_page):
    return open_page(PHONE)
