"""Answers from the default (heuristic) reader over the bundled filings: cited, verbatim, abstaining, follow-ups."""

from __future__ import annotations

import json

import pytest

from qa_engine import Engine, Settings
from qa_engine.errors import InvalidQueryError
from qa_engine.models import Answer, Turn
from qa_engine.read.followup import resolve_followup, without_premise
from qa_engine.read.qtypes import detect_qtype
from qa_engine.render import render_answer

WHY_QUESTION = "为什么有研新材2024年稀土材料毛利率为负？"
UNANSWERABLE = "北方稀土2030年的分红方案是什么？"


@pytest.fixture(scope="module")
def why_answer(engine) -> Answer:
    return engine.ask(WHY_QUESTION)


@pytest.fixture(scope="module")
def history(why_answer: Answer) -> list[Turn]:
    assert why_answer.text is not None
    return [Turn("user", WHY_QUESTION), Turn("assistant", why_answer.text)]


def _assert_verbatim(engine, answer: Answer) -> None:  # type: ignore[no-untyped-def]
    assert answer.citations
    for citation in answer.citations:
        assert engine.document(citation.doc_id).text[citation.start : citation.end] == citation.quote
    assert answer.sentence is not None and answer.text is not None and answer.text in answer.sentence
    cited = engine.document(answer.citations[0].doc_id).text
    assert cited[answer.answer_start : answer.answer_end] == answer.text  # the offsets point at the answer


def test_why_question_is_answered_with_the_cause(engine, why_answer: Answer) -> None:
    assert why_answer.found and why_answer.qtype == "why"
    assert why_answer.text is not None and why_answer.sentence is not None
    assert "产品价格进一步下降" in why_answer.text  # the cause itself (its gold span)
    assert "毛利率为负" in why_answer.sentence
    _assert_verbatim(engine, why_answer)
    citation = why_answer.citations[0]
    assert citation.company == "有研新材" and citation.section.startswith("问题2")
    assert citation.doc_id == why_answer.hits[0].doc_id or any(h.doc_id == citation.doc_id for h in why_answer.hits)
    assert 0 < why_answer.confidence <= 1
    assert why_answer.resolved_question is None and why_answer.lang == "zh"


def test_answer_to_dict_is_json_ready(why_answer: Answer) -> None:
    data = json.loads(json.dumps(why_answer.to_dict(), ensure_ascii=False))
    assert data["found"] is True and data["text"] == why_answer.text
    assert data["citations"][0]["quote"] == why_answer.citations[0].quote
    assert set(data["timings"]) >= {"retrieve_ms", "read_ms", "total_ms"}


def test_unanswerable_question_is_not_answered(engine) -> None:
    answer = engine.ask(UNANSWERABLE)
    assert answer.text is None
    assert answer.citations == () and not answer.found


def test_abstaining_answer_has_no_citations(engine) -> None:
    answer = engine.ask("火星基地的氦三储量是多少？")
    assert answer.text is None and answer.sentence is None and answer.citations == ()
    assert answer.to_dict()["found"] is False


def test_date_question_gets_a_date(built_index) -> None:
    """The heuristic reader's date span; the neural reader picks the filing's signature date (2024年9月14日)
    for this question, a known miss."""
    engine = Engine.open(built_index, Settings(index_dir=built_index, reader="heuristic"))
    answer = engine.ask("北方稀土2024年半年度业绩说明会的公告是哪天发布的？")
    assert answer.found and answer.qtype == "date"
    assert "2024年8月30日" in (answer.text or "")
    _assert_verbatim(engine, answer)


def test_year_followup_swaps_the_year(engine, history: list[Turn]) -> None:
    answer = engine.ask("那2023年呢？", history=history)
    resolved = answer.resolved_question or ""
    assert "2023" in resolved and "有研新材" in resolved and "2024" not in resolved
    # the default (neural) reader abstains here, a known miss; it must never answer with the 2024 cause
    assert "无法覆盖单位成本" not in (answer.sentence or "")


def test_year_followup_is_answered_from_the_2023_sentence(built_index, history: list[Turn]) -> None:
    """The filing says 2023's margin rose: the heuristic reader answers with why, from the 2023 sentence."""
    with Engine.open(built_index, Settings(index_dir=built_index, reader="heuristic")) as engine:
        answer = engine.ask("那2023年呢？", history=history)
        assert answer.found and answer.text is not None and answer.sentence is not None
        assert "2023年毛利率略有上升" in answer.sentence and "稀土冶炼分析技术收入规模提升" in answer.text
        _assert_verbatim(engine, answer)


def test_pronoun_followup_names_the_company(engine, history: list[Turn]) -> None:
    answer = engine.ask("它的存货为什么增加？", history=history)
    resolved = answer.resolved_question or ""
    assert "有研新材" in resolved and "存货" in resolved and "它" not in resolved
    assert all(h.company == "有研新材" for h in answer.hits[:3])


def test_self_contained_question_is_not_rewritten(engine, history: list[Turn]) -> None:
    answer = engine.ask("北方稀土2024年半年度业绩说明会的公告是哪天发布的？", history=history)
    assert answer.resolved_question is None


def test_resolve_followup_without_engine() -> None:
    companies = lambda text: ["有研新材"] if "有研新材" in text else []
    history = [Turn("user", WHY_QUESTION), Turn("assistant", "因为价格下降。")]
    assert resolve_followup("那2023年呢？", history, companies) == "为什么有研新材2023年稀土材料毛利率为负？"
    assert resolve_followup("它的存货为什么增加？", history, companies).startswith("有研新材")
    assert resolve_followup("它的存货为什么增加？", [], companies) == "它的存货为什么增加？"


def test_followup_chains_resolve_each_turn_against_the_ones_before() -> None:
    companies = lambda text: ["有研新材"] if "有研新材" in text else []
    history = [Turn("user", WHY_QUESTION), Turn("assistant", "因为价格下降。"), Turn("user", "那2023年呢？"),
               Turn("assistant", "因为成本刚性。")]
    resolved = resolve_followup("它的存货为什么增加？", history, companies)
    assert resolved.startswith("有研新材") and "2023" in resolved and "它" not in resolved


EN_WHY_QUESTION = "Why was GRINM's rare-earth gross margin negative in 2024?"


@pytest.mark.parametrize(("question", "previous", "expected"), [
    ("那存货呢？", WHY_QUESTION, "为什么 有研新材 存货 2024"),
    ("and what about inventory?", "Why was 有研新材's gross margin negative in 2024?", "Why 有研新材 inventory 2024"),
    ("what about 2023?", "Why was 有研新材's gross margin negative in 2024?", "Why was 有研新材's gross margin negative in 2023?"),
    ("And in 2023?", EN_WHY_QUESTION, "Why was GRINM's rare-earth gross margin negative in 2023?"),
    ("What about for FY2023?", EN_WHY_QUESTION, "Why was GRINM's rare-earth gross margin negative in 2023?"),
    ("What about inventory?", EN_WHY_QUESTION, "Why GRINM inventory 2024"),  # English stays English
])
def test_topic_fragments_ask_the_same_kind_of_question(question: str, previous: str, expected: str) -> None:
    companies = lambda text: ["有研新材"] if "有研新材" in text or "GRINM" in text else []
    assert resolve_followup(question, [Turn("user", previous)], companies) == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("为什么有研新材2023年稀土材料毛利率为负？", "为什么有研新材2023年稀土材料毛利率？"),
    ("为什么2023年净利润大幅下降", "为什么2023年净利润"),
    ("Why was GRINM's rare-earth gross margin negative in 2023?", "Why was GRINM's rare-earth gross margin in 2023?"),
    ("有研新材2023年营业收入是多少？", "有研新材2023年营业收入是多少？"),
])
def test_without_premise_drops_the_claim_about_the_topic(question: str, expected: str) -> None:
    assert without_premise(question) == expected


def test_english_year_followup_stays_english_with_company_and_metric(engine) -> None:
    first = engine.ask(EN_WHY_QUESTION)
    answer = engine.ask("And in 2023?", history=[first])
    resolved = answer.resolved_question or ""
    assert "GRINM" in resolved and "gross margin" in resolved and "2023" in resolved and "Why" in resolved
    assert answer.lang == "en"
    assert "Sources:" in render_answer(answer, answer.lang) and "依据" not in render_answer(answer, answer.lang)
    assert answer.text is None or "2023" in (answer.sentence or "")


@pytest.mark.parametrize("question", ["为什么2024年毛利率为负", WHY_QUESTION, EN_WHY_QUESTION])
def test_year_followup_whose_premise_the_filing_contradicts(engine, question: str) -> None:
    """The filing says the 2023 margin rose (6.03%): the answer is that sentence or nothing, never the 2024 cause."""
    first = engine.ask(question)
    assert "2024" in (first.sentence or "")
    answer = engine.ask("And in 2023?" if question.isascii() else "那2023年呢？", history=[first])
    assert answer.text is None or "2023" in (answer.sentence or ""), answer.sentence
    assert answer.sentence != first.sentence
    if answer.text is not None:
        _assert_verbatim(engine, answer)


def test_history_may_hold_earlier_answers_and_plain_questions(engine, why_answer: Answer) -> None:
    from_answer = engine.ask("那2023年呢？", history=[why_answer])
    from_text = engine.ask("那2023年呢？", history=[WHY_QUESTION])
    # the 2023 margin was not negative: what was read is the question without that premise
    assert from_answer.resolved_question == from_text.resolved_question == "为什么有研新材2023年稀土材料毛利率？"
    with pytest.raises(InvalidQueryError, match="history items"):
        engine.ask("那2023年呢？", history=[42])  # type: ignore[list-item]


@pytest.mark.parametrize(("question", "qtype"), [
    (WHY_QUESTION, "why"),
    ("有研新材2024年营业收入是多少？", "number"),
    ("北方稀土的业绩说明会何时召开？", "date"),
    ("公司的主要产品有哪些？", "list"),
    ("公司的保荐机构是哪家？", "entity"),
    ("公司是否存在关联交易？", "yesno"),
    ("What caused the decline in gross margin?", "why"),
    ("为啥贸易收入一直下降？", "why"),
    ("项目开发分为哪六个阶段？", "list"),
    ("每年哪几个月是雨季？", "date"),
    ("子公司因滞销计提了较大规模存货跌价，是哪家子公司？", "entity"),
    ("What explains the swing in minority interests?", "why"),
    ("Which countries does the company export magnets to?", "list"),
    ("Which broker serves as the sponsor?", "entity"),
    ("Which subsidiary makes phosphors?", "entity"),
    ("What was the gross margin in H1 2025?", "number"),
    ("What stake does the parent hold?", "number"),
    ("When did the company list on the NEEQ?", "date"),
    ("Apart from the oxide price, does the formula use cost parameters?", "yesno"),
    ("Who are the persons acting in concert?", "list"),
])
def test_question_types(question: str, qtype: str) -> None:
    assert detect_qtype(question) == qtype


def test_reader_reads_the_named_company_filings_when_retrieved(engine) -> None:
    """Another company's filing mentions 北方稀土 too, but the named company's own filings are searched first
    and the reader reads only those."""
    question = "When did the rare-earth EPD platform that China Northern Rare Earth helped set up go live?"
    reading = engine.prepare(question, k=20)
    companies = [h.company for h in reading.hits]
    assert companies[0] == "北方稀土"
    assert companies == sorted(companies, key=lambda c: c != "北方稀土"), "named filings first, then the others"
    assert reading.passages and {p.document.meta.short_name for p in reading.passages} == {"北方稀土"}
