"""Chunks and texts read from the SQLite store by id (what an engine over Milvus holds instead of them)."""

from __future__ import annotations

import pytest

from qa_engine import Engine
from qa_engine.index.stored import StoredChunks, StoredDocuments
from qa_engine.index.writer import STORE_FILE
from qa_engine.store.sqlite_store import SQLiteStore


@pytest.fixture(scope="module")
def cards(engine: Engine):  # type: ignore[no-untyped-def]
    store = SQLiteStore(engine.index_dir / STORE_FILE, read_only=True)
    try:
        return store.cards()
    finally:
        store.close()


def test_cards_match_the_documents_and_their_chunks(engine: Engine, cards) -> None:  # type: ignore[no-untyped-def]
    snapshot = engine._snapshot
    assert set(cards) == set(snapshot.documents)
    for doc_id, card in cards.items():
        assert card.chars == len(snapshot.documents[doc_id].text)
        assert card.chunks == len(snapshot.positions_by_doc[doc_id])
        assert card.meta == snapshot.documents[doc_id].meta and card.page_starts == snapshot.documents[doc_id].page_starts


def test_chunks_read_by_id_equal_the_chunks_in_memory(engine: Engine, cards) -> None:  # type: ignore[no-untyped-def]
    chunks = engine._snapshot.chunks
    wanted = [chunks[0].chunk_id, chunks[len(chunks) // 2].chunk_id, chunks[-1].chunk_id]
    read = StoredChunks(engine.index_dir / STORE_FILE, cards).by_ids([*wanted, "no-such-chunk"])
    assert set(read) == set(wanted)
    by_id = {c.chunk_id: c for c in chunks}
    assert all(read[cid] == by_id[cid] for cid in wanted)


def test_chunks_of_a_document_outside_the_snapshot_are_left_out(engine: Engine, cards) -> None:  # type: ignore[no-untyped-def]
    first = engine._snapshot.chunks[0]
    others = {d: c for d, c in cards.items() if d != first.doc_id}
    stored = StoredChunks(engine.index_dir / STORE_FILE, others)
    assert stored.by_ids([first.chunk_id]) == {}
    assert len(stored) == sum(c.chunks for c in others.values())


def test_texts_are_read_on_demand_and_only_the_last_few_kept(engine: Engine, cards) -> None:  # type: ignore[no-untyped-def]
    documents = StoredDocuments(engine.index_dir / STORE_FILE, cards, cache_size=2)
    ids = list(cards)
    assert len(documents) == len(ids) and set(documents) == set(ids) and ids[0] in documents
    for doc_id in ids:
        assert documents[doc_id] == engine._snapshot.documents[doc_id]
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
