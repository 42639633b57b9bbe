"""The single write path: apply added/removed documents and switch to a new generation atomically."""

from __future__ import annotations

import fcntl
import json
import time
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from qa_engine.chunk.chunker import chunk_document
from qa_engine.chunk.tokenizer import FinanceTokenizer, company_words
from qa_engine.embed.factory import EMBEDDER_DIR, embed_chunks, load_embedder, prepare_embedder
from qa_engine.errors import IndexBusyError
from qa_engine.index.generation import (
    FORMAT_VERSION,
    Manifest,
    corpus_hash,
    next_generation_name,
    remove_stale_generations,
    write_generation,
)
from qa_engine.ingest.sections import build_section_map
from qa_engine.models import Chunk, ChunkTerms, Document, DocumentCard
from qa_engine.settings import Settings
from qa_engine.store.sqlite_store import SQLiteStore
from qa_engine.version import __version__

STORE_FILE = "store.sqlite"
LOCK_FILE = ".lock"
CURRENT_KEY = "current_generation"
PENDING_DELETES_KEY = "backend_pending_deletes"  # documents removed in SQLite, maybe not yet in the backend
LOCK_WAIT_S = 60.0


class ChunkSink(Protocol):
    """What the writer needs of a search backend: the searchable copy of the chunks, kept in step with the index."""

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray | None, cards: Mapping[str, DocumentCard]) -> None:
        """Adds or replaces `chunks` (row i of `vectors` belongs to chunk i; `cards` holds their documents)."""
        ...

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        """Removes every chunk of `doc_ids`."""
        ...

    def clear(self) -> None:
        """Removes every chunk: the index is about to be built from scratch."""
        ...


@dataclass(frozen=True)
class Change:
    add: list[Document]
    remove: set[str]


@contextmanager
def writer_lock(index_dir: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One writer per index folder (also across processes); raises IndexBusyError after `wait_s`."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"{index_dir.name}/: another process is writing this index; try again later")
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apply_change(index_dir: Path, settings: Settings, change: Change, backend: ChunkSink,
                 retrain: bool = False) -> str:
    """Writes the change and a new generation; returns the generation name. Caller holds the writer lock.

    The search backend gets new chunks before the SQLite commit (queries ignore chunks the committed snapshot
    lacks) and loses removed documents after it (a crash in between is retried by the next write)."""
    store = SQLiteStore(index_dir / STORE_FILE)
    try:
        return _apply(index_dir, settings, change, retrain, store, backend)
    finally:
        store.close()


def _apply(index_dir: Path, settings: Settings, change: Change, retrain: bool, store: SQLiteStore,
           backend: ChunkSink) -> str:
    # what is kept is read as cards and chunk terms, not texts: a write to an index of 1.6M chunks held every text
    # and every term occurrence as its own string (18 GB); the kept chunks' texts are read only to embed or send
    # them all again
    kept = [c for c in store.chunk_terms() if c.doc_id not in change.remove]
    kept_cards = [c for c in store.cards(Counter(c.doc_id for c in kept)).values() if c.doc_id not in change.remove]
    tokenizer = FinanceTokenizer(company_words([*kept_cards, *change.add]), settings.user_dict, settings.segmenter)
    new_chunks = {d.doc_id: _chunk(d, tokenizer, settings) for d in change.add}
    new = [c for d in change.add for c in new_chunks[d.doc_id]]
    chunks: list[Chunk | ChunkTerms] = [*kept, *new]
    all_cards = kept_cards + [DocumentCard.of(d, len(new_chunks[d.doc_id])) for d in change.add]
    stored = _StoredChunks(store, change.remove)
    embedder_id, vectors, fresh = _vectors(index_dir, settings, store, kept, new, stored, tokenizer, retrain)
    current = store.get_meta(CURRENT_KEY)
    name = next_generation_name(index_dir, current)
    manifest = _manifest(name, settings, embedder_id, vectors, tokenizer, all_cards, chunks)
    write_generation(index_dir, name, chunks, vectors, manifest, settings.hnsw_threshold, settings.bm25_k1,
                     settings.bm25_b, all_cards)
    full = fresh or retrain or not current
    _send_new_chunks(backend, [*stored.all, *new] if full else new, vectors, len(kept),
                     {c.doc_id: c for c in all_cards}, full)
    pending = (_pending_deletes(store) | change.remove) - {d.doc_id for d in change.add}
    _commit(store, change, new_chunks, chunks, vectors, fresh, name, embedder_id, pending)
    _delete_from_backend(store, backend, pending)
    previous = store.get_meta("previous_generation")
    remove_stale_generations(index_dir, {name} | ({previous} if previous else set()))
    return name


class _StoredChunks:
    """The kept chunks with their texts, read from the store only when a write embeds or sends every chunk again,
    and then once."""

    def __init__(self, store: SQLiteStore, removed: set[str]) -> None:
        self._store, self._removed = store, removed

    @cached_property
    def all(self) -> list[Chunk]:
        return [c for c in self._store.chunks() if c.doc_id not in self._removed]


def _send_new_chunks(backend: ChunkSink, chunks: list[Chunk], vectors: np.ndarray | None, kept: int,
                     cards: dict[str, DocumentCard], full: bool) -> None:
    """Upserts `chunks`: the new ones (their vectors from row `kept` on), or on a first build or a rebuild every
    chunk into an emptied backend."""
    if full:
        backend.clear()
    own = vectors if vectors is None or full else vectors[kept:]
    backend.upsert(chunks, own, cards)


def _pending_deletes(store: SQLiteStore) -> set[str]:
    return set(json.loads(store.get_meta(PENDING_DELETES_KEY) or "[]"))


def _delete_from_backend(store: SQLiteStore, backend: ChunkSink, doc_ids: set[str]) -> None:
    if not doc_ids:
        return
    backend.delete_documents(doc_ids)
    with store.transaction() as conn:
        SQLiteStore.set_meta(conn, PENDING_DELETES_KEY, "[]")


def _chunk(doc: Document, tokenizer: FinanceTokenizer, settings: Settings) -> list[Chunk]:
    return chunk_document(
        doc, build_section_map(doc.text), tokenizer, settings.chunk_tokens, settings.chunk_overlap_sentences
    )


def _vectors(
    index_dir: Path, settings: Settings, store: SQLiteStore, kept: list[ChunkTerms], new: list[Chunk],
    stored_chunks: _StoredChunks, tokenizer: FinanceTokenizer, retrain: bool,
) -> tuple[str, np.ndarray | None, bool]:
    """(embedder id, vectors for the kept then the new chunks in order or None, whether every vector was
    recomputed)."""
    current = store.get_meta("embedder_id")
    if not (kept or new) or not wants_vectors(settings, None if retrain else current):
        return "none", None, False
    reuse = current if current and not retrain and _same_kind(current, settings.embedder) else None
    embedder = load_embedder(index_dir / EMBEDDER_DIR, reuse, tokenizer, settings) if reuse else None
    if embedder is None:
        every = [*stored_chunks.all, *new]
        embedder = prepare_embedder(index_dir / EMBEDDER_DIR, settings, [c.tokens for c in every], tokenizer)
        return embedder.model_id, embed_chunks(embedder, every), True
    stored = store.vectors([c.chunk_id for c in kept], embedder.dim)
    fresh = embed_chunks(embedder, new) if new else np.zeros((0, embedder.dim), np.float32)
    return embedder.model_id, np.vstack([stored, fresh]), False


def wants_vectors(settings: Settings, current_embedder: str | None) -> bool:
    """Return True when this write embeds chunks: an embedder is configured, and either QA_DENSE_INDEX=always, the
    retrieval mode queries vectors, or the index has vectors already (kept up to date, not dropped)."""
    if settings.embedder == "none":
        return False
    if settings.dense_index == "always" or settings.retrieval_mode != "bm25":
        return True
    return current_embedder not in (None, "none")


def _same_kind(embedder_id: str, configured: str) -> bool:
    return embedder_id.startswith("static:") if configured == "static" else embedder_id == configured


def _manifest(
    name: str, settings: Settings, embedder_id: str, vectors: np.ndarray | None, tokenizer: FinanceTokenizer,
    docs: list[DocumentCard], chunks: list[Chunk | ChunkTerms],
) -> Manifest:
    return Manifest(
        generation=name,
        package_version=__version__,
        format_version=FORMAT_VERSION,
        embedder=embedder_id,
        embed_dim=0 if vectors is None else int(vectors.shape[1]),
        company_words=list(tokenizer.extra_words),
        parameters={"chunk_tokens": settings.chunk_tokens, "chunk_overlap_sentences": settings.chunk_overlap_sentences,
                    "bm25_k1": settings.bm25_k1, "bm25_b": settings.bm25_b, "segmenter": tokenizer.segmenter},
        corpus_hash=corpus_hash([d.content_hash for d in docs]),
        chunk_count=len(chunks),
        document_count=len(docs),
    )


def _commit(
    store: SQLiteStore, change: Change, new_chunks: dict[str, list[Chunk]], chunks: list[Chunk | ChunkTerms],
    vectors: np.ndarray | None, fresh: bool, name: str, embedder_id: str, pending_deletes: set[str],
) -> None:
    """One SQLite transaction: rows and the current-generation pointer switch together."""
    offset = len(chunks) - sum(len(v) for v in new_chunks.values())
    with store.transaction() as conn:
        for doc_id in change.remove:
            SQLiteStore.delete_document(conn, doc_id)
        for doc in change.add:
            own = new_chunks[doc.doc_id]
            own_vectors = None if vectors is None else vectors[offset : offset + len(own)]
            SQLiteStore.insert_document(conn, doc, own, own_vectors)
            offset += len(own)
        if fresh and vectors is not None:
            SQLiteStore.set_vectors(conn, [c.chunk_id for c in chunks], vectors)
        previous = store.get_meta(CURRENT_KEY)
        if previous:
            SQLiteStore.set_meta(conn, "previous_generation", previous)
        SQLiteStore.set_meta(conn, CURRENT_KEY, name)
        SQLiteStore.set_meta(conn, "embedder_id", embedder_id)
        SQLiteStore.set_meta(conn, PENDING_DELETES_KEY, json.dumps(sorted(pending_deletes)))
