"""The harness on a real index over data/filings and the first gold items: files, keys, verbatim citations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa_engine.eval import main
from qa_engine.settings import Settings

pytestmark = pytest.mark.slow
E2E_ITEMS = 15  # conftest.harness_run runs the first 15 gold items at k=10


@pytest.fixture(scope="module")
def results(harness_run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((harness_run / "latest" / "results.json").read_text(encoding="utf-8"))
    return data


def test_report_files_exist(harness_run: Path) -> None:
    out = harness_run / "latest"
    for name in ("results.json", "report.md", "recall_at_k.png", "answer_hit_by_type.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Overall", "## Retrieval ablations", "## Reader ablations", "## By question type",
                    "## By language", "## Latency", "## How sure: 95% intervals"):
        assert heading in report


def test_results_have_the_expected_keys(results: dict[str, Any]) -> None:
    assert set(results) >= {"meta", "overall", "by_type", "by_lang", "ablations", "latency", "recall_curves", "items"}
    assert results["meta"]["items"] == E2E_ITEMS and len(results["items"]) == E2E_ITEMS
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "exact_match", "f1", "answer_hit",
                "citation_verbatim", "citation_contains_gold", "false_abstention_rate"):
        assert key in results["overall"], key
    default_reader = Settings().reader  # the reader `ask` uses unless QA_READER says otherwise
    assert [row["name"] for row in results["ablations"]] == ["bm25", "dense", "hybrid", f"reader={default_reader}"]
    assert set(results["recall_curves"]) == {"bm25", "dense", "hybrid"}
    assert len(results["recall_curves"]["hybrid"]) == 10  # --k 10
    assert {"retrieve_ms", "total_ms"} <= set(results["latency"])
    assert sum(g["n"] for g in results["by_lang"].values()) == E2E_ITEMS


def test_reader_scores_come_with_intervals_by_filing(results: dict[str, Any]) -> None:
    default_reader = f"reader={Settings().reader}"
    groups = results["intervals"]
    assert set(groups) == {"train", "train · en", "train · zh"}
    hit = groups["train"][default_reader]["answer_hit"]
    assert hit["low"] <= hit["value"] <= hit["high"]
    assert hit["value"] == round(results["splits"]["train"]["overall"]["answer_hit"], 4)


def test_every_citation_is_verbatim(results: dict[str, Any]) -> None:
    assert results["overall"]["citation_verbatim"] == 1.0
    assert sum(item["citations"] for item in results["items"]) > 0


def test_scores_are_sane(results: dict[str, Any]) -> None:
    overall = results["overall"]
    assert 0.0 < overall["recall@10"] <= 1.0
    assert overall["recall@1"] <= overall["recall@5"] <= overall["recall@10"]
    assert 0.0 <= overall["f1"] <= 1.0 and overall["exact_match"] <= overall["f1"]
    assert results["meta"]["errors"] == 0 and results["meta"]["gold_problems"] == 0


def test_update_expected_then_check_passes(harness_run: Path) -> None:
    expected_path = harness_run / "expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert "--limit 15" in expected["command"] and "--update-expected" not in expected["command"]
    assert expected["metrics"]["overall.citation_verbatim"] == 1.0
    args = ["--results", str(harness_run / "latest" / "results.json"), "--check", "--expected", str(expected_path)]
    assert main(args) == 0
