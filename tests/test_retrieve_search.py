"""Search over the bundled filings: filters, company preference, retrieval modes, offsets, bad queries."""

from __future__ import annotations

from datetime import date

import pytest

from qa_engine.errors import InvalidQueryError
from qa_engine.models import Filters
from qa_engine.retrieve.fusion import rrf_fuse
from tests.helpers.filings import REPO

BROAD_QUERY = "稀土 价格 收入 毛利率"
ALIASES_FILE = REPO / "qa_engine" / "resources" / "company_aliases.tsv"


@pytest.fixture(scope="module")
def ids(engine) -> dict[str, str]:
    """doc_id by file-name prefix ("000" … "004")."""
    return {d.source[:3]: d.doc_id for d in engine.documents()}


def _doc_ids(hits) -> set[str]:  # type: ignore[no-untyped-def]
    return {h.doc_id for h in hits}


def _search(engine, filters: Filters, query: str = BROAD_QUERY):  # type: ignore[no-untyped-def]
    hits = engine.search(query, k=30, filters=filters)
    assert hits, filters
    return hits


def test_unfiltered_broad_query_spans_several_filings(engine) -> None:
    assert len(_doc_ids(engine.search(BROAD_QUERY, k=50))) >= 3


@pytest.mark.parametrize(("company", "expected"), [
    ("有研新材", {"002"}),
    ("600206", {"002"}),
    ("北方稀土", {"000", "001"}),
    ("600111", {"000", "001"}),
    ("中国稀土集团资源科技股份有限公司", {"003"}),
    ("金龙稀土", {"004"}),
])
def test_company_filter(engine, ids, company: str, expected: set[str]) -> None:
    hits = _search(engine, Filters(company=company))
    assert _doc_ids(hits) <= {ids[p] for p in expected}


@pytest.mark.skipif(not ALIASES_FILE.exists(), reason="no company_aliases.tsv yet")
@pytest.mark.parametrize(("alias", "expected"), [
    ("GRINM", {"002"}),
    ("Baotou Steel Rare Earth", {"000", "001"}),
    ("China Northern Rare Earth", {"000", "001"}),
])
def test_company_filter_by_english_alias(engine, ids, alias: str, expected: set[str]) -> None:
    hits = _search(engine, Filters(company=alias))
    assert _doc_ids(hits) <= {ids[p] for p in expected}


def test_unknown_company_filter_matches_nothing(engine) -> None:
    assert engine.search(BROAD_QUERY, k=10, filters=Filters(company="不存在的公司")) == []


def test_doc_type_filter(engine, ids) -> None:
    assert _doc_ids(_search(engine, Filters(doc_type="半年度报告"))) == {ids["004"]}
    assert _doc_ids(_search(engine, Filters(doc_type="问询函回复"))) <= {ids["002"], ids["003"]}


def test_date_range_filter(engine, ids) -> None:
    since_2025 = _search(engine, Filters(date_from=date(2025, 1, 1)))
    assert _doc_ids(since_2025) <= {ids["002"], ids["004"]}
    until_2023 = _search(engine, Filters(date_to=date(2023, 12, 31)))
    assert _doc_ids(until_2023) <= {ids["001"], ids["003"]}
    in_2024 = _search(engine, Filters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)))
    assert _doc_ids(in_2024) == {ids["000"]}


def test_doc_ids_filter(engine, ids) -> None:
    hits = _search(engine, Filters(doc_ids=(ids["001"], ids["003"])))
    assert _doc_ids(hits) <= {ids["001"], ids["003"]}


def test_combined_filters_intersect(engine, ids) -> None:
    assert engine.search(BROAD_QUERY, filters=Filters(company="有研新材", doc_type="半年度报告")) == []
    hits = _search(engine, Filters(company="600111", date_from=date(2024, 1, 1)))
    assert _doc_ids(hits) == {ids["000"]}


def test_filters_from_dict() -> None:
    filters = Filters.from_dict({"company": "有研新材", "date_from": "2024", "date_to": "2025-06", "doc_id": "abc"})
    assert filters == Filters(company="有研新材", date_from=date(2024, 1, 1), date_to=date(2025, 6, 1),
                              doc_ids=("abc",))
    assert Filters.from_dict(None) is None and Filters.from_dict({}) is None


def test_question_naming_a_company_ranks_its_filings_first(engine, ids) -> None:
    hits = engine.search("北方稀土的稀土价格和毛利率情况如何？", k=10)
    beifang = {ids["000"], ids["001"]}
    assert hits[0].doc_id in beifang
    named = [h.doc_id in beifang for h in hits]
    assert named == sorted(named, reverse=True)  # all of its chunks before any other company's


def test_english_question_finds_the_chinese_filing(engine, ids) -> None:
    hits = engine.search("Why was GRINM's rare earth gross margin negative in 2024?", k=5)
    assert hits and hits[0].doc_id == ids["002"]


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_modes_return_hits_with_exact_offsets(engine, mode: str) -> None:
    hits = engine.search("稀土材料毛利率为负的原因", k=10, mode=mode)
    assert len(hits) == 10
    assert len({h.chunk_id for h in hits}) == 10
    for hit in hits:
        assert engine.document(hit.doc_id).text[hit.start : hit.end] == hit.text
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_hybrid_fuses_both_rankings(engine) -> None:
    query = "稀土精矿关联交易定价机制"
    bm25 = [h.chunk_id for h in engine.search(query, k=50, mode="bm25")]
    dense = [h.chunk_id for h in engine.search(query, k=50, mode="dense")]
    hybrid = [h.chunk_id for h in engine.search(query, k=10, mode="hybrid")]
    assert set(hybrid) <= set(bm25) | set(dense)
    assert bm25[0] in hybrid


def test_unknown_mode_is_an_invalid_query(engine) -> None:
    with pytest.raises(InvalidQueryError, match="bm25"):
        engine.search("稀土", mode="fuzzy")


def test_hit_metadata_and_to_dict(engine, ids) -> None:
    hit = engine.search("无法覆盖单位成本导致毛利率为负", k=1)[0]
    assert hit.doc_id == ids["002"] and hit.company == "有研新材"
    assert hit.title == "有研新材 · 向特定对象发行股票审核问询函回复"
    assert hit.page >= 1 and hit.section
    assert hit.to_dict()["text"] == hit.text


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_rejected(engine, query: str) -> None:
    with pytest.raises(InvalidQueryError, match="empty"):
        engine.search(query)
    with pytest.raises(InvalidQueryError):
        engine.ask(query)


def test_over_long_query_is_rejected(engine) -> None:
    limit = engine.settings.max_question_chars
    engine.search("稀" * limit, k=1)  # exactly at the limit is fine
    with pytest.raises(InvalidQueryError, match=str(limit)):
        engine.search("稀" * (limit + 1))
    with pytest.raises(InvalidQueryError, match="QA_MAX_QUESTION_CHARS"):
        engine.ask("稀" * (limit + 1))


def test_rrf_fuse_weights_and_ties() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 2]], [1.0, 0.5], k=60)
    scores = dict(fused)
    assert scores[2] == pytest.approx(1 / 62 + 0.5 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 0.5 / 61)
    assert [item for item, _ in fused] == [2, 3, 1]
    assert rrf_fuse([], [], 60) == []
