"""The offline corpus-trained static embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa_engine import Engine, Settings, ingest
from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.static import StaticCorpusEmbedder, train_static_embedder

TOKEN_LISTS = [["稀土", "价格", "上涨"], ["稀土", "价格", "下跌"], ["磁材", "销量", "增长"], ["磁材", "价格", "上涨"]] * 3


def test_trained_model_encodes_unit_vectors(tmp_path: Path) -> None:
    folder = train_static_embedder(TOKEN_LISTS, dim=4, out_parent=tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith("static-")
    assert train_static_embedder(TOKEN_LISTS, dim=4, out_parent=tmp_path) == folder  # same corpus, same model
    embedder = StaticCorpusEmbedder(folder, FinanceTokenizer())
    vectors = embedder.encode(["稀土价格上涨", "磁材销量增长", "完全无关的词"])
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert embedder.model_id == f"static:{folder.name}"


def test_chunks_embed_from_their_stored_tokens_exactly_as_from_their_text(tmp_path: Path) -> None:
    from qa_engine.embed.factory import embed_chunks
    from qa_engine.models import Chunk

    tokenizer = FinanceTokenizer()
    embedder = StaticCorpusEmbedder(train_static_embedder(TOKEN_LISTS, dim=4, out_parent=tmp_path), tokenizer)
    texts = [("单位：万元", "稀土价格上涨"), ("", "磁材销量增长，价格上涨")]
    chunks = [
        Chunk(chunk_id=f"c{i}", doc_id="d", text=text, start=0, end=len(text), section="", page_start=1, page_end=1,
              tokens=tuple(tokenizer.search_terms(f"{context}\n{text}" if context else text)), context=context)
        for i, (context, text) in enumerate(texts)
    ]
    assert np.array_equal(embed_chunks(embedder, chunks), embedder.encode([c.indexed_text() for c in chunks]))


def test_the_session_index_uses_the_static_embedder(engine) -> None:
    hits = engine.search("稀土精矿关联交易定价机制", k=5, mode="dense")
    assert len(hits) == 5
    assert all(engine.document(h.doc_id).text[h.start : h.end] == h.text for h in hits)


def test_single_word_corpus_still_builds(tmp_path: Path) -> None:
    source = tmp_path / "one.txt"
    source.write_text("稀土稀土稀土\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", dense_index="always")
    report = ingest([source], settings)
    assert report.ok and report.added == ["one.txt"]
    with Engine.open(settings.index_dir, settings) as engine:
        assert [h.text for h in engine.search("稀土", mode="hybrid")] == ["稀土稀土稀土"]


def test_saved_model_loads_in_sentence_transformers_with_the_same_vectors(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    folder = train_static_embedder(TOKEN_LISTS, dim=4, out_parent=tmp_path)
    tokens = [["稀土", "价格", "上涨"], ["磁材", "未知词", "增长"], ["未知词"]]
    ours = StaticCorpusEmbedder(folder, FinanceTokenizer()).encode_tokens(tokens)
    model = SentenceTransformer(str(folder), device="cpu")
    theirs = model.encode([" ".join(t) for t in tokens], convert_to_numpy=True)
    norms = np.maximum(np.linalg.norm(theirs, axis=1, keepdims=True), 1e-12)
    assert np.allclose(ours, theirs / norms, atol=1e-6)


def test_building_and_dense_search_never_import_sentence_transformers(tmp_path: Path, small_filings: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\nfrom qa_engine import Engine, Settings, ingest\n"
        f"s = Settings(index_dir={str(tmp_path / 'index')!r}, dense_index='always')\n"
        f"ingest([{str(small_filings)!r}], s)\n"
        "hits = Engine.open(s.index_dir, s).search('稀土精矿', k=3, mode='dense')\n"
        "assert hits, 'no dense hits'\n"
        "print(sorted(m for m in ('sentence_transformers', 'torch') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
