"""Document identity is the file's path, not its name: two `report.txt` in different folders are both kept; a
changed file replaces its document only when asked (`replace=True`, `--replace`); stores keyed by file name
are migrated in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_engine import Engine, Settings, ingest
from qa_engine.cli import app as cli
from qa_engine.index.writer import STORE_FILE

pytestmark = pytest.mark.timeout(120)

NORTH = "北方稀土2024年年度报告\n公司稀土精矿采购价格上调百分之十。\n"
SOUTH = "中国稀土2024年年度报告\n公司氧化镝库存同比下降三成。\n"


def _settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", embedder="none")


def _same_name_in_two_folders(tmp_path: Path) -> Path:
    """Return a folder holding a/report.txt and b/report.txt with different contents."""
    root = tmp_path / "filings"
    for sub, text in (("a", NORTH), ("b", SOUTH)):
        (root / sub).mkdir(parents=True)
        (root / sub / "report.txt").write_text(text, encoding="utf-8")
    return root


def test_two_files_with_one_name_are_two_documents(tmp_path: Path) -> None:
    root = _same_name_in_two_folders(tmp_path)
    report = ingest([root], _settings(tmp_path))
    assert report.ok and sorted(report.added) == ["a/report.txt", "b/report.txt"]
    with Engine.open(tmp_path / "index", _settings(tmp_path)) as engine:
        assert sorted(d.source for d in engine.documents()) == ["a/report.txt", "b/report.txt"]
        assert engine.search("稀土精矿采购价格上调", k=1)[0].text.startswith("北方稀土")
        assert engine.search("氧化镝库存", k=1)[0].text.startswith("中国稀土")
    again = ingest([root / "a" / "report.txt", root / "b"], _settings(tmp_path))
    assert again.ok and again.added == [] and sorted(again.unchanged) == ["report.txt", "report.txt"]


def test_cli_replaces_a_changed_file_only_with_replace(tmp_path: Path) -> None:
    root = _same_name_in_two_folders(tmp_path)
    env = {"QA_EMBEDDER": "none"}
    runner = CliRunner()
    first = runner.invoke(cli, ["ingest", str(root), "--index", str(tmp_path / "index")], env=env)
    assert first.exit_code == 0, first.output
    assert "added 2" in first.output
    (root / "a" / "report.txt").write_text("北方稀土2024年年度报告（修订）\n公司磁材产能扩大一倍。\n", encoding="utf-8")
    refused = runner.invoke(cli, ["ingest", str(root), "--index", str(tmp_path / "index")], env=env)
    assert refused.exit_code == 1 and "--replace" in refused.output and "IntegrityError" not in refused.output
    with Engine.open(tmp_path / "index", _settings(tmp_path)) as engine:
        assert engine.search("稀土精矿采购价格上调", k=1)[0].text.startswith("北方稀土")  # the old one stays
    replaced = runner.invoke(cli, ["ingest", str(root), "--index", str(tmp_path / "index"), "--replace"], env=env)
    assert replaced.exit_code == 0 and "replaced 1" in replaced.output, replaced.output
    with Engine.open(tmp_path / "index", _settings(tmp_path)) as engine:
        assert len(engine.documents()) == 2
        assert engine.search("磁材产能扩大", k=1)[0].text.startswith("北方稀土2024年年度报告（修订）")


def test_a_store_keyed_by_file_name_is_migrated(tmp_path: Path) -> None:
    root = _same_name_in_two_folders(tmp_path)
    settings = _settings(tmp_path)
    assert ingest([root / "a" / "report.txt"], settings).ok
    _downgrade_to_file_name_identity(tmp_path / "index" / STORE_FILE)
    with Engine.open(settings.index_dir, settings) as engine:  # opening migrates
        assert [d.source for d in engine.documents()] == ["report.txt"]
        report = engine.add([root / "a" / "report.txt"])
        assert report.unchanged == ["report.txt"] and report.generation is None  # same file, same document
        other = engine.add([root / "b" / "report.txt"])
        assert other.added == ["report.txt"] and other.ok  # another folder's report.txt is another document
        assert len(engine.documents()) == 2


def _downgrade_to_file_name_identity(store: Path) -> None:
    """Rewrite the documents table as stores were before origins: `source TEXT NOT NULL UNIQUE`, no origin."""
    conn = sqlite3.connect(store)
    conn.executescript(
        "PRAGMA foreign_keys=OFF; BEGIN;"
        "CREATE TABLE old_documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE, content_hash TEXT NOT NULL,"
        " text TEXT NOT NULL, meta TEXT NOT NULL, page_starts TEXT NOT NULL,"
        " added_at TEXT NOT NULL DEFAULT (datetime('now')));"
        "INSERT INTO old_documents SELECT doc_id, source, content_hash, text, meta, page_starts, added_at FROM documents;"
        "DROP TABLE documents; ALTER TABLE old_documents RENAME TO documents; COMMIT;"
    )
    conn.close()
