"""Retrieval metrics through ranx on a hand-made run, and abstention / reader aggregation with known values."""

from __future__ import annotations

import math

import pytest

from qa_engine.eval.metrics import (
    HeldOutcome,
    RankedRelevance,
    abstention_scores,
    latency_summary,
    percentiles,
    retrieval_metric_names,
    retrieval_scores,
    shown_or_withheld_scores,
)

T, F = True, False


def test_ranx_scores_of_a_hand_made_run() -> None:
    rankings = [
        RankedRelevance("q1", (F, T, F)),  # first answer at rank 2
        RankedRelevance("q2", (T,)),  # rank 1
        RankedRelevance("q3", (F, F)),  # never
        RankedRelevance("q4", (F, F, F, F, F, T)),  # rank 6
    ]
    scores = retrieval_scores(rankings, retrieval_metric_names((1, 5, 10)))
    assert scores["recall@1"] == pytest.approx(1 / 4)
    assert scores["recall@5"] == pytest.approx(2 / 4)
    assert scores["recall@10"] == pytest.approx(3 / 4)
    assert scores["mrr@10"] == pytest.approx((1 / 2 + 1 + 0 + 1 / 6) / 4)
    assert scores["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 + 0 + 1 / math.log2(7)) / 4)


def test_several_answer_bearing_chunks_count_once() -> None:
    scores = retrieval_scores([RankedRelevance("q", (T, T, F))], ["recall@1", "mrr@10", "ndcg@10"])
    assert scores == {"recall@1": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}


def test_retrieval_scores_of_no_questions_is_empty() -> None:
    assert retrieval_scores([], ["recall@1"]) == {}


def test_first_relevant_rank() -> None:
    assert RankedRelevance("q", (F, F, T)).first_relevant_rank() == 3
    assert RankedRelevance("q", (F,)).first_relevant_rank() is None


def test_abstention_precision_recall_f1() -> None:
    abstained = [T, T, F, F, T]
    unanswerable = [T, F, T, F, F]
    scores = abstention_scores(abstained, unanswerable)
    assert scores["abstention_precision"] == pytest.approx(1 / 3)  # 1 of 3 abstentions was right
    assert scores["abstention_recall"] == pytest.approx(1 / 2)  # 1 of 2 unanswerable caught
    assert scores["abstention_f1"] == pytest.approx(0.4)
    assert scores["false_abstention_rate"] == pytest.approx(2 / 3)  # 2 of 3 answerable abstained


def test_abstention_undefined_without_abstentions() -> None:
    scores = abstention_scores([F, F], [T, F])
    assert scores["abstention_precision"] is None
    assert scores["abstention_recall"] == 0.0
    assert scores["abstention_f1"] is None


def test_latency_percentiles_per_stage() -> None:
    timings = [{"retrieve_ms": float(v), "total_ms": 2.0 * v} for v in range(1, 101)]
    summary = latency_summary(timings)
    assert summary["retrieve_ms"]["p50"] == pytest.approx(50.5)
    assert summary["total_ms"]["p95"] == pytest.approx(2 * 95.05)
    assert percentiles([]) == {}


def test_shown_or_withheld_scores_count_each_outcome_over_its_own_questions() -> None:
    outcomes = [HeldOutcome(True, True, 0.9, True), HeldOutcome(True, True, 0.2, False),
                HeldOutcome(True, False, 0.8, True), HeldOutcome(True, False, 0.5, True),
                HeldOutcome(False, False, 0.1, False), HeldOutcome(False, False, 0.9, True)]
    scores = shown_or_withheld_scores(outcomes)
    assert scores == {"sentence_hit": 0.5, "answer_hit": 0.25, "false_abstention": 0.25,
                      "abstention_recall": 0.5, "wrong_at_70": 0.25}
    assert shown_or_withheld_scores(outcomes[:4])["abstention_recall"] == 0.0  # none to count
