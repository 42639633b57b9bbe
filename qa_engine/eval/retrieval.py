"""Scoring a retriever: any object with `retrieve(query, k) -> list[Hit]` against the gold set."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from qa_engine.eval.corpus import Corpus, DocumentSource, as_corpus
from qa_engine.eval.gold import GoldItem
from qa_engine.eval.metrics import RankedRelevance, percentiles, retrieval_metric_names, retrieval_scores
from qa_engine.eval.text import contains_any
from qa_engine.models import Hit


class Retriever(Protocol):
    """The one method the harness needs from a retriever."""

    def retrieve(self, query: str, k: int) -> list[Hit]: ...


class SearchesIndex(Protocol):
    def search(self, query: str, k: int = 10, filters: None = None, mode: str | None = None) -> list[Hit]: ...


@dataclass(frozen=True)
class EngineRetriever:
    """Adapts `Engine.search` in one retrieval mode to the `Retriever` protocol."""

    engine: SearchesIndex
    mode: str | None = None

    def retrieve(self, query: str, k: int) -> list[Hit]:
        return self.engine.search(query, k=k, mode=self.mode)


@dataclass(frozen=True)
class QueryJudgement:
    """One gold question's retrieval: which hits are relevant, and how long the call took."""

    item: GoldItem
    ranking: RankedRelevance
    latency_ms: float


@dataclass(frozen=True)
class RetrievalEval:
    """A retriever's scores over the answerable gold questions, with the per-question judgements."""

    scores: dict[str, float]
    judgements: tuple[QueryJudgement, ...]
    latency: dict[str, float] = field(default_factory=dict)
    curve: dict[int, float] = field(default_factory=dict)  # k -> recall@k, for k = 1..max


def is_relevant(hit: Hit, item: GoldItem, gold_doc_id: str | None) -> bool:
    """Return whether a hit answers `item`: its text holds a gold span (and it is in the gold doc, if known)."""
    if item.doc is not None and hit.doc_id != gold_doc_id:
        return False
    return contains_any(hit.text, item.answers)


def judge_query(retriever: Retriever, item: GoldItem, corpus: Corpus, k: int) -> QueryJudgement:
    """Return the relevance of the top-k hits for one gold question, timed."""
    started = time.perf_counter()
    hits = retriever.retrieve(item.question, k)[:k]
    elapsed = (time.perf_counter() - started) * 1000
    doc_id = corpus.doc_id_of(item.doc)
    flags = tuple(is_relevant(hit, item, doc_id) for hit in hits)
    return QueryJudgement(item=item, ranking=RankedRelevance(item.qid, flags), latency_ms=elapsed)


def score_judgements(judgements: Sequence[QueryJudgement], k: int) -> dict[str, float]:
    """Return recall@{1,5,10,20} (those <= k), MRR@10 and nDCG@10 of judged questions."""
    ks = [cut for cut in (1, 5, 10, 20) if cut <= k] or [k]
    return retrieval_scores([j.ranking for j in judgements], retrieval_metric_names(ks))


def evaluate_retriever(retriever: Retriever, gold: Sequence[GoldItem], documents: Corpus | DocumentSource,
                       k: int = 20) -> RetrievalEval:
    """Return the retrieval scores of `retriever` on the answerable items of `gold` (top-k per question).

    `documents` is a `Corpus` or anything with `documents()` / `document(doc_id)`, such as an `Engine`.
    """
    corpus = as_corpus(documents)
    judgements = tuple(judge_query(retriever, item, corpus, k) for item in gold if item.answerable)
    rankings = [j.ranking for j in judgements]
    curve_scores = retrieval_scores(rankings, [f"recall@{cut}" for cut in range(1, k + 1)])
    return RetrievalEval(
        scores=score_judgements(judgements, k),
        judgements=judgements,
        latency=percentiles([j.latency_ms for j in judgements]),
        curve={cut: curve_scores[f"recall@{cut}"] for cut in range(1, k + 1)} if curve_scores else {},
    )
