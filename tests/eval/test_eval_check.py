"""`--check`: a drop beyond the tolerance exits non-zero; within it, or an improvement, exits 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa_engine.eval import compare, flatten_scores, main
from qa_engine.eval.check import expected_from_results


def _results(f1: float = 0.60, recall5: float = 0.90, false_abstention: float = 0.10) -> dict[str, Any]:
    return {
        "overall": {"n": 100, "f1": f1, "recall@5": recall5, "false_abstention_rate": false_abstention,
                    "abstention_precision": None},
        "by_type": {"why": {"n": 10, "f1": f1}},
        "by_lang": {"zh": {"f1": f1}},
        "ablations": [{"name": "bm25", "kind": "retrieval", "metrics": {"recall@5": recall5}}],
        "latency": {"total_ms": {"p50": 5.0}},
    }


def _check(tmp_path: Path, got: dict[str, Any], *extra: str) -> int:
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps(expected_from_results(_results(), "cmd")), encoding="utf-8")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(got), encoding="utf-8")
    return main(["--results", str(results), "--check", "--expected", str(expected), *extra])


def test_flatten_scores_keeps_quality_scores_only() -> None:
    assert flatten_scores(_results()) == {
        "overall.f1": 0.60, "overall.recall@5": 0.90, "overall.false_abstention_rate": 0.10,
        "by_type.why.f1": 0.60, "by_lang.zh.f1": 0.60, "ablations.bm25.recall@5": 0.90,
    }


def test_identical_run_passes(tmp_path: Path) -> None:
    assert _check(tmp_path, _results()) == 0


def test_drop_within_tolerance_passes(tmp_path: Path) -> None:
    assert _check(tmp_path, _results(f1=0.585)) == 0


def test_drop_beyond_tolerance_fails_and_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, _results(recall5=0.85)) == 1
    out = capsys.readouterr().out
    assert "ablations.bm25.recall@5" in out and "DROP" in out
    assert "metric" in out and "expected" in out and "got" in out and "status" in out


def test_rise_of_a_lower_is_better_metric_is_a_drop(tmp_path: Path) -> None:
    assert _check(tmp_path, _results(false_abstention=0.15)) == 1
    assert _check(tmp_path, _results(false_abstention=0.0)) == 0


def test_tolerance_flag_overrides_the_file(tmp_path: Path) -> None:
    assert _check(tmp_path, _results(f1=0.55), "--tolerance", "0.1") == 0
    assert _check(tmp_path, _results(f1=0.59), "--tolerance", "0.001") == 1


def test_missing_metric_fails() -> None:
    rows = compare({"overall.f1": 0.6}, {}, 0.02)
    assert [(r.metric, r.status, r.failed) for r in rows] == [("overall.f1", "missing", True)]


def test_missing_expected_file_is_a_usage_error(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results()), encoding="utf-8")
    assert main(["--results", str(results), "--check", "--expected", str(tmp_path / "nope.json")]) == 2
