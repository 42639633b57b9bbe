"""The default backend: the generation's bm25s and FAISS files in memory, fused by weighted RRF; the chunks
they rank are read from the store by id."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from qa_engine.backends.base import ScoredChunk, SearchRequest
from qa_engine.index.snapshot import Snapshot
from qa_engine.models import Chunk, DocumentCard
from qa_engine.retrieve.fusion import rrf_fuse


class LocalBackend:
    """Searches the snapshot itself. Writes need nothing more: the index writer's new generation *is* the index."""

    def search(self, snapshot: Snapshot, request: SearchRequest) -> list[ScoredChunk]:
        positions = snapshot.by_position
        ranked = [(positions.chunk_id(pos), score) for pos, score in ranked_positions(snapshot, request)]
        chunks = snapshot.chunks_by_id([chunk_id for chunk_id, _ in ranked])  # drops documents removed since
        return [ScoredChunk(chunks[chunk_id], score) for chunk_id, score in ranked if chunk_id in chunks]

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray | None, cards: Mapping[str, DocumentCard]) -> None:
        pass

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        pass

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


def ranked_positions(snapshot: Snapshot, request: SearchRequest) -> list[tuple[int, float]]:
    """The top-k (chunk position, fused score) pairs of the snapshot, best first.

    A question that names a company ranks that company's filings first: searched on their own, so a short
    filing is not lost behind the long filings of others that share the question's words (a pool of the whole
    corpus's best 50 chunks can hold none of it), then the rest of the corpus.
    """
    k, named = request.k, request.named_docs
    if request.params.prefer_named_company and named and request.chunk_filter.is_open:
        own = _fused(snapshot, request, snapshot.mask_for(set(named)), request.named_terms)
        positions = snapshot.by_position
        rest = [item for item in _fused(snapshot, request, None) if positions.doc_id(item[0]) not in named]
        return (own + rest)[:k]
    allowed = request.chunk_filter.doc_ids
    mask = None if allowed is None else snapshot.mask_for(set(allowed))
    return _fused(snapshot, request, mask)[:k]


def _fused(snapshot: Snapshot, request: SearchRequest, mask: np.ndarray | None,
           ignored_terms: frozenset[str] = frozenset()) -> list[tuple[int, float]]:
    """Rank-fused (position, score) pairs of the request's mode's rankings."""
    params = request.params
    pool = max(params.pool, request.k)
    rankings, weights = [], []
    if params.uses_bm25:
        terms = [t for t in request.terms if t not in ignored_terms]
        rankings.append([pos for pos, _ in snapshot.sparse.search(terms, pool, mask)] if terms else [])
        weights.append(params.bm25_weight)
    if params.uses_dense and snapshot.dense is not None and request.vector is not None:
        rankings.append([pos for pos, _ in snapshot.dense.search(request.vector, pool, mask)])
        weights.append(params.dense_rank_weight)
    return rrf_fuse(rankings, weights, params.rrf_k)
