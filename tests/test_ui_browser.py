"""The web chat in a real headless Chromium (Debian's `chromium`; no browser downloads)."""

import shutil
import socket
from pathlib import Path

import pytest

from assistant.ui import CANONICAL_QUESTION, serve
from conftest import CANONICAL

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser_page():
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is required for the UI test: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def _launch(bot):
    port = _free_port()
    demo = serve(bot, "127.0.0.1", port, block=False)
    return demo, f"http://127.0.0.1:{port}/"


def test_web_chat_answers_the_canonical_question_with_sources(seeded, browser_page):
    assert CANONICAL_QUESTION == CANONICAL
    demo, url = _launch(seeded)
    page = browser_page
    try:
        page.goto(url)
        page.get_by_text("1 article(s) in the archive").wait_for(timeout=30_000)
        page.locator("#question textarea").fill(CANONICAL)
        page.locator("#ask").click()
        chat = page.locator("#chat")
        chat.get_by_text("financial support mechanisms", exact=False).first.wait_for(
            timeout=60_000
        )
        assert "[1]" in chat.inner_text()
        sources = page.locator("#sources")
        sources.locator("#source-1").wait_for(timeout=10_000)
        text = sources.inner_text()
        assert "[1] Japan US summit agrees critical minerals framework" in text
        assert "2025-10-28" in text
        assert "Framework For Securing the Supply of Critical Minerals" in text
        assert sources.locator("mark").count() >= 1  # the quoted passage is highlighted
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web_chat_canonical.png"), full_page=True)
    finally:
        demo.close()


def test_web_chat_says_when_the_archive_is_empty(bot, browser_page):
    demo, url = _launch(bot)
    page = browser_page
    try:
        page.goto(url)
        page.get_by_text("The archive is empty.").wait_for(timeout=30_000)
        page.locator("#question textarea").fill(CANONICAL)
        page.locator("#ask").click()
        page.locator("#chat").get_by_text("ingest some articles first").wait_for(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web_chat_empty.png"), full_page=True)
    finally:
        demo.close()
