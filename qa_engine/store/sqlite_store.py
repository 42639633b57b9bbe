"""Documents and chunks in SQLite; the `meta` table names the current index generation."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from qa_engine.models import Chunk, Document, DocumentMeta

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL,
    page_starts TEXT NOT NULL,
    added_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    context TEXT NOT NULL,
    tokens TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ord);
"""


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class SQLiteStore:
    """Thin typed wrapper over one SQLite file; one connection per instance (WAL, so readers never block)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read of several tables (one read transaction)."""
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.execute("COMMIT")

    # meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # documents
    def documents(self) -> list[Document]:
        rows = self._conn.execute(
            "SELECT doc_id, source, text, meta, page_starts, content_hash FROM documents ORDER BY source"
        )
        return [_document(row) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self._conn.execute(
            "SELECT doc_id, source, text, meta, page_starts, content_hash FROM documents WHERE doc_id=?", (doc_id,)
        ).fetchone()
        return _document(row) if row else None

    def hashes_by_source(self) -> dict[str, tuple[str, str]]:
        """{source: (doc_id, content_hash)} for change detection."""
        rows = self._conn.execute("SELECT source, doc_id, content_hash FROM documents")
        return {source: (doc_id, digest) for source, doc_id, digest in rows}

    @staticmethod
    def insert_document(conn: sqlite3.Connection, doc: Document, chunks: Iterable[Chunk], vectors: np.ndarray | None) -> None:
        conn.execute(
            "INSERT INTO documents(doc_id, source, content_hash, text, meta, page_starts) VALUES (?,?,?,?,?,?)",
            (doc.doc_id, doc.source, doc.content_hash, doc.text, _dumps(dataclasses.asdict(doc.meta)),
             _dumps(list(doc.page_starts))),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [_chunk_row(i, c, None if vectors is None else vectors[i]) for i, c in enumerate(chunks)],
        )

    @staticmethod
    def delete_document(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    @staticmethod
    def set_vectors(conn: sqlite3.Connection, chunk_ids: list[str], vectors: np.ndarray) -> None:
        conn.executemany(
            "UPDATE chunks SET vector=? WHERE chunk_id=?",
            [(np.asarray(v, dtype=np.float32).tobytes(), cid) for cid, v in zip(chunk_ids, vectors)],
        )

    # chunks
    def chunks(self) -> list[Chunk]:
        rows = self._conn.execute(
            "SELECT chunk_id, doc_id, text, start, end, section, page_start, page_end, context, tokens"
            " FROM chunks ORDER BY doc_id, ord"
        )
        return [_chunk(row) for row in rows]

    def vectors(self, chunk_ids: list[str], dim: int) -> np.ndarray:
        """Stored vectors in `chunk_ids` order (zeros where none is stored)."""
        found = {
            cid: np.frombuffer(blob, dtype=np.float32)
            for cid, blob in self._conn.execute("SELECT chunk_id, vector FROM chunks WHERE vector IS NOT NULL")
        }
        out = np.zeros((len(chunk_ids), dim), dtype=np.float32)
        for i, cid in enumerate(chunk_ids):
            vec = found.get(cid)
            if vec is not None and vec.shape[0] == dim:
                out[i] = vec
        return out


def _document(row: tuple) -> Document:  # type: ignore[type-arg]
    doc_id, source, text, meta, page_starts, digest = row
    return Document(
        doc_id=doc_id,
        source=source,
        text=text,
        meta=DocumentMeta(**json.loads(meta)),
        page_starts=tuple(json.loads(page_starts)),
        content_hash=digest,
    )


def _chunk_row(ord_: int, c: Chunk, vector: np.ndarray | None) -> tuple:  # type: ignore[type-arg]
    blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
    return (c.chunk_id, c.doc_id, ord_, c.start, c.end, c.text, c.section, c.page_start, c.page_end, c.context,
            _dumps(list(c.tokens)), blob)


def _chunk(row: tuple) -> Chunk:  # type: ignore[type-arg]
    chunk_id, doc_id, text, start, end, section, page_start, page_end, context, tokens = row
    return Chunk(chunk_id=chunk_id, doc_id=doc_id, text=text, start=start, end=end, section=section,
                 page_start=page_start, page_end=page_end, context=context, tokens=tuple(json.loads(tokens)))
