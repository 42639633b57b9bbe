"""Cross-encoder reranking from a local folder (a tiny BERT classifier built in the session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Engine, Settings
from qa_engine.errors import ConfigError
from qa_engine.retrieve.rerank import CrossEncoderReranker
from tests.helpers.filings import document_for

QUERY = "稀土精矿关联交易定价机制"


@pytest.fixture(scope="module")
def reranker(tiny_cross_encoder: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(str(tiny_cross_encoder))


@pytest.fixture(scope="module")
def reranking_engine(built_index: Path, tiny_cross_encoder: Path):  # type: ignore[no-untyped-def]
    settings = Settings(index_dir=built_index, reranker=str(tiny_cross_encoder), rerank_top=20)
    with Engine.open(built_index, settings) as opened:
        yield opened


def test_scores_real_passages(engine, reranker: CrossEncoderReranker) -> None:
    text = document_for(engine, "001").text
    passages = [p for p in text.split("\n") if len(p) > 30][:6]
    scores = reranker.scores(QUERY, passages)
    assert len(scores) == 6 and all(isinstance(s, float) for s in scores)
    assert len(set(scores)) > 1  # the pairs are really scored, not a constant
    assert reranker.scores(QUERY, []) == []
    assert reranker.scores(QUERY, passages[:2]) == pytest.approx(scores[:2], abs=1e-5)


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load reranker"):
        CrossEncoderReranker(str(tmp_path / "no-such-model"))


def test_engine_hits_are_rescored_by_the_cross_encoder(engine, reranking_engine, reranker) -> None:
    baseline = engine.search(QUERY, k=20)
    hits = reranking_engine.search(QUERY, k=10)
    assert len(hits) == 10
    assert {h.chunk_id for h in hits} <= {h.chunk_id for h in baseline}  # same candidates, new order
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    expected = reranker.scores(QUERY, [h.text for h in hits])
    assert scores == pytest.approx(expected, abs=1e-4)
    best_of_pool = max(reranker.scores(QUERY, [h.text for h in baseline]))
    assert hits[0].score == pytest.approx(best_of_pool, abs=1e-4)
    for hit in hits:
        assert reranking_engine.document(hit.doc_id).text[hit.start : hit.end] == hit.text


def test_reranked_engine_still_answers_with_verbatim_citations(reranking_engine) -> None:
    answer = reranking_engine.ask("为什么有研新材2024年稀土材料毛利率为负？")
    for citation in answer.citations:
        assert reranking_engine.document(citation.doc_id).text[citation.start : citation.end] == citation.quote
