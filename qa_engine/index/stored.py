"""Chunks and document texts read from the SQLite store when a question needs them, not held in memory.

An engine whose searches run in Milvus keeps no per-chunk state of its own: the backend answers with chunk ids,
and the few chunks a question cites (and the texts of their documents) are read here by id. What stays resident
is one small card per document (name, metadata, page starts) and a bounded cache of recently read texts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from qa_engine.models import Chunk, Document, DocumentCard, DocumentMeta
from qa_engine.store.sqlite_store import (
    CHUNK_COLUMNS,
    DOCUMENT_COLUMNS,
    chunk_from_row,
    document_from_row,
    store_errors,
)

TEXT_CACHE_DOCUMENTS = 32  # texts of the filings the last questions cited


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that can only read (it never takes the writer's lock or creates the file)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)


def read_cards(conn: sqlite3.Connection) -> dict[str, DocumentCard]:
    """Every document's card (no text), with its length and chunk count computed by SQLite."""
    counts = dict(conn.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id").fetchall())
    rows = conn.execute("SELECT doc_id, source, meta, page_starts, content_hash, origin, length(text) "
                        "FROM documents ORDER BY source, origin").fetchall()
    return {
        doc_id: DocumentCard(doc_id, source, DocumentMeta(**json.loads(meta)), tuple(json.loads(starts)), digest,
                             origin, chars, int(counts.get(doc_id, 0)))
        for doc_id, source, meta, starts, digest, origin, chars in rows
    }


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
        marks = ",".join("?" * len(chunk_ids))
        with store_errors(self._path):
            conn = read_only(self._path)
            try:
                rows = conn.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE chunk_id IN ({marks})",
                                    list(chunk_ids)).fetchall()
            finally:
                conn.close()
        chunks = (chunk_from_row((*row, None)) for row in rows)
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
        document = self._read(doc_id)
        with self._lock:
            self._cache[doc_id] = document
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return document

    def _read(self, doc_id: str) -> Document:
        with store_errors(self._path):
            conn = read_only(self._path)
            try:
                row = conn.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
            finally:
                conn.close()
        if row is None:  # removed by a write committed after this snapshot
            raise KeyError(doc_id)
        return document_from_row(row)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._cards

    def __iter__(self) -> Iterator[str]:
        return iter(self._cards)

    def __len__(self) -> int:
        return len(self._cards)
