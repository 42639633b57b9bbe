"""Ablation rows with real optional components: a tiny cross-encoder reranker and a tiny extractive reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Settings
from qa_engine.eval import EvalConfig, run_eval

GOLD_DIR = Path(__file__).resolve().parents[2] / "eval" / "gold"

pytestmark = pytest.mark.slow


def test_rerank_row_and_one_row_per_reader(index_dir: Path, tiny_cross_encoder: Path, tiny_qa_model: Path,
                                           tmp_path: Path) -> None:
    config = EvalConfig(
        index=index_dir, gold=GOLD_DIR, out=tmp_path, modes=("bm25",), k=5, limit=6,
        readers=("heuristic", str(tiny_qa_model)),
        settings=Settings(reranker=str(tiny_cross_encoder), retrieval_mode="bm25"),
    )
    result = run_eval(config)
    rows = {row.name: row for row in result.ablations}
    assert list(rows) == ["bm25", "hybrid+rerank", "bm25+rerank", "reader=heuristic", f"reader={tiny_qa_model}"]
    assert result.meta["primary_retrieval"] == "bm25+rerank"  # what `ask` uses
    assert set(rows["hybrid+rerank"].metrics) >= {"recall@1", "recall@5", "mrr@10"}
    for name in ("reader=heuristic", f"reader={tiny_qa_model}"):
        assert rows[name].metrics["citation_verbatim"] in (1.0, None), name
    assert set(result.hit_by_type) == {"reader=heuristic", f"reader={tiny_qa_model}"}
