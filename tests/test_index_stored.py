"""Chunks and texts read from the SQLite store by id, and the positions an engine holds instead of them."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from qa_engine import Engine
from qa_engine.index.stored import StoredChunks, StoredDocuments, StoreReader
from qa_engine.index.writer import STORE_FILE
from qa_engine.models import Chunk, Document
from qa_engine.store.sqlite_store import SQLiteStore


@pytest.fixture(scope="module")
def cards(engine: Engine):  # type: ignore[no-untyped-def]
    store = SQLiteStore(engine.index_dir / STORE_FILE, read_only=True)
    try:
        return store.cards()
    finally:
        store.close()


@pytest.fixture(scope="module")
def stored(engine: Engine) -> tuple[list[Document], list[Chunk]]:
    store = SQLiteStore(engine.index_dir / STORE_FILE, read_only=True)
    try:
        return store.documents(), store.chunks(with_tokens=False)
    finally:
        store.close()


def test_cards_match_the_documents_and_their_chunks(engine: Engine, cards, stored) -> None:  # type: ignore[no-untyped-def]
    documents, chunks = stored
    positions = engine._snapshot.positions
    assert positions is not None and set(cards) == {d.doc_id for d in documents} == set(positions.doc_ids)
    for doc in documents:
        card = cards[doc.doc_id]
        assert card.chars == len(doc.text)
        assert card.chunks == len(positions.by_doc[doc.doc_id]) == sum(c.doc_id == doc.doc_id for c in chunks)
        assert card.meta == doc.meta and card.page_starts == doc.page_starts


def test_the_generation_holds_the_stores_cards(engine: Engine, cards) -> None:  # type: ignore[no-untyped-def]
    generation_cards = engine._snapshot.cards
    assert generation_cards == cards and list(generation_cards) == list(cards)


def test_positions_name_every_stored_chunk_and_its_document(engine: Engine, stored) -> None:  # type: ignore[no-untyped-def]
    _, chunks = stored
    positions = engine._snapshot.positions
    assert positions is not None and len(positions) == len(chunks)
    at = {positions.chunk_id(p): positions.doc_id(p) for p in range(len(positions))}
    assert at == {c.chunk_id: c.doc_id for c in chunks}
    doc_id = chunks[0].doc_id
    mask = positions.mask_for({doc_id})
    assert {positions.chunk_id(p) for p in np.flatnonzero(mask)} == {c.chunk_id for c in chunks if c.doc_id == doc_id}


def test_chunks_read_by_id_equal_the_stored_chunks(engine: Engine, cards, stored) -> None:  # type: ignore[no-untyped-def]
    _, chunks = stored
    wanted = [chunks[0].chunk_id, chunks[len(chunks) // 2].chunk_id, chunks[-1].chunk_id]
    read = StoredChunks(StoreReader(engine.index_dir / STORE_FILE), cards).by_ids([*wanted, "no-such-chunk"])
    assert set(read) == set(wanted)
    by_id = {c.chunk_id: c for c in chunks}
    assert all(read[cid] == by_id[cid] for cid in wanted)


def test_chunks_of_a_document_outside_the_snapshot_are_left_out(engine: Engine, cards, stored) -> None:  # type: ignore[no-untyped-def]
    first = stored[1][0]
    others = {d: c for d, c in cards.items() if d != first.doc_id}
    chunks = StoredChunks(StoreReader(engine.index_dir / STORE_FILE), others)
    assert chunks.by_ids([first.chunk_id]) == {}
    assert len(chunks) == sum(c.chunks for c in others.values())


def test_texts_are_read_on_demand_and_only_the_last_few_kept(engine: Engine, cards, stored) -> None:  # type: ignore[no-untyped-def]
    documents = StoredDocuments(StoreReader(engine.index_dir / STORE_FILE), cards, cache_size=2)
    ids = list(cards)
    assert len(documents) == len(ids) and set(documents) == set(ids) and ids[0] in documents
    by_id = {d.doc_id: d for d in stored[0]}
    for doc_id in ids:
        assert documents[doc_id] == by_id[doc_id]
    assert list(documents._cache) == ids[-2:]
    with pytest.raises(KeyError):
        documents["no-such-document"]
    assert documents.get("no-such-document") is None


def test_a_read_only_store_neither_creates_nor_writes_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qa_engine.errors import IndexCorruptError

    missing = tmp_path / STORE_FILE
    with pytest.raises(IndexCorruptError):
        SQLiteStore(missing, read_only=True)
    assert not missing.exists()


def test_each_thread_keeps_one_read_connection_and_a_forked_process_opens_its_own(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = StoreReader(engine.index_dir / STORE_FILE)
    first = reader.get()
    assert reader.get() is first
    other: list[SQLiteStore] = []
    thread = threading.Thread(target=lambda: other.append(reader.get()))
    thread.start()
    thread.join()
    assert other and other[0] is not first
    pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: pid + 1)
    assert reader.get() is not first
