"""Documents and chunks in SQLite; the `meta` table names the current index generation.

A document's identity is its `origin` (the resolved path it was read from), not its file name: two
`report.txt` in different folders are two documents. Stores written before `origin` existed are migrated on
open; their documents keep their file name as origin until a file at that name is ingested again.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from sys import intern
from typing import NamedTuple

import numpy as np

from qa_engine.errors import IndexBusyError, IndexCorruptError
from qa_engine.models import Chunk, ChunkTerms, Document, DocumentCard, DocumentMeta

DOCUMENTS_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    origin TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL,
    page_starts TEXT NOT NULL,
    added_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""" + DOCUMENTS_TABLE.format(name="documents") + """
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
REPAIR_HINT = "move the folder away and rebuild it: `qa-engine ingest PATH --index FOLDER`"


class KnownDocument(NamedTuple):
    """What change detection needs to know about an indexed document."""

    doc_id: str
    content_hash: str
    source: str


@contextmanager
def store_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's errors about a damaged or locked file into IndexCorruptError / IndexBusyError."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise IndexBusyError(f"{path.parent.name}/{path.name} is locked by another process; try again") from exc
        raise IndexCorruptError(f"{path.parent.name}/{path.name} cannot be read ({exc}): {REPAIR_HINT}") from exc
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        if isinstance(exc, sqlite3.IntegrityError):
            raise
        raise IndexCorruptError(f"{path.parent.name}/{path.name} is damaged ({exc}): {REPAIR_HINT}") from exc


def read_current_generation(path: Path) -> str | None:
    """Return the committed generation named in the store at `path`, read-only (None when there is no store):
    what a server polls to follow writes made by other processes."""
    if not path.exists():
        return None
    with store_errors(path):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='current_generation'").fetchone()
        finally:
            conn.close()
    return row[0] if row else None


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class SQLiteStore:
    """Thin typed wrapper over one SQLite file; one connection per instance (WAL, so readers never block)."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        """`read_only`: a connection that can only read (it never creates, migrates or locks the file for writing)."""
        self.path = path
        with store_errors(path):
            if read_only:
                self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
                return
            self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                self._conn.executescript(SCHEMA)
                _add_origin_column(self._conn)
            except BaseException:
                self._conn.close()
                raise

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
        with store_errors(self.path):
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # documents
    def documents(self) -> list[Document]:
        with store_errors(self.path):
            rows = self._conn.execute(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY source, origin"
            ).fetchall()
            return [document_from_row(row) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        with store_errors(self.path):
            row = self._conn.execute(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE doc_id=?", (doc_id,)
            ).fetchone()
            return document_from_row(row) if row else None

    def cards(self, chunk_counts: Mapping[str, int] | None = None) -> dict[str, DocumentCard]:
        """Every document's card (all but its text), with its length, and its chunk count from `chunk_counts` or
        else counted by SQLite (a second at 1.6M chunks)."""
        with store_errors(self.path):
            counts = chunk_counts if chunk_counts is not None else dict(
                self._conn.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id").fetchall())
            rows = self._conn.execute("SELECT doc_id, source, meta, page_starts, content_hash, origin, length(text) "
                                      "FROM documents ORDER BY source, origin").fetchall()
        return {
            doc_id: DocumentCard(doc_id, source, _meta(meta), _page_starts(starts), digest, origin, chars,
                                 int(counts.get(doc_id, 0)))
            for doc_id, source, meta, starts, digest, origin, chars in rows
        }

    def current_generation(self) -> str | None:
        """Return the name of the committed generation (one indexed read: cheap enough to poll)."""
        return self.get_meta("current_generation")

    def known_documents(self) -> dict[str, KnownDocument]:
        """{origin: KnownDocument} for change detection."""
        with store_errors(self.path):
            rows = self._conn.execute("SELECT origin, doc_id, content_hash, source FROM documents").fetchall()
        return {origin: KnownDocument(doc_id, digest, source) for origin, doc_id, digest, source in rows}

    @staticmethod
    def insert_document(conn: sqlite3.Connection, doc: Document, chunks: Iterable[Chunk], vectors: np.ndarray | None) -> None:
        conn.execute(
            "INSERT INTO documents(doc_id, source, origin, content_hash, text, meta, page_starts)"
            " VALUES (?,?,?,?,?,?,?)",
            (doc.doc_id, doc.source, doc.origin or doc.source, doc.content_hash, doc.text,
             _dumps(dataclasses.asdict(doc.meta)), _dumps(list(doc.page_starts))),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [_chunk_row(i, c, None if vectors is None else vectors[i]) for i, c in enumerate(chunks)],
        )

    @staticmethod
    def set_origin(conn: sqlite3.Connection, doc_id: str, origin: str) -> None:
        """Give a document a new identity (a migrated one whose file was ingested again at its path)."""
        conn.execute("UPDATE documents SET origin=? WHERE doc_id=?", (origin, doc_id))

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
    def chunks(self, with_tokens: bool = True) -> list[Chunk]:
        """Every chunk in document order; without their search terms (`tokens=()`) when only queries will use them:
        decoding the terms is most of the time and memory of opening an index, and only writes need them."""
        tokens = "tokens" if with_tokens else "NULL"
        with store_errors(self.path):
            rows = self._conn.execute(
                f"SELECT {CHUNK_COLUMNS}, {tokens} FROM chunks ORDER BY doc_id, ord"
            ).fetchall()
            return [chunk_from_row(row) for row in rows]

    def chunk_documents(self) -> dict[str, str]:
        """Every chunk id → its document id."""
        with store_errors(self.path):
            return dict(self._conn.execute("SELECT chunk_id, doc_id FROM chunks").fetchall())

    def chunk_terms(self) -> list[ChunkTerms]:
        """Every chunk's id, document and search terms (interned), in document order: what a new generation needs
        of the chunks it keeps, without their texts."""
        with store_errors(self.path):
            rows = self._conn.execute("SELECT chunk_id, doc_id, tokens FROM chunks ORDER BY doc_id, ord").fetchall()
        return [ChunkTerms(chunk_id, doc_id, _terms(tokens)) for chunk_id, doc_id, tokens in rows]

    def chunk_spans(self, doc_id: str) -> list[tuple[int, int]]:
        """The (start, end) offsets of a document's chunks in its text, in order."""
        with store_errors(self.path):
            rows = self._conn.execute("SELECT start, end FROM chunks WHERE doc_id = ? ORDER BY ord", (doc_id,))
            return [(int(start), int(end)) for start, end in rows.fetchall()]

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The stored chunks among `chunk_ids` (in no particular order), without their search terms."""
        if not chunk_ids:
            return []
        marks = ",".join("?" * len(chunk_ids))
        with store_errors(self.path):
            rows = self._conn.execute(f"SELECT {CHUNK_COLUMNS}, NULL FROM chunks WHERE chunk_id IN ({marks})",
                                      list(chunk_ids)).fetchall()
        return [chunk_from_row(row) for row in rows]

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


DOCUMENT_COLUMNS = "doc_id, source, text, meta, page_starts, content_hash, origin"
CHUNK_COLUMNS = "chunk_id, doc_id, text, start, end, section, page_start, page_end, context"  # then tokens


def document_from_row(row: tuple) -> Document:  # type: ignore[type-arg]
    doc_id, source, text, meta, page_starts, digest, origin = row
    return Document(
        doc_id=doc_id,
        source=source,
        text=text,
        meta=_meta(meta),
        page_starts=_page_starts(page_starts),
        content_hash=digest,
        origin=origin,
    )


def _meta(stored: str) -> DocumentMeta:
    return DocumentMeta(**json.loads(stored))


def _page_starts(stored: str) -> tuple[int, ...]:
    return tuple(json.loads(stored))


def _add_origin_column(conn: sqlite3.Connection) -> None:
    """Migrate a store keyed by file name (`source UNIQUE`) to one keyed by origin, in one transaction."""
    if _has_origin(conn):
        return
    conn.execute("PRAGMA foreign_keys=OFF")  # the table is rebuilt under the chunks that reference it
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _has_origin(conn):  # another process may have migrated it while this one waited
                # SQLite's recipe for changing a constraint: new table, copy, drop, rename (chunks' reference
                # to `documents` then names the new table)
                conn.execute(DOCUMENTS_TABLE.format(name="documents_by_origin"))
                conn.execute(
                    "INSERT INTO documents_by_origin(doc_id, source, origin, content_hash, text, meta, page_starts,"
                    " added_at) SELECT doc_id, source, source, content_hash, text, meta, page_starts, added_at"
                    " FROM documents"
                )
                conn.execute("DROP TABLE documents")
                conn.execute("ALTER TABLE documents_by_origin RENAME TO documents")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


def _has_origin(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "origin" for row in conn.execute("PRAGMA table_info(documents)"))


def _chunk_row(ord_: int, c: Chunk, vector: np.ndarray | None) -> tuple:  # type: ignore[type-arg]
    blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
    return (c.chunk_id, c.doc_id, ord_, c.start, c.end, c.text, c.section, c.page_start, c.page_end, c.context,
            _dumps(list(c.tokens)), blob)


def chunk_from_row(row: tuple) -> Chunk:  # type: ignore[type-arg]
    chunk_id, doc_id, text, start, end, section, page_start, page_end, context, tokens = row
    return Chunk(chunk_id=chunk_id, doc_id=doc_id, text=text, start=start, end=end, section=section,
                 page_start=page_start, page_end=page_end, context=context,
                 tokens=() if tokens is None else _terms(tokens))


def _terms(stored: str) -> tuple[str, ...]:
    """A chunk's stored search terms, interned: one string per distinct term across 1.6M chunks, not one per
    occurrence."""
    return tuple(map(intern, json.loads(stored)))
