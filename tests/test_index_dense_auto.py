"""QA_DENSE_INDEX=auto (the default): a BM25-only index trains no embedder; dense or hybrid on it fail with the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa_engine import Engine, Settings, ingest
from qa_engine.errors import IndexMismatchError, InvalidQueryError


def test_bm25_only_index_has_no_embedder_and_says_how_to_get_one(tmp_path: Path, small_filings: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    assert settings.dense_index == "auto" and settings.retrieval_mode == "bm25"
    assert ingest([small_filings], settings).ok
    assert not (settings.index_dir / "embedder").exists()
    with Engine.open(settings.index_dir, settings) as engine:
        assert engine._snapshot.manifest.embedder == "none"
        assert engine.search("稀土精矿", k=3)
        for mode in ("dense", "hybrid"):
            with pytest.raises(InvalidQueryError, match=f"no dense vectors.*QA_RETRIEVAL_MODE={mode} qa-engine ingest"):
                engine.search("稀土精矿", mode=mode)
    with pytest.raises(IndexMismatchError, match="no dense vectors"):
        Engine.open(settings.index_dir, settings.model_copy(update={"retrieval_mode": "hybrid"}))


def test_hybrid_ingest_adds_vectors_and_later_bm25_ingests_keep_them(tmp_path: Path, small_filings: Path) -> None:
    first, more = tmp_path / "first", tmp_path / "more"
    files = sorted(p for p in small_filings.iterdir() if p.suffix == ".txt")
    first.mkdir()
    more.mkdir()
    shutil.copy(files[0], first / files[0].name)
    for path in files[1:]:
        shutil.copy(path, more / path.name)
    bm25 = Settings(index_dir=tmp_path / "index", dense_index="auto")
    ingest([first], bm25)
    hybrid = bm25.model_copy(update={"retrieval_mode": "hybrid"})
    ingest([first], hybrid, rebuild=True)
    ingest([more], bm25)
    with Engine.open(bm25.index_dir, hybrid) as engine:
        assert engine._snapshot.manifest.embedder.startswith("static:")
        assert len(engine.search("稀土精矿", k=50, mode="dense")) == min(50, engine._snapshot.chunk_count)
