"""Index robustness: a crash mid-write keeps the previous index, one writer at a time, helpful errors."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from qa_engine import Engine, Settings, ingest
from qa_engine import engine as engine_module
from qa_engine.engine import ingest_paths
from qa_engine.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from qa_engine.index.generation import FORMAT_VERSION, read_manifest
from qa_engine.index.writer import CURRENT_KEY, STORE_FILE, writer_lock
from qa_engine.store.sqlite_store import SQLiteStore
from tests.helpers.crash import crash_before_commit

QUERIES = ("稀土精矿关联交易定价机制", "稀土管理条例对行业的影响", "半年度业绩说明会")
NEW_FILING = "新增公告：公司拟投资建设高性能钕铁硼永磁材料项目。\n项目总投资约十二亿元。\n"
SMALL_EMBED_DIM = 32  # the static embedder's SVD is the slow part of a build; quality is not under test here


def _results(engine: Engine) -> list[list[tuple[str, float]]]:
    return [[(h.chunk_id, round(h.score, 6)) for h in engine.search(q, k=5)] for q in QUERIES]


def _store_state(index_dir: Path) -> tuple[str | None, int, int]:
    store = SQLiteStore(index_dir / STORE_FILE)
    try:
        return store.get_meta(CURRENT_KEY), len(store.documents()), len(store.chunks())
    finally:
        store.close()


@pytest.fixture()
def small_index(tmp_path: Path, small_filings: Path) -> Settings:
    settings = Settings(index_dir=tmp_path / "index", embed_dim=SMALL_EMBED_DIM, dense_index="always")
    assert ingest([small_filings], settings).ok
    return settings


@pytest.fixture()
def new_file(tmp_path: Path) -> Path:
    path = tmp_path / "new" / "new.txt"
    path.parent.mkdir()
    path.write_text(NEW_FILING, encoding="utf-8")
    return path


def test_crash_before_commit_keeps_the_previous_index(small_index: Settings, new_file: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    state = _store_state(small_index.index_dir)
    with Engine.open(small_index.index_dir, small_index) as engine:
        documents, results = engine.documents(), _results(engine)
        crash_before_commit(monkeypatch)
        with pytest.raises(RuntimeError, match="simulated crash"):
            engine.add([new_file])
        assert engine.documents() == documents  # the open engine still serves the old snapshot
        assert _results(engine) == results
    assert _store_state(small_index.index_dir) == state  # no rows of the failed write, same generation
    with Engine.open(small_index.index_dir, small_index) as reopened:
        assert reopened.documents() == documents
        assert _results(reopened) == results
        monkeypatch.undo()
        report = reopened.add([new_file])  # the crashed write's leftover files do not get in the way
        assert report.added == ["new.txt"]
        assert reopened.search("钕铁硼永磁材料项目", k=1)[0].text.startswith("新增公告")


def test_second_writer_gets_index_busy(tmp_path: Path, new_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(index_dir=tmp_path / "index", embed_dim=SMALL_EMBED_DIM)
    # ingest_paths / Engine.add take no lock timeout (they wait writer.LOCK_WAIT_S = 60 s): shorten it here
    monkeypatch.setattr("qa_engine.engine.writer_lock", functools.partial(writer_lock, wait_s=0.2))
    with writer_lock(settings.index_dir, wait_s=0.2):
        with pytest.raises(IndexBusyError, match="another process is writing"):
            ingest_paths(settings.index_dir, settings, [new_file])
        with pytest.raises(IndexBusyError), writer_lock(settings.index_dir, wait_s=0.2):
            pass
    report = ingest_paths(settings.index_dir, settings, [new_file])  # free again once released
    assert report.added == ["new.txt"]


def test_open_empty_folder_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="qa-engine ingest"):
        Engine.open(tmp_path)
    with pytest.raises(IndexNotFoundError, match="qa-engine ingest"):
        Engine.open(tmp_path / "missing")


def test_open_store_without_generation_says_how_to_build(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / STORE_FILE).close()  # a store that was never written to
    with pytest.raises(IndexNotFoundError, match="qa-engine ingest"):
        Engine.open(tmp_path)


def test_rebuild_keeps_chunk_ids_and_manifest_records_the_build(small_index: Settings, small_filings: Path) -> None:
    with Engine.open(small_index.index_dir, small_index) as engine:
        before = [[cid for cid, _ in r] for r in _results(engine)]
    report = ingest([small_filings], small_index, rebuild=True)
    assert sorted(report.unchanged) == sorted(p.name for p in small_filings.glob("*.txt")) and not report.added
    name, documents, _ = _store_state(small_index.index_dir)
    assert name == report.generation
    with Engine.open(small_index.index_dir, small_index) as engine:
        assert [[cid for cid, _ in r] for r in _results(engine)] == before
    manifest = json.loads((small_index.index_dir / str(name) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["document_count"] == documents == 2
    assert manifest["embedder"].startswith("static:") and manifest["embed_dim"] <= SMALL_EMBED_DIM
    assert manifest["parameters"]["chunk_tokens"] == small_index.chunk_tokens
    assert "北方稀土" in manifest["company_words"]


def test_a_manifest_naming_company_words_tokenizer_words_still_reads(small_index: Settings) -> None:
    generation, _, _ = _store_state(small_index.index_dir)
    folder = small_index.index_dir / str(generation)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["tokenizer_words"] = manifest.pop("company_words")
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    assert "北方稀土" in read_manifest(folder).company_words
    with Engine.open(small_index.index_dir, small_index) as engine:
        assert engine.search(QUERIES[0], k=3)


def test_ingest_upgrades_an_index_written_in_an_older_format(small_index: Settings, small_filings: Path) -> None:
    index_dir = small_index.index_dir
    generation, documents, chunks = _store_state(index_dir)
    assert generation is not None
    manifest_path = index_dir / generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = FORMAT_VERSION - 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="ingest"):
        Engine.open(index_dir, small_index)
    report = ingest([small_filings], small_index)
    assert report.ok and not report.added  # nothing new: the stored documents were re-indexed
    upgraded, documents_after, chunks_after = _store_state(index_dir)
    assert upgraded != generation and (documents_after, chunks_after) == (documents, chunks)
    with Engine.open(index_dir, small_index) as engine:
        assert engine.search(QUERIES[0], k=3)


def _damage_store(index_dir: Path) -> None:
    (index_dir / STORE_FILE).write_bytes(os.urandom(8192))
    for suffix in ("-wal", "-shm"):
        (index_dir / f"{STORE_FILE}{suffix}").unlink(missing_ok=True)


def _remove_generation(index_dir: Path) -> None:
    shutil.rmtree(index_dir / str(_store_state(index_dir)[0]))


def _damage_positions(index_dir: Path) -> None:
    (index_dir / str(_store_state(index_dir)[0]) / "positions.npz").write_bytes(b"PK\x03\x04 not a zip")


def _damage_cards(index_dir: Path) -> None:
    (index_dir / str(_store_state(index_dir)[0]) / "cards.json").write_text('[{"doc_id": "x"}]', encoding="utf-8")


def _damage_chunk_ids_of_an_older_generation(index_dir: Path) -> None:
    """A generation written before positions.npz, whose chunk list is damaged."""
    folder = index_dir / str(_store_state(index_dir)[0])
    (folder / "positions.npz").unlink()
    (folder / "chunk_ids.json").write_text('["abc", tru', encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "fix"),
    [(_damage_store, "qa-engine ingest PATH --index"), (_remove_generation, "--rebuild"),
     (_damage_positions, "--rebuild"), (_damage_cards, "--rebuild"),
     (_damage_chunk_ids_of_an_older_generation, "--rebuild")],
)
def test_a_damaged_index_is_one_error_naming_the_fix(small_index: Settings, damage, fix: str) -> None:  # type: ignore[no-untyped-def]
    damage(small_index.index_dir)
    with pytest.raises(IndexCorruptError, match="damaged") as caught:
        Engine.open(small_index.index_dir, small_index)
    assert fix in str(caught.value) and str(small_index.index_dir.parent) not in str(caught.value)


@pytest.mark.parametrize("damage", [_remove_generation, _damage_positions])
def test_rebuild_repairs_a_damaged_generation(small_index: Settings, small_filings: Path, damage) -> None:  # type: ignore[no-untyped-def]
    damage(small_index.index_dir)
    report = ingest([small_filings], small_index, rebuild=True)
    assert report.ok and report.generation
    with Engine.open(small_index.index_dir, small_index) as engine:
        assert len(engine.documents()) == 2 and engine.search(QUERIES[0], k=3)


def test_files_are_read_without_holding_the_writer_lock(small_index: Settings, new_file: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow file (a long PDF) must not keep other writers waiting: only the write itself is locked."""
    slow = new_file.parent / "slow.txt"
    slow.write_text("另一份公告：公司完成氧化镨钕库存盘点。\n", encoding="utf-8")
    reading, release = threading.Event(), threading.Event()
    real_prepare = engine_module.prepare_document

    def prepare(item, limits):  # type: ignore[no-untyped-def]
        if item.source == "slow.txt":
            reading.set()
            assert release.wait(30)
        return real_prepare(item, limits)

    monkeypatch.setattr(engine_module, "prepare_document", prepare)
    monkeypatch.setattr(engine_module, "writer_lock", functools.partial(writer_lock, wait_s=2))
    reports: list[object] = []
    slow_ingest = threading.Thread(
        target=lambda: reports.append(ingest_paths(small_index.index_dir, small_index, [slow])))
    slow_ingest.start()
    try:
        assert reading.wait(30)
        report = ingest_paths(small_index.index_dir, small_index, [new_file])  # IndexBusyError while locked
        assert report.added == ["new.txt"]
    finally:
        release.set()
        slow_ingest.join(60)
    assert reports[0].added == ["slow.txt"]


@pytest.mark.parametrize("older", [("positions.npz",), ("cards.json",), ("positions.npz", "cards.json")])
def test_a_generation_written_before_its_positions_or_cards_opens_the_same(small_index: Settings,
                                                                           older: tuple[str, ...]) -> None:
    with Engine.open(small_index.index_dir, small_index) as engine:
        before = [(h.chunk_id, h.score) for q in QUERIES for h in engine.search(q, k=5)], engine._snapshot.cards
    for name in older:
        (small_index.index_dir / str(_store_state(small_index.index_dir)[0]) / name).unlink()
    with Engine.open(small_index.index_dir, small_index) as engine:
        after = [(h.chunk_id, h.score) for q in QUERIES for h in engine.search(q, k=5)], engine._snapshot.cards
    assert after == before and before[0] and len(before[1]) == 2


def test_an_open_engine_drops_what_another_writer_removed_since(small_index: Settings) -> None:
    """The engine reads chunks and texts from the store when a question cites them: a document another engine
    (or process) removed after this one opened is neither cited nor an error, before this engine follows the write."""
    reader = Engine.open(small_index.index_dir, small_index.model_copy(update={"reader": "heuristic"}))
    with Engine.open(small_index.index_dir, small_index) as writer:
        removed = reader.search(QUERIES[0], k=1)[0].doc_id
        kept = {d.doc_id for d in reader.documents()} - {removed}
        writer.remove(removed)
        assert writer.generation != reader.generation  # the reader still holds the snapshot from before
    assert kept
    for query in QUERIES:
        assert {h.doc_id for h in reader.search(query, k=10)} <= kept
        answer = reader.ask(query)
        assert all(c.doc_id in kept for c in answer.citations)
    reader.close()


def test_adding_a_filing_to_an_index_indexes_what_one_build_of_both_would(tmp_path: Path, small_filings: Path,
                                                                           new_file: Path) -> None:
    """A write keeps the stored chunks as their terms (not their texts): what it writes must not depend on that."""
    one_by_one = Settings(index_dir=tmp_path / "steps")
    both = Settings(index_dir=tmp_path / "both")
    assert ingest([small_filings], one_by_one).ok and ingest([new_file], one_by_one).ok
    assert ingest([small_filings, new_file], both).ok

    def written(settings: Settings) -> tuple[object, ...]:
        with Engine.open(settings.index_dir, settings) as engine:
            snapshot = engine._snapshot
            results = [sorted((h.chunk_id, round(h.score, 5)) for h in engine.search(q, k=8)) for q in QUERIES]
            cards = {d: dataclasses.replace(c, origin="") for d, c in snapshot.cards.items()}
            return (results, cards, set(snapshot.sparse.vocab), snapshot.manifest.corpus_hash,
                    snapshot.manifest.company_words, snapshot.chunk_count)

    stepwise = written(one_by_one)
    assert all(stepwise[0]) and stepwise == written(both)
