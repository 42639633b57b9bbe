"""A sentence-transformers embedder from a local folder (a tiny BERT built in the session), end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa_engine import Engine, Settings, ingest
from qa_engine.embed.base import Embedder
from qa_engine.embed.transformer import SentenceTransformerEmbedder
from qa_engine.errors import ConfigError, IndexMismatchError
from qa_engine.index.writer import CURRENT_KEY, STORE_FILE
from qa_engine.store.sqlite_store import SQLiteStore
from tests.helpers.filings import document_for
from tests.helpers.tiny_models import build_sentence_transformer


@pytest.fixture(scope="module")
def embedder(tiny_sentence_transformer: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(tiny_sentence_transformer))


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory: pytest.TempPathFactory, tiny_sentence_transformer: Path) -> Settings:
    """An index over the two short 北方稀土 filings, embedded with the tiny sentence-transformer."""
    from tests.helpers.filings import copy_filings

    folder = copy_filings(tmp_path_factory.mktemp("st-filings"), ["000_f158551545b1b3bd.txt",
                                                                 "001_7869416333b8ea17.txt"])
    settings = Settings(index_dir=tmp_path_factory.mktemp("st-index"), embedder=str(tiny_sentence_transformer),
                        retrieval_mode="hybrid")
    report = ingest([folder], settings)
    assert report.ok and len(report.added) == 2
    return settings


def _manifest(index_dir: Path) -> dict[str, object]:
    store = SQLiteStore(index_dir / STORE_FILE)
    try:
        name = store.get_meta(CURRENT_KEY)
    finally:
        store.close()
    return json.loads((index_dir / str(name) / "manifest.json").read_text(encoding="utf-8"))


def test_encodes_filing_sentences(engine, embedder: SentenceTransformerEmbedder) -> None:
    text = document_for(engine, "002").text
    sentences = [s for s in text.split("\n") if len(s) > 20][:7]
    vectors = embedder.encode(sentences)
    assert isinstance(embedder, Embedder)
    assert vectors.shape == (7, 32) and vectors.dtype == np.float32 and embedder.dim == 32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    assert embedder.encode(sentences[:1], query=True).shape == (1, 32)
    assert embedder.encode([]).shape == (0, 32)


def test_encoding_is_deterministic(embedder: SentenceTransformerEmbedder) -> None:
    first = embedder.encode(["稀土材料毛利率为负"])
    assert np.array_equal(first, embedder.encode(["稀土材料毛利率为负"]))


def test_model_id_is_the_folder(embedder: SentenceTransformerEmbedder, tiny_sentence_transformer: Path) -> None:
    assert embedder.model_id == str(tiny_sentence_transformer)
    assert embedder.query_prefix == ""


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load embedding model"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))


def test_engine_built_with_the_tiny_embedder_searches(tiny_index: Settings, tiny_sentence_transformer: Path) -> None:
    manifest = _manifest(tiny_index.index_dir)
    assert manifest["embedder"] == str(tiny_sentence_transformer) and manifest["embed_dim"] == 32
    with Engine.open(tiny_index.index_dir, tiny_index) as engine:
        for mode in ("dense", "hybrid", "bm25"):
            hits = engine.search("稀土精矿关联交易定价机制", k=5, mode=mode)
            assert len(hits) == 5, mode
            for hit in hits:
                assert engine.document(hit.doc_id).text[hit.start : hit.end] == hit.text


def test_opening_with_another_embedder_is_a_mismatch(tiny_index: Settings, tmp_path: Path) -> None:
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Engine.open(tiny_index.index_dir, tiny_index.model_copy(update={"embedder": "static"}))
    other = build_sentence_transformer(tmp_path / "other-model")
    with pytest.raises(IndexMismatchError, match=str(other)):
        Engine.open(tiny_index.index_dir, tiny_index.model_copy(update={"embedder": str(other)}))


def test_static_index_opened_with_a_model_is_a_mismatch(built_index: Path, tiny_sentence_transformer: Path) -> None:
    with pytest.raises(IndexMismatchError):
        Engine.open(built_index, Settings(index_dir=built_index, embedder=str(tiny_sentence_transformer)))


def test_adding_a_file_reuses_the_model(tiny_index: Settings, tmp_path: Path) -> None:
    new_file = tmp_path / "new.txt"
    new_file.write_text("新增公告：公司拟投资建设高性能钕铁硼永磁材料项目。\n", encoding="utf-8")
    with Engine.open(tiny_index.index_dir, tiny_index) as engine:
        assert engine.add([new_file]).added == ["new.txt"]
        assert engine.search("钕铁硼永磁材料", k=1, mode="bm25")[0].text.startswith("新增公告")
        chunk_count = sum(d.chunks for d in engine.documents())
        dense = engine.search("新增公告：公司拟投资建设高性能钕铁硼永磁材料项目。", k=100, mode="dense")
        assert len(dense) == chunk_count  # the new chunk got a vector too
        assert dense[0].text.startswith("新增公告")  # a text's own vector is its nearest neighbour
        engine.remove(next(d.doc_id for d in engine.documents() if d.source == "new.txt"))
    assert _manifest(tiny_index.index_dir)["embedder"] == tiny_index.embedder
