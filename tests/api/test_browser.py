"""The chat page in headless Chromium (system /usr/bin/chromium, never a Playwright download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_engine.api.server import BackgroundServer

from .conftest import API_KEY, REPO, WHY_QUESTION

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
RESULTS = REPO / "bench" / "results"
WAIT_MS = 60_000
NOT_FOUND_QUESTION = "比特币的价格是多少？"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Yield a headless Chromium driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: run scripts/install_chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def ask_on_page(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Type `question`, submit it and wait for the answer to render."""
    page.fill("#question", question)
    page.click("#ask-button")
    page.wait_for_selector(".turn.assistant .answer", timeout=WAIT_MS)


def test_chat_page_answers_with_citations(browser, server: BackgroundServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page.goto(server.url + "/")
    assert page.text_content("h1") == "财报问答"
    page.wait_for_load_state("networkidle")
    assert page.is_hidden("#api-key-box"), "the key field shows although the server needs no key"
    ask_on_page(page, WHY_QUESTION)
    answer = page.text_content(".turn.assistant .answer") or ""
    assert "无法覆盖单位成本" in answer or "价格" in answer
    assert page.get_attribute(".turn.assistant .answer", "data-found") == "true"
    highlighted = page.text_content(".turn.assistant mark.answer-span") or ""
    assert highlighted and highlighted in answer

    card = page.locator(".citation-card").first
    card.wait_for(timeout=WAIT_MS)
    assert "有研新材" in (card.text_content() or "")
    card.click()
    quote = page.locator("#passage-viewer mark.quote")
    quote.wait_for(timeout=WAIT_MS)
    assert "无法覆盖单位成本" in (quote.text_content() or "")
    assert page.is_visible("#passage-viewer")

    page.fill("#question", "那2023年呢？")
    page.click("#ask-button")
    page.wait_for_function("document.querySelectorAll('.turn.assistant .answer').length === 2", timeout=WAIT_MS)
    second_card = page.locator(".turn.assistant").nth(1).locator(".citation-card").first
    assert "有研新材" in (second_card.text_content() or ""), "follow-up lost the conversation's company"

    shot = tmp_path / "web_chat.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web_chat.png").write_bytes(shot.read_bytes())
    page.close()


def test_language_toggle_and_not_found(browser, server: BackgroundServer) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    page.goto(server.url + "/")
    assert page.text_content("h1") == "Filing Q&A"
    page.click("#lang-toggle")
    assert page.text_content("h1") == "财报问答"
    page.click("#lang-toggle")
    assert page.text_content("#ask-button") == "Ask"
    ask_on_page(page, NOT_FOUND_QUESTION)
    assert page.text_content(".turn.assistant .answer") == "Not found in the indexed filings"
    assert page.get_attribute(".turn.assistant .answer", "data-found") == "false"
    assert page.locator(".turn.assistant .citation-card").count() >= 1, "closest passages are missing"
    page.click("#lang-toggle")
    assert page.text_content(".turn.assistant .answer") == "未在已索引的文件中找到答案"
    page.close()


def test_api_key_field_when_server_requires_one(browser, keyed_server: BackgroundServer) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    page.goto(keyed_server.url + "/")
    page.locator("#api-key-box").wait_for(state="visible", timeout=WAIT_MS)
    page.fill("#question", WHY_QUESTION)
    page.click("#ask-button")
    page.wait_for_selector(".turn.assistant .error", timeout=WAIT_MS)
    page.fill("#api-key", API_KEY)
    page.click("#api-key-save")
    assert page.evaluate("localStorage.getItem('qa-engine.apiKey')") == API_KEY
    ask_on_page(page, WHY_QUESTION)
    assert "无法覆盖单位成本" in (page.text_content(".turn.assistant:last-child .answer") or "")
    page.close()
