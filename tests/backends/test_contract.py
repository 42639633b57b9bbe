"""One contract for every search backend: the same corpus, the same queries, the same expectations.

Runs against the local files, milvus-lite through a `.db` path, `milvus-lite server` over gRPC on
127.0.0.1, and (opt-in, with QA_MILVUS_URI) a real Milvus cluster. See conftest.py for the corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from qa_engine import Engine, Settings, ingest
from qa_engine.models import Filters, Hit
from tests.backends.conftest import OTHER_FILE, write_corpus
from tests.helpers.crash import crash_before_commit

# query -> (file-name prefix of the document that must rank first, a phrase the top-3 chunks must contain)
EXPECTED = {
    "硫化锂合资公司的注册资本是多少": ("900", "注册资本为人民币5,000万元"),
    "2024年半年度业绩说明会什么时候召开": ("000", "2024年9月10日"),
    "稀土精矿日常关联交易的定价机制": ("001", "定价"),
    "What is the registered capital of the lithium sulfide joint venture?": ("900", "注册资本"),
}
BROAD = "稀土 公司 交易 价格"


@pytest.fixture(scope="module")
def shared(make_settings: Callable[[], Settings], contract_corpus: Path) -> Iterator[Engine]:
    """An engine over the contract corpus, shared by the read-only tests of one backend."""
    settings = make_settings()
    assert ingest([contract_corpus], settings).ok
    with Engine.open(settings.index_dir, settings) as engine:
        yield engine


@pytest.fixture()
def own(make_settings: Callable[[], Settings], tmp_path: Path) -> Iterator[Engine]:
    """A fresh engine over a private copy of the corpus, for tests that write."""
    settings = make_settings()
    corpus = write_corpus(tmp_path / "corpus")
    assert ingest([corpus], settings).ok
    with Engine.open(settings.index_dir, settings) as engine:
        yield engine


def doc_id(engine: Engine, prefix: str) -> str:
    return next(d.doc_id for d in engine.documents() if d.source.startswith(prefix))


def docs_of(hits: list[Hit]) -> set[str]:
    return {h.doc_id for h in hits}


@pytest.mark.parametrize("query", EXPECTED)
@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_expected_document_first_and_answer_in_top3(shared: Engine, query: str, mode: str) -> None:
    prefix, phrase = EXPECTED[query]
    hits = shared.search(query, k=5, mode=mode)
    assert hits[0].doc_id == doc_id(shared, prefix)
    assert any(phrase in h.text for h in hits[:3]), [h.text[:40] for h in hits[:3]]


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_results_are_ranked_distinct_and_quote_stored_text(shared: Engine, mode: str) -> None:
    hits = shared.search(BROAD, k=8, mode=mode)
    assert len(hits) == 8
    assert len({h.chunk_id for h in hits}) == 8
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        assert shared.document(hit.doc_id).text[hit.start : hit.end] == hit.text


def test_hybrid_is_a_rank_fusion_of_bm25_and_dense(shared: Engine) -> None:
    k = 10
    bm25 = [h.chunk_id for h in shared.search(BROAD, k=k, mode="bm25")]
    dense = [h.chunk_id for h in shared.search(BROAD, k=k, mode="dense")]
    hybrid = [h.chunk_id for h in shared.search(BROAD, k=3, mode="hybrid")]
    assert hybrid[0] in (bm25[0], dense[0])  # RRF's best is first in one of the lists
    assert set(hybrid) <= set(bm25) | set(dense)


def test_equal_weights_fuse_like_plain_rrf(make_settings: Callable[[], Settings], contract_corpus: Path,
                                           shared: Engine) -> None:
    """Equal weights take Milvus's own RRF ranker; every backend must agree with plain RRF on the head."""
    from qa_engine.retrieve.fusion import rrf_fuse

    equal = shared.settings.model_copy(update={"dense_weight": 1.0, "bm25_weight": 1.0})
    with Engine.open(shared.index_dir, equal) as engine:
        pool = equal.candidate_pool
        bm25 = [h.chunk_id for h in engine.search(BROAD, k=pool, mode="bm25")]
        dense = [h.chunk_id for h in engine.search(BROAD, k=pool, mode="dense")]
        hybrid = [h.chunk_id for h in engine.search(BROAD, k=3, mode="hybrid")]
    ids = sorted(set(bm25) | set(dense))
    expected = rrf_fuse([[ids.index(c) for c in bm25], [ids.index(c) for c in dense]], [1.0, 1.0], equal.rrf_k)
    assert hybrid[0] == ids[expected[0][0]]
    assert set(hybrid) <= set(bm25) | set(dense)


def test_filters_are_honoured(shared: Engine) -> None:
    other, first = doc_id(shared, "900"), doc_id(shared, "000")
    assert docs_of(shared.search(BROAD, k=20, filters=Filters(doc_ids=(first,)))) == {first}
    assert docs_of(shared.search("硫化锂", k=20, filters=Filters(company="北方稀土"))) <= {first, doc_id(shared, "001")}
    assert docs_of(shared.search("合资公司 资金", k=20, filters=Filters(date_to=date(2022, 12, 31)))) == {other}
    assert docs_of(shared.search(BROAD, k=20, filters=Filters(doc_type="业绩说明会"))) == {first}
    assert shared.search(BROAD, k=5, filters=Filters(company="没有这家公司")) == []


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_filter_with_quotes_in_values_is_safe(shared: Engine, mode: str) -> None:
    assert shared.search(BROAD, k=5, mode=mode, filters=Filters(doc_ids=('x" or doc_id != "',))) == []


def test_named_company_comes_first(shared: Engine) -> None:
    hits = shared.search("测试锂电 稀土 价格 公司", k=5)
    assert hits[0].doc_id == doc_id(shared, "900")


def test_reopening_finds_the_same(shared: Engine) -> None:
    with Engine.open(shared.index_dir, shared.settings) as again:
        for query in EXPECTED:
            assert [h.chunk_id for h in again.search(query, k=5)] == [h.chunk_id for h in shared.search(query, k=5)]


def test_remove_deletes_every_chunk_of_the_document(own: Engine) -> None:
    other = doc_id(own, "900")
    own.remove(other)
    for mode in ("bm25", "dense", "hybrid"):
        assert other not in docs_of(own.search("硫化锂合资公司注册资本", k=50, mode=mode))
    assert _backend_rows(own) in (None, own._snapshot.chunk_count)


def test_changed_file_replaces_the_document(own: Engine, tmp_path: Path) -> None:
    old = doc_id(own, "900")
    path = tmp_path / "corpus" / OTHER_FILE  # the file the `own` index was built from
    path.write_text(path.read_text(encoding="utf-8").replace("5,000万元", "8,800万元"), encoding="utf-8")
    report = own.add([path], replace=True)
    assert report.replaced == [OTHER_FILE]
    new = doc_id(own, "900")
    hits = own.search("硫化锂合资公司的注册资本是多少", k=5)
    assert new != old and hits[0].doc_id == new and old not in docs_of(hits)
    assert any("8,800万元" in h.text for h in hits[:3])
    assert _backend_rows(own) in (None, own._snapshot.chunk_count)


def test_crash_before_commit_never_surfaces_the_new_document(own: Engine, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra.txt"
    extra.write_text("某某新能源股份有限公司\n关于钠离子电池正极材料项目的公告\n公司拟投资建设钠离子电池正极材料项目。\n",
                     encoding="utf-8")
    crash_before_commit(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        own.add([extra])
    monkeypatch.undo()
    with Engine.open(own.index_dir, own.settings) as reopened:
        assert len(reopened.documents()) == 3
        hits = reopened.search("钠离子电池正极材料", k=10)
        assert all(h.doc_id in {d.doc_id for d in reopened.documents()} for h in hits)
        assert not any("钠离子" in h.text for h in hits)
        rows = _backend_rows(reopened)
        assert rows is None or rows > reopened._snapshot.chunk_count  # written to Milvus, ignored by queries


def _backend_rows(engine: Engine) -> int | None:
    """Rows the backend holds, where it can count them (Milvus); None for the local files."""
    count = getattr(engine._backend, "count", None)
    return None if count is None else int(count())


def test_answers_quote_the_stored_text_at_their_offsets(shared: Engine) -> None:
    answer = shared.ask("2024年半年度业绩说明会什么时候召开")
    assert answer.citations
    for citation in answer.citations:
        assert shared.document(citation.doc_id).text[citation.start : citation.end] == citation.quote


def test_document_list_counts_every_chunk_and_character(shared: Engine) -> None:
    listed = shared.documents()
    assert sum(d.chunks for d in listed) == shared._snapshot.chunk_count
    assert all(d.chars == len(shared.document(d.doc_id).text) and d.chunks > 0 for d in listed)


def test_an_engine_holds_no_chunk_and_reads_texts_on_demand(make_settings: Callable[[], Settings],
                                                             contract_corpus: Path) -> None:
    settings = make_settings()
    assert ingest([contract_corpus], settings).ok
    with Engine.open(settings.index_dir, settings) as engine:
        snapshot = engine._snapshot
        assert snapshot.chunk_count > 0
        if settings.backend == "local":
            assert snapshot.positions is not None and len(snapshot.positions) == snapshot.chunk_count
        else:
            assert snapshot.positions is None
        assert not snapshot.documents._cache  # type: ignore[attr-defined]
        hits = engine.search("稀土精矿日常关联交易的定价机制", k=5)
        assert hits and all(engine.document(h.doc_id).text[h.start : h.end] == h.text for h in hits)
        assert 0 < len(snapshot.documents._cache) <= 3  # type: ignore[attr-defined]
