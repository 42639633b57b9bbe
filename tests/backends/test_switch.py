"""Moving an index built with the local backend to Milvus with `ingest --rebuild`."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Engine, Settings, ingest
from tests.backends.conftest import write_corpus

pytestmark = pytest.mark.milvus


def test_rebuild_fills_milvus_from_a_local_index(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus", reason="pymilvus not installed: pip install 'qa-engine[milvus]'")
    corpus = write_corpus(tmp_path / "corpus")
    local = Settings(index_dir=tmp_path / "index", backend="local")
    assert ingest([corpus], local).ok
    milvus = local.model_copy(update={"backend": "milvus", "milvus_uri": str(tmp_path / "milvus.db")})
    with Engine.open(local.index_dir, milvus) as engine:
        assert engine.search("硫化锂合资公司", k=3) == []  # the collection is still empty
    ingest([corpus], milvus, rebuild=True)
    with Engine.open(local.index_dir, milvus) as engine, Engine.open(local.index_dir, local) as before:
        query = "硫化锂合资公司的注册资本是多少"
        assert engine.search(query, k=1)[0].doc_id == before.search(query, k=1)[0].doc_id
        assert engine._backend.count() == engine._snapshot.chunk_count  # type: ignore[attr-defined]
