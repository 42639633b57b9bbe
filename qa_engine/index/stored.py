"""Chunks and document texts read from the SQLite store when a question needs them, not held in memory.

An engine whose searches run in Milvus keeps no per-chunk state of its own: the backend answers with chunk ids,
and the few chunks a question cites (and the texts of their documents) are read here by id, through a read-only
connection opened for the read. What stays resident is one small card per document (name, metadata, page
starts; `SQLiteStore.cards`) and a bounded cache of recently read texts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from qa_engine.models import Chunk, Document, DocumentCard
from qa_engine.store.sqlite_store import SQLiteStore

TEXT_CACHE_DOCUMENTS = 32  # texts of the filings the last questions cited


@contextmanager
def _reading(store_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(store_path, read_only=True)
    try:
        yield store
    finally:
        store.close()


class StoredChunks:
    """Chunk rows fetched by id, kept only when their document belongs to the snapshot (a write another process
    has not committed, or one committed after this snapshot, is not seen)."""

    def __init__(self, store_path: Path, cards: Mapping[str, DocumentCard]) -> None:
        self._path, self._cards = store_path, cards

    def __len__(self) -> int:
        return sum(card.chunks for card in self._cards.values())

    def by_ids(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        with _reading(self._path) as store:
            chunks = store.chunks_by_id(chunk_ids)
        return {c.chunk_id: c for c in chunks if c.doc_id in self._cards}


class StoredDocuments(Mapping[str, Document]):
    """The snapshot's documents by id; a text is read on first use and the last few are kept."""

    def __init__(self, store_path: Path, cards: Mapping[str, DocumentCard],
                 cache_size: int = TEXT_CACHE_DOCUMENTS) -> None:
        self._path, self._cards, self._size = store_path, cards, cache_size
        self._cache: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, doc_id: str) -> Document:
        if doc_id not in self._cards:
            raise KeyError(doc_id)
        with self._lock:
            if doc_id in self._cache:
                self._cache.move_to_end(doc_id)
                return self._cache[doc_id]
        with _reading(self._path) as store:
            document = store.document(doc_id)
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
