"""Index robustness: a crash mid-write keeps the previous index, one writer at a time, helpful errors."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from qa_engine import Engine, Settings
from qa_engine.engine import ingest_paths
from qa_engine.errors import IndexBusyError, IndexNotFoundError
from qa_engine.index import writer
from qa_engine.index.writer import STORE_FILE, writer_lock
from qa_engine.store.sqlite_store import SQLiteStore

QUERIES = ("稀土精矿关联交易定价机制", "稀土管理条例对行业的影响", "半年度业绩说明会")
NEW_FILING = "新增公告：公司拟投资建设高性能钕铁硼永磁材料项目。\n项目总投资约十二亿元。\n"


def _results(engine: Engine) -> list[list[tuple[str, float]]]:
    return [[(h.chunk_id, round(h.score, 6)) for h in engine.search(q, k=5)] for q in QUERIES]


@pytest.fixture()
def small_index(tmp_path: Path, small_filings: Path) -> Settings:
    settings = Settings(index_dir=tmp_path / "index")
    assert Engine.build([small_filings], settings).ok
    return settings


def test_crash_before_commit_keeps_the_previous_index(small_index: Settings, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    new_file = tmp_path / "new" / "new.txt"
    new_file.parent.mkdir()
    new_file.write_text(NEW_FILING, encoding="utf-8")
    with Engine.open(small_index.index_dir, small_index) as engine:
        documents, results = engine.documents(), _results(engine)
        monkeypatch.setenv("QA_TEST_CRASH_BEFORE_COMMIT", "1")
        with pytest.raises(RuntimeError, match="simulated crash"):
            engine.add([new_file])
        assert engine.documents() == documents  # the open engine still serves the old snapshot
        assert _results(engine) == results
    with Engine.open(small_index.index_dir, small_index) as reopened:
        assert reopened.documents() == documents
        assert _results(reopened) == results
        assert not any(d.source == "new.txt" for d in reopened.documents())
        monkeypatch.delenv("QA_TEST_CRASH_BEFORE_COMMIT")
        report = reopened.add([new_file])  # the leftovers of the crashed write do not get in the way
        assert report.added == ["new.txt"]
        assert reopened.search("钕铁硼永磁材料项目", k=1)[0].text.startswith("新增公告")


def test_crashed_write_leaves_no_rows_behind(small_index: Settings, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    new_file = tmp_path / "new.txt"
    new_file.write_text(NEW_FILING, encoding="utf-8")
    store = SQLiteStore(small_index.index_dir / STORE_FILE)
    before = (store.get_meta(writer.CURRENT_KEY), len(store.documents()), len(store.chunks()))
    store.close()
    monkeypatch.setenv("QA_TEST_CRASH_BEFORE_COMMIT", "1")
    with pytest.raises(RuntimeError):
        Engine.build([new_file], small_index)
    store = SQLiteStore(small_index.index_dir / STORE_FILE)
    try:
        assert (store.get_meta(writer.CURRENT_KEY), len(store.documents()), len(store.chunks())) == before
    finally:
        store.close()


def test_second_writer_gets_index_busy(small_index: Settings, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    new_file = tmp_path / "new.txt"
    new_file.write_text(NEW_FILING, encoding="utf-8")
    # ingest_paths/Engine.add take no lock timeout (they wait writer.LOCK_WAIT_S = 60 s), so shorten it here
    monkeypatch.setattr("qa_engine.engine.writer_lock", functools.partial(writer_lock, wait_s=0.2))
    with writer_lock(small_index.index_dir, wait_s=0.2):
        with pytest.raises(IndexBusyError, match="another process is writing"):
            ingest_paths(small_index.index_dir, small_index, [new_file])
        with pytest.raises(IndexBusyError):
            with writer_lock(small_index.index_dir, wait_s=0.2):
                pass
    report = ingest_paths(small_index.index_dir, small_index, [new_file])  # free again once released
    assert report.added == ["new.txt"]


def test_index_busy_error_has_its_code() -> None:
    assert IndexBusyError.code == "index_busy"


def test_open_empty_folder_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="qa-engine ingest"):
        Engine.open(tmp_path)
    with pytest.raises(IndexNotFoundError, match="qa-engine ingest"):
        Engine.open(tmp_path / "missing")


def test_open_store_without_generation_says_how_to_build(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / STORE_FILE).close()  # a store that was never written to
    with pytest.raises(IndexNotFoundError, match="qa-engine ingest"):
        Engine.open(tmp_path)


def test_rebuild_keeps_chunk_ids(small_index: Settings, small_filings: Path) -> None:
    with Engine.open(small_index.index_dir, small_index) as engine:
        before = _results(engine)
    report = Engine.build([small_filings], small_index, rebuild=True)
    assert report.unchanged and not report.added
    with Engine.open(small_index.index_dir, small_index) as engine:
        assert [[cid for cid, _ in r] for r in _results(engine)] == [[cid for cid, _ in r] for r in before]


def test_manifest_records_the_build(small_index: Settings) -> None:
    import json

    store = SQLiteStore(small_index.index_dir / STORE_FILE)
    name = store.get_meta(writer.CURRENT_KEY)
    store.close()
    manifest = json.loads((small_index.index_dir / str(name) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["document_count"] == 2
    assert manifest["embedder"].startswith("static:")
    assert manifest["parameters"]["chunk_tokens"] == small_index.chunk_tokens
    assert "北方稀土" in manifest["tokenizer_words"]
