"""Hybrid retrieval over one snapshot: BM25 and dense rankings fused by weighted RRF, named companies first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_engine.index.snapshot import Snapshot
from qa_engine.retrieve.fusion import rrf_fuse
from qa_engine.retrieve.query import QueryPlan
from qa_engine.settings import RetrievalMode, Settings


@dataclass(frozen=True)
class RetrievalParams:
    """How one search ranks: its values come from Settings (`from_settings`), the one place with defaults."""

    mode: RetrievalMode
    pool: int
    rrf_k: int
    bm25_weight: float
    dense_weight: float
    prefer_named_company: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, mode: RetrievalMode | None = None) -> RetrievalParams:
        """Return the configured parameters, in `mode` when given (else settings.retrieval_mode)."""
        return cls(mode=mode or settings.retrieval_mode, pool=settings.candidate_pool, rrf_k=settings.rrf_k,
                   bm25_weight=settings.bm25_weight, dense_weight=settings.dense_weight)


@dataclass(frozen=True)
class Scored:
    position: int  # chunk position in the snapshot
    score: float


def retrieve(snapshot: Snapshot, plan: QueryPlan, k: int, allowed: set[str] | None, params: RetrievalParams) -> list[Scored]:
    """The top-k chunk positions for a planned query, best first.

    A question that names a company ranks that company's filings first: searched on their own, so a short
    filing is not lost behind the long filings of others that share the question's words (a pool of the whole
    corpus's best 50 chunks can hold none of it), then the rest of the corpus.
    """
    if params.prefer_named_company and plan.named_docs and allowed is None:
        own_names = _company_names(snapshot, plan.named_docs)
        named = _fused(snapshot, plan, k, snapshot.mask_for(set(plan.named_docs)), params, own_names)
        rest = [item for item in _fused(snapshot, plan, k, None, params)
                if snapshot.chunks[item[0]].doc_id not in plan.named_docs]
        return [Scored(pos, score) for pos, score in (named + rest)[:k]]
    mask = None if allowed is None else snapshot.mask_for(allowed)
    return [Scored(pos, score) for pos, score in _fused(snapshot, plan, k, mask, params)[:k]]


def _fused(snapshot: Snapshot, plan: QueryPlan, k: int, mask: np.ndarray | None, params: RetrievalParams,
           ignored_terms: frozenset[str] = frozenset()) -> list[tuple[int, float]]:
    """Rank-fused (position, score) pairs of the configured mode's rankings."""
    pool = max(params.pool, k)
    rankings, weights = [], []
    if params.mode in ("bm25", "hybrid"):
        rankings.append(_bm25_ranking(snapshot, plan, pool, mask, ignored_terms))
        weights.append(params.bm25_weight)
    if params.mode in ("dense", "hybrid") and snapshot.dense is not None and snapshot.embedder is not None:
        rankings.append(_dense_ranking(snapshot, plan, pool, mask))
        weights.append(params.dense_weight if params.mode == "hybrid" else 1.0)
    return rrf_fuse(rankings, weights, params.rrf_k)


def _bm25_ranking(snapshot: Snapshot, plan: QueryPlan, pool: int, mask: np.ndarray | None,
                  ignored_terms: frozenset[str] = frozenset()) -> list[int]:
    terms = [t for t in snapshot.tokenizer.search_terms(plan.search_text) if t not in ignored_terms]
    return [pos for pos, _ in snapshot.sparse.search(terms, pool, mask)] if terms else []


def _company_names(snapshot: Snapshot, doc_ids: frozenset[str]) -> frozenset[str]:
    """The names a filing's company goes by: within its own filings they say nothing about what is asked, and
    would rank the header line (where the short name stands alone) above the sentence that answers."""
    metas = [snapshot.documents[d].meta for d in doc_ids if d in snapshot.documents]
    return frozenset(name for m in metas for name in (m.short_name, m.company) if name)


def _dense_ranking(snapshot: Snapshot, plan: QueryPlan, pool: int, mask: np.ndarray | None) -> list[int]:
    assert snapshot.embedder is not None and snapshot.dense is not None
    vector = snapshot.embedder.encode([plan.search_text], query=True)[0]
    return [pos for pos, _ in snapshot.dense.search(vector, pool, mask)]

