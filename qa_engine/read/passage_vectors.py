"""The neural reader's passage vectors, kept on disk by content so that a sentence is encoded once per encoder.

A question runs the encoder over its query and its 12 candidate sentences; the sentences' pass is most of the
reader's time (about 170 of 200 ms on 2 cores). The vectors depend only on the encoder and the text, so they
are kept in a SQLite table beside the encoder's files, keyed by a hash of the text as encoded: a candidate met
before, by any question, index or process, costs a lookup. `fill_passage_vectors` encodes every candidate
sentence of an index ahead of time (`qa-engine ingest --reader-vectors`), leaving a question one short pass.

The table is a cache: a read that fails is a miss, a write that fails (read-only folder, full disk, a writer
holding the lock too long) is skipped, and it stops growing at its size cap. Stored as float32, a vector is
the one the encoder gives (not rounded), so answers do not depend on what the table holds.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_engine.per_thread import PerThread
from qa_engine.read.encoder import PASSAGE_PREFIX, PrefixedEncoder

logger = logging.getLogger(__name__)

FILE_NAME = "passage_vectors.sqlite"
BUSY_TIMEOUT_S = 0.2  # a question does not wait longer for another writer: its vectors are kept next time
# making the file (WAL mode, the table) waits longer: threads or processes opening it at once queue for it, and a
# setup that gave up early was taken for a read-only folder, which kept nothing for the rest of the process
SETUP_TIMEOUT_S = 5.0
FILL_BATCH = 64  # texts per call when filling: sorted by length, so a call's groups of 4 pad little
LOOKUP_BATCH = 500  # keys per query (SQLite's parameter limit is 999 on old builds)
# a rowid table: rows of 1.5 KB in a WITHOUT ROWID b-tree fill a third of each page (30 MB for 10 MB of vectors)
SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"


def text_key(text: str, max_tokens: int) -> bytes:
    """The table key of a text as encoded (prefix included); truncation is part of what the encoder read."""
    return hashlib.blake2b(f"{max_tokens}\0{text}".encode(), digest_size=16).digest()


class PassageVectorTable:
    """Vectors by key in one SQLite file; one connection per thread and process, opened on first use."""

    def __init__(self, path: Path, dimension: int, max_bytes: int) -> None:
        self.path, self.dimension, self.max_bytes = path, dimension, max_bytes  # a blob of another length is a miss
        self._connections = PerThread(self._open)
        self._full = False

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The stored vectors of those keys that are stored (none when the table cannot be read)."""
        found: dict[bytes, np.ndarray] = {}
        try:
            connection = self._connection()
            for start in range(0, len(keys), LOOKUP_BATCH):
                batch = keys[start : start + LOOKUP_BATCH]
                marks = ",".join("?" * len(batch))
                for key, blob in connection.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch):
                    if len(blob) == 4 * self.dimension:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error as exc:
            logger.debug("passage vectors not read from %s: %s", self.path, exc)
        return found

    @property
    def full(self) -> bool:
        """Whether the table takes no more vectors (at its cap, or not writable)."""
        return self._full

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> bool:
        """Store the vectors (rows) under the keys; False when they could not be written."""
        if self._full or not keys:
            return False
        rows = [(key, np.ascontiguousarray(row, dtype=np.float32).tobytes()) for key, row in zip(keys, vectors)]
        try:
            connection = self._connection()
            with connection:
                connection.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", rows)
            self._full = self._size() >= self.max_bytes
            if self._full:
                logger.info("passage vectors in %s reached their cap of %d MB", self.path, self.max_bytes >> 20)
            return True
        except sqlite3.Error as exc:
            logger.debug("passage vectors not written to %s: %s", self.path, exc)
            return False

    def __len__(self) -> int:
        try:
            return int(self._connection().execute("SELECT count(*) FROM vectors").fetchone()[0])
        except sqlite3.Error:
            return 0

    def _size(self) -> int:
        connection = self._connection()
        page_count = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        return int(page_count) * int(page_size)

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=SETUP_TIMEOUT_S)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # a cache: a lost last write costs one encoding
            connection.execute(SCHEMA)
        except sqlite3.OperationalError as exc:
            if is_busy(exc):  # still locked by another writer: a miss now, and the next use opens it again
                connection.close()
                raise
            logger.debug("passage vectors in %s are read-only: %s", self.path, exc)  # read what is there
            self._full = True
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return connection


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for a lock (rather than refusing to write at all)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class CachedPassageEncoder(PrefixedEncoder):
    """An encoder whose passage vectors come from a `PassageVectorTable` when it holds them; the others are
    encoded by `inner` and stored. Queries always run the encoder (one short pass)."""

    def __init__(self, inner: PrefixedEncoder, table: PassageVectorTable, max_tokens: int) -> None:
        super().__init__()
        self.inner, self.table, self.max_tokens = inner, table, max_tokens

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        keys = self._keys(texts)
        stored = self.table.get(keys)
        missing = [i for i, key in enumerate(keys) if key not in stored]
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            if key in stored:
                vectors[i] = stored[key]
        if missing:
            vectors[missing] = self.encode_and_store([texts[i] for i in missing], [keys[i] for i in missing])
        return vectors

    def encode_and_store(self, texts: Sequence[str], keys: Sequence[bytes] | None = None) -> np.ndarray:
        """Encode `texts` without looking them up (their `keys`, when known) and store their vectors."""
        encoded = self.inner.encode_passages(texts)
        self.table.put(keys if keys is not None else self._keys(texts), encoded)
        return encoded

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Those of `texts` that the table does not hold yet, in order."""
        keys = self._keys(texts)
        stored = self.table.get(keys)
        return [text for text, key in zip(texts, keys, strict=True) if key not in stored]

    def _keys(self, texts: Sequence[str]) -> list[bytes]:
        return [text_key(PASSAGE_PREFIX + text, self.max_tokens) for text in texts]


@dataclass(frozen=True)
class FillReport:
    """What `fill_passage_vectors` did: distinct texts seen, how many it encoded, and whether the table ran out
    of room (cap or read-only) before the end."""

    texts: int
    encoded: int
    seconds: float
    stopped_full: bool


def fill_passage_vectors(encoder: CachedPassageEncoder, texts: Iterable[str],
                         on_progress: Callable[[int, int], None] | None = None) -> FillReport:
    """Encode and store every distinct text of `texts` the table lacks; `on_progress(done, total)` after each
    batch."""
    started = time.perf_counter()
    distinct = list(dict.fromkeys(texts))
    missing = sorted(encoder.missing(distinct), key=len)
    done = 0
    for start in range(0, len(missing), FILL_BATCH):
        if encoder.table.full:
            break
        batch = missing[start : start + FILL_BATCH]
        encoder.encode_and_store(batch)  # looked up once already, by `missing`
        done += len(batch)
        if on_progress is not None:
            on_progress(done, len(missing))
    return FillReport(len(distinct), done, time.perf_counter() - started, done < len(missing))
