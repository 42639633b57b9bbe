"""What every search backend offers the engine: one Protocol and the typed values that cross it.

Backends sit above the index (they search its snapshot, and the writer keeps them in step through the
`ChunkSink` it is handed) and below query planning: a request carries the planned query's text, terms and
vector, never the plan itself."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa_engine.index.snapshot import Snapshot
from qa_engine.index.writer import ChunkSink
from qa_engine.models import Chunk
from qa_engine.retrieve.params import RetrievalParams


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
    """One search: the query in the forms backends read, how many results, how to rank and what to keep."""

    text: str  # the planned query (a backend with its own analyser cuts it itself)
    terms: tuple[str, ...]  # its search terms, cut by the index's tokenizer; () when the mode uses no BM25
    vector: np.ndarray | None  # its embedding; None when the mode uses no dense ranking or there is no embedder
    k: int
    params: RetrievalParams
    chunk_filter: ChunkFilter = ChunkFilter()
    named_docs: frozenset[str] = frozenset()  # documents of the companies the question names: ranked first
    named_terms: frozenset[str] = frozenset()  # those companies' names: not searched for in their own filings


@dataclass(frozen=True)
class ScoredChunk:
    """One result: a chunk of the current snapshot, as the backend read it from the store, and its rank-fused score."""

    chunk: Chunk
    score: float

    @property
    def chunk_id(self) -> str:
        return self.chunk.chunk_id

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id


class SearchBackend(ChunkSink, Protocol):
    """Where the searchable copy of the chunks lives. SQLite stays the source of truth for their text."""

    def search(self, snapshot: Snapshot, request: SearchRequest) -> list[ScoredChunk]:
        """The request's k best chunks of `snapshot`, best first, fused by rank only."""
        ...

    def close(self) -> None: ...


def prefer_docs(scored: list[ScoredChunk], doc_ids: frozenset[str]) -> list[ScoredChunk]:
    """Stable reorder: chunks of `doc_ids` (the companies a question names) before the rest."""
    return [s for s in scored if s.doc_id in doc_ids] + [s for s in scored if s.doc_id not in doc_ids]
