"""BM25 scores read from the saved arrays are bm25s's own; document frequencies are the chunks' term counts."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np
import pytest

from qa_engine.index.sparse import TERMS, VOCAB, SparseIndex
from qa_engine.index.writer import STORE_FILE
from qa_engine.store.sqlite_store import SQLiteStore


def test_scores_equal_bm25s_get_scores_for_every_query(engine) -> None:  # type: ignore[no-untyped-def]
    folder = Path(engine.index_dir) / engine.generation / "bm25"
    ours = SparseIndex.load(folder, engine._snapshot.chunk_count)
    theirs = bm25s.BM25.load(str(folder))
    vocab = ours.vocab
    queries = [["稀土", "毛利率"], ["关联交易", "定价", "机制", "定价"], ["采矿权", "摊销", "2024"]]
    queries += [[t] for t in list(vocab)[::97]]
    for terms in queries:
        ids = [vocab[t] for t in terms if t in vocab]
        assert ids
        assert np.array_equal(ours.scores(ids), theirs.get_scores(ids))


def test_idf_is_computed_from_the_chunks_terms(engine) -> None:  # type: ignore[no-untyped-def]
    snapshot = engine._snapshot
    store = SQLiteStore(Path(engine.index_dir) / STORE_FILE)
    try:
        df = Counter(t for chunk in store.chunks() for t in set(chunk.tokens))
    finally:
        store.close()
    n = snapshot.chunk_count
    for term in list(df)[::13] + ["不在语料里的词"]:
        expected = math.log(1 + n / df[term]) if term in df else math.log(1 + n)
        assert snapshot.idf(term) == expected
        assert (term in snapshot.term_idf) == (term in df)
    assert len(snapshot.term_idf) == len(df)


def test_the_terms_file_reads_as_bm25s_vocabulary_less_its_empty_term(engine) -> None:  # type: ignore[no-untyped-def]
    folder = Path(engine.index_dir) / engine.generation / "bm25"
    bm25s_vocab = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
    assert (folder / TERMS).exists()
    assert SparseIndex.load(folder, engine._snapshot.chunk_count).vocab == {t: i for t, i in bm25s_vocab.items() if t}


def test_without_a_usable_terms_file_the_json_vocabulary_is_read(tmp_path: Path) -> None:
    index = SparseIndex.build([["稀土", "a\0b"], ["稀土", "毛利率"]], 1.5, 0.75)
    index.save(tmp_path)
    assert not (tmp_path / TERMS).exists()  # a term holds the separator
    loaded = SparseIndex.load(tmp_path, 2)
    assert loaded.vocab == index.vocab and "" not in loaded.vocab
    SparseIndex.build([["稀土"], ["毛利率"]], 1.5, 0.75).save(tmp_path)
    (tmp_path / TERMS).write_text("稀土", encoding="utf-8")  # one term short of the matrix
    with pytest.raises(ValueError, match=TERMS):
        SparseIndex.load(tmp_path, 2)
