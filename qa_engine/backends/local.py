"""The default backend: the generation's bm25s and FAISS files in memory, fused by weighted RRF."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from qa_engine.backends.base import ScoredChunk, SearchRequest
from qa_engine.index.snapshot import Snapshot
from qa_engine.models import Chunk, Document
from qa_engine.retrieve.hybrid import retrieve


class LocalBackend:
    """Searches the snapshot itself. Writes need nothing more: the index writer's new generation *is* the index."""

    def search(self, snapshot: Snapshot, request: SearchRequest) -> list[ScoredChunk]:
        allowed = None if request.chunk_filter.doc_ids is None else set(request.chunk_filter.doc_ids)
        scored = retrieve(snapshot, request.plan, request.k, allowed, request.params)
        chunks = snapshot.chunks
        return [ScoredChunk(chunks[s.position].chunk_id, chunks[s.position].doc_id, s.score) for s in scored]

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray | None, documents: Mapping[str, Document]) -> None:
        pass

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        pass

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass
