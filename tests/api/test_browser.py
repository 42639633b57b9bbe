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
# a question no bundled filing can answer, so the page must render "not found" (the neural reader answers
# "比特币的价格是多少？" with a platinum price at 0.48 confidence since the calibration of 2026-12-07: eval/README)
NOT_FOUND_QUESTION = "火星基地的氦三储量是多少？"


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
    assert "产品价格进一步下降" in (quote.text_content() or "")
    assert page.is_visible("#passage-viewer")

    page.fill("#question", "那2023年呢？")
    page.click("#ask-button")
    page.locator(".turn.assistant .answer").nth(1).wait_for(timeout=WAIT_MS)  # the page's CSP forbids eval
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
    assert "产品价格进一步下降" in (page.text_content(".turn.assistant:last-child .answer") or "")
    page.close()


# What each example chip must be answered with, by the server's reader (chosen so that both the heuristic and the
# neural reader answer them right); a new example needs its answer here.
EXAMPLE_ANSWERS = {
    "为什么有研新材2024年稀土材料毛利率为负？": "产品价格进一步下降",
    "北方稀土的证券代码是多少？": "600111",
    "Which company supplies China Northern Rare Earth with rare-earth concentrate?": "内蒙古包钢钢联股份有限公司",
}


def test_example_chips_ask_at_once_and_are_answered_right(browser, server: BackgroundServer) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page.goto(server.url + "/")
    chips = page.locator(".example")
    assert sorted(chips.all_text_contents()) == sorted(EXAMPLE_ANSWERS)
    for question in chips.all_text_contents():
        page.click("#new-chat")  # the chips show on an empty chat
        page.locator(".example", has_text=question).click()
        answer = page.locator(".turn.assistant .answer")
        answer.wait_for(timeout=WAIT_MS)
        assert page.text_content(".turn.user") == question, "the chip did not ask at once"
        assert answer.get_attribute("data-found") == "true", question
        assert EXAMPLE_ANSWERS[question] in (page.text_content(".turn.assistant mark.answer-span") or ""), question
    page.close()


def test_passage_viewer_follows_the_latest_answer(browser, server: BackgroundServer) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page.goto(server.url + "/")
    ask_on_page(page, WHY_QUESTION)
    page.locator(".citation-card").first.click()
    quote = page.locator("#passage-viewer mark.quote")
    quote.wait_for(timeout=WAIT_MS)
    assert "产品价格进一步下降" in (quote.text_content() or "")
    page.fill("#question", "北方稀土的证券代码是多少？")
    page.click("#ask-button")
    page.locator("#passage-viewer mark.quote", has_text="600111").wait_for(timeout=WAIT_MS)
    assert "北方稀土" in (page.text_content("#passage-title") or "")
    page.fill("#question", NOT_FOUND_QUESTION)
    page.click("#ask-button")
    page.locator(".turn.assistant .answer").nth(2).wait_for(timeout=WAIT_MS)
    page.locator("#passage-viewer").wait_for(state="hidden", timeout=WAIT_MS)
    page.close()


def test_table_rows_render_as_a_table_with_header_and_unit(browser, server: BackgroundServer, engine) -> None:  # type: ignore[no-untyped-def]
    doc = next(d for d in engine.documents() if d.source.startswith("004"))
    text = engine.document(doc.doc_id).text
    row = "湖南意谱电动系统有限公司\t1,004,256.79\t1,004,256.79\t100.00\t预计无法收回"
    start = text.index(row)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page.goto(server.url + "/")
    page.wait_for_load_state("networkidle")
    item = {"doc_id": doc.doc_id, "start": start, "end": start + len(row), "title": doc.title, "page": 1}
    page.evaluate("item => openPassage(item)", item)
    quoted = page.locator("#passage-viewer table.passage-table tr.quote")
    quoted.wait_for(timeout=WAIT_MS)
    assert quoted.locator("td").all_text_contents() == row.split("\t")
    table = page.locator("#passage-viewer table.passage-table").filter(has=page.locator("tr.quote"))
    assert "名称" in table.locator("thead th").all_text_contents(), table.inner_html()[:500]
    page.close()


def test_no_request_fails_and_the_page_has_an_icon(browser, server: BackgroundServer) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="zh-CN")
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(server.url + "/")
    page.wait_for_load_state("networkidle")
    icon = page.request.get(server.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/")
    assert failed == []
    page.close()


@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "redoc h1")])
def test_api_docs_render_offline(browser, server: BackgroundServer, path: str, rendered: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    outside: list[str] = []

    def only_this_server(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(server.url):
            route.continue_()
            return
        if route.request.resource_type != "image":  # ReDoc's "powered by" logo may stay unloaded
            outside.append(route.request.url)
        route.abort()

    page.route("**/*", only_this_server)
    page.goto(server.url + path)
    title = page.locator(rendered).first
    title.wait_for(timeout=WAIT_MS)
    assert "qa-engine" in (title.text_content() or "")
    assert outside == [], f"{path} reached outside the server: {outside[:3]}"
    page.close()
