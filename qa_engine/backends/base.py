"""What every search backend offers the engine: one Protocol and the typed values that cross it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa_engine.index.snapshot import Snapshot
from qa_engine.models import Chunk, Document
from qa_engine.retrieve.hybrid import RetrievalParams
from qa_engine.retrieve.query import QueryPlan


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a search may return; each backend translates it (FAISS/BM25 mask, Milvus expression)."""

    doc_ids: frozenset[str] | None = None  # None: every document

    @classmethod
    def for_documents(cls, doc_ids: Collection[str] | None) -> ChunkFilter:
        return cls(None if doc_ids is None else frozenset(doc_ids))

    @property
    def is_open(self) -> bool:
        return self.doc_ids is None


@dataclass(frozen=True)
class SearchRequest:
    plan: QueryPlan
    k: int
    params: RetrievalParams
    chunk_filter: ChunkFilter = ChunkFilter()


@dataclass(frozen=True)
class ScoredChunk:
    """One result: a chunk of the current snapshot and its rank-fused score."""

    chunk_id: str
    doc_id: str
    score: float


class SearchBackend(Protocol):
    """Where the searchable copy of the chunks lives. SQLite stays the source of truth for their text."""

    def search(self, snapshot: Snapshot, request: SearchRequest) -> list[ScoredChunk]:
        """The request's k best chunks of `snapshot`, best first, fused by rank only."""
        ...

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray | None, documents: Mapping[str, Document]) -> None:
        """Adds or replaces `chunks` (row i of `vectors` belongs to chunk i)."""
        ...

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        """Removes every chunk of `doc_ids`."""
        ...

    def clear(self) -> None:
        """Removes every chunk: the index is about to be built from scratch."""
        ...

    def close(self) -> None: ...


def prefer_docs(scored: list[ScoredChunk], doc_ids: frozenset[str]) -> list[ScoredChunk]:
    """Stable reorder: chunks of `doc_ids` (the companies a question names) before the rest."""
    return [s for s in scored if s.doc_id in doc_ids] + [s for s in scored if s.doc_id not in doc_ids]
