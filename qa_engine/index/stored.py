"""Chunks and document texts read from the SQLite store when a question needs them, not held in memory.

An open engine keeps no per-chunk state of its own: its backend answers with positions (local, mapped to chunk
ids by `index/positions.py`) or chunk ids (Milvus), and the few chunks a question cites (and the texts of their
documents) are read here by id, through a read-only connection each thread keeps. What stays resident is one
small card per document (name, metadata, page starts; the generation's `cards.json`) and a bounded cache of
recently read texts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from qa_engine.models import Chunk, Document, DocumentCard
from qa_engine.per_thread import PerThread
from qa_engine.store.sqlite_store import SQLiteStore

TEXT_CACHE_DOCUMENTS = 32  # texts of the filings the last questions cited


class StoreReader(PerThread[SQLiteStore]):
    """One read-only connection to the store per thread (and per process: a connection never crosses a fork),
    opened on the thread's first read (a snapshot shares one between its chunks and its texts): opening one costs
    more than a search."""

    def __init__(self, store_path: Path) -> None:
        super().__init__(lambda: SQLiteStore(store_path, read_only=True))


class StoredChunks:
    """Chunk rows fetched by id, kept only when their document belongs to the snapshot (a write another process
    has not committed, or one committed after this snapshot, is not seen)."""

    def __init__(self, stores: StoreReader, cards: Mapping[str, DocumentCard]) -> None:
        self._stores, self._cards = stores, cards

    def __len__(self) -> int:
        return sum(card.chunks for card in self._cards.values())

    def by_ids(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        chunks = self._stores.get().chunks_by_id(chunk_ids)
        return {c.chunk_id: c for c in chunks if c.doc_id in self._cards}

    def spans_of(self, doc_id: str) -> list[tuple[int, int]]:
        """The offsets of a document's chunks in its text (none for a document not in the snapshot)."""
        return self._stores.get().chunk_spans(doc_id) if doc_id in self._cards else []


class StoredDocuments(Mapping[str, Document]):
    """The snapshot's documents by id; a text is read on first use and the last few are kept."""

    def __init__(self, stores: StoreReader, cards: Mapping[str, DocumentCard],
                 cache_size: int = TEXT_CACHE_DOCUMENTS) -> None:
        self._stores, self._cards, self._size = stores, cards, cache_size
        self._cache: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, doc_id: str) -> Document:
        if doc_id not in self._cards:
            raise KeyError(doc_id)
        with self._lock:
            if doc_id in self._cache:
                self._cache.move_to_end(doc_id)
                return self._cache[doc_id]
        document = self._stores.get().document(doc_id)
        if document is None:  # removed by a write committed after this snapshot
            raise KeyError(doc_id)
        with self._lock:
            self._cache[doc_id] = document
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return document

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._cards

    def __iter__(self) -> Iterator[str]:
        return iter(self._cards)

    def __len__(self) -> int:
        return len(self._cards)
