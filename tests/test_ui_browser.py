"""The web chat in a real headless Chromium (Debian's `chromium`; no browser downloads)."""

import json
import shutil
from pathlib import Path

import pytest

from assistant.ui import CANONICAL_QUESTION, serve
from conftest import CANONICAL, free_port

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


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


@pytest.fixture
def open_chat(browser_page):
    """Serve the web chat for a bot on a free loopback port and open it in the browser."""
    demos = []

    def open_for(bot):
        port = free_port()
        demos.append(serve(bot, "127.0.0.1", port, block=False))
        browser_page.goto(f"http://127.0.0.1:{port}/")
        return browser_page

    yield open_for
    for demo in demos:
        demo.close()


def _ask(page, question):
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def _cited_answer_sources(page, expected: str, timeout: int = 30_000) -> str:
    """Wait for an answer containing ``expected`` with a [1] marker; the sources panel's text."""
    chat = page.locator("#chat")
    chat.get_by_text(expected, exact=False).first.wait_for(timeout=60_000)
    assert "[1]" in chat.inner_text()
    sources = page.locator("#sources")
    sources.locator("#source-1").wait_for(timeout=timeout)
    return sources.inner_text()


def _screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_web_chat_answers_the_canonical_question_with_sources(seeded, open_chat):
    assert CANONICAL_QUESTION == CANONICAL
    page = open_chat(seeded)
    page.get_by_text("1 article(s) in the archive").wait_for(timeout=30_000)
    _ask(page, CANONICAL)
    text = _cited_answer_sources(page, "Critical Minerals and Rare Earths", timeout=10_000)
    assert "[1] Japan US summit agrees critical minerals framework" in text
    assert "2025-10-28" in text
    assert "Framework For Securing the Supply of Critical Minerals" in text
    assert page.locator("#sources mark").count() >= 1  # the quoted passage is highlighted
    _screenshot(page, "web_chat_canonical.png")


def test_web_chat_says_when_the_archive_is_empty(bot, open_chat):
    page = open_chat(bot)
    page.get_by_text("The archive is empty.").wait_for(timeout=30_000)
    _ask(page, CANONICAL)
    page.locator("#chat").get_by_text("ingest some articles first").wait_for(timeout=30_000)
    _screenshot(page, "web_chat_empty.png")


TUNNEL = """---
title: Harbour tunnel opens to traffic
date: 2025-11-03
---
The new harbour tunnel opened to traffic on Monday after six years of construction.
The tunnel carries four lanes under the bay and cost 2.1 billion euros.
City officials said the tunnel would cut the crossing time from forty minutes to eight.
"""


def test_upload_then_ask_streams_a_cited_answer_and_records_feedback(bot, open_chat, tmp_path):
    article = tmp_path / "harbour-tunnel.md"
    article.write_text(TUNNEL)
    (tmp_path / "empty.md").write_text("")
    page = open_chat(bot)
    page.get_by_text("The archive is empty.").wait_for(timeout=30_000)

    page.locator("#add-articles").get_by_text("Add articles").click()
    upload = page.locator("#upload")
    upload.get_by_text("Click to Upload").wait_for(timeout=30_000)  # the drop zone is rendered
    upload.locator("input[type=file]").set_input_files([str(article), str(tmp_path / "empty.md")])
    upload.get_by_text("harbour-tunnel.md").first.wait_for(timeout=30_000)
    page.locator("#add").click()
    result = page.locator("#upload-result")
    result.get_by_text("1 article(s) added").wait_for(timeout=60_000)
    assert "empty.md: empty file" in result.inner_text()  # the CLI's checks, shown on the page
    page.get_by_text("1 article(s) in the archive").wait_for(timeout=30_000)
    _screenshot(page, "web_chat_upload.png")

    _ask(page, "How long does the crossing take through the harbour tunnel?")
    text = _cited_answer_sources(page, "from forty minutes to eight")
    assert "[1] Harbour tunnel opens to traffic" in text and "2025-11-03" in text
    assert "upload:harbour-tunnel.md" in text
    assert "support" in text  # the verified support score of each citation
    assert any("forty minutes" in m for m in page.locator("#sources mark").all_inner_texts())
    _screenshot(page, "web_chat_uploaded_answer.png")

    page.locator("#chat button[aria-label='Like']").last.click()
    feedback = bot.settings.feedback_file
    for _ in range(300):  # the vote is written by the server, shortly after the click
        if feedback.exists() and feedback.read_text().strip():
            break
        page.wait_for_timeout(100)
    [row] = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert row["liked"] is True and row["citations"][0]["title"] == "Harbour tunnel opens to traffic"

    # the date filter: the article is from November, so October finds nothing, and says so
    page.locator("#until input, #until textarea").first.fill("2025-10-31")
    _ask(page, "How long does the crossing take through the harbour tunnel?")
    page.locator("#chat").get_by_text("No article in the archive was published", exact=False)\
        .first.wait_for(timeout=60_000)
    _screenshot(page, "web_chat_date_filter.png")
