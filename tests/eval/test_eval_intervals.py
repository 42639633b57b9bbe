"""Intervals from resampled filings: they hold the score, widen when a filing's questions fail together, and give
two readers on the same questions an interval for their difference."""

from __future__ import annotations

import numpy as np

from qa_engine.eval.gold import GoldItem
from qa_engine.eval.intervals import filing_weights, reader_intervals
from qa_engine.eval.reading import AnswerJudgement


def judged(qid: str, doc: str | None, hit: bool, abstained: bool = False, confidence: float = 0.5
           ) -> AnswerJudgement:
    answers = ("答案",) if doc else ()
    item = GoldItem(qid, "问题", "zh", "why", doc, answers, split="test")
    return AnswerJudgement(item, None if abstained else "答案", None, float(hit), float(hit), hit and not abstained,
                           abstained, 0, 0, False, confidence=confidence, top_hit=hit)


def by_filing(outcomes: list[list[bool]]) -> list[AnswerJudgement]:
    return [judged(f"f{f}-{q}", f"filing-{f}.txt", hit) for f, hits in enumerate(outcomes) for q, hit in enumerate(hits)]


def test_questions_of_one_filing_get_one_weight() -> None:
    cluster = np.array([0, 0, 0, 1, 2, 2])
    weights = filing_weights(cluster, rounds=50, seed=3)
    assert weights.shape == (50, 6)
    assert np.array_equal(weights[:, 0], weights[:, 2]) and np.array_equal(weights[:, 4], weights[:, 5])
    assert np.array_equal(weights[:, [0, 3, 4]].sum(axis=1), np.full(50, 3.0))  # three filings drawn a round


def test_the_interval_holds_the_score_and_collapses_when_every_answer_is_right() -> None:
    mixed = reader_intervals({"r": by_filing([[True, False, True], [True, True], [False, False], [True]])})["r"]
    hit = mixed["answer_hit"]
    assert hit is not None and hit.value == round(5 / 8, 4) and hit.low < hit.value < hit.high
    perfect = reader_intervals({"r": by_filing([[True, True], [True]])})["r"]["answer_hit"]
    assert perfect is not None and (perfect.low, perfect.value, perfect.high) == (1.0, 1.0, 1.0)


def test_a_filing_whose_questions_fail_together_widens_the_interval() -> None:
    # the same 40 right and 40 wrong answers: in 8 filings of 10 that succeed or fail together, or in 80 filings
    together = by_filing([[f % 2 == 0] * 10 for f in range(8)])
    apart = by_filing([[q % 2 == 0] for q in range(80)])
    clustered = reader_intervals({"r": together})["r"]["answer_hit"]
    independent = reader_intervals({"r": apart})["r"]["answer_hit"]
    assert clustered is not None and independent is not None and clustered.value == independent.value == 0.5
    assert clustered.high - clustered.low > 1.5 * (independent.high - independent.low)


def test_two_readers_get_an_interval_for_their_difference() -> None:
    first = by_filing([[f % 3 == 0] * 4 for f in range(12)])
    better = by_filing([[f % 3 != 2] * 4 for f in range(12)])  # right on every filing the first is, and more
    out = reader_intervals({"better": better, "first": first, "same": better})
    difference = out["better - first"]["answer_hit"]
    assert difference is not None and difference.value > 0 and difference.low > 0
    same = out["better - same"]["answer_hit"]
    assert same is not None and (same.low, same.value, same.high) == (0.0, 0.0, 0.0)


def test_abstention_counts_unanswerable_questions_each_as_its_own_draw() -> None:
    answerable = [judged("a1", "f.txt", True), judged("a2", "f.txt", False, abstained=True)]
    unanswerable = [judged(f"u{i}", None, False, abstained=i < 3) for i in range(4)]
    scores = reader_intervals({"r": answerable + unanswerable})["r"]
    recall, false_abstention = scores["abstention_recall"], scores["false_abstention_rate"]
    assert recall is not None and recall.value == 0.75 and recall.low < 0.75
    assert false_abstention is not None and false_abstention.value == 0.5
    only_answerable = reader_intervals({"r": answerable})["r"]
    assert only_answerable["abstention_recall"] is None


def test_confident_wrong_answers_are_counted_over_answerable_questions() -> None:
    answers = [judged("a1", "f.txt", False, confidence=0.9), judged("a2", "g.txt", True, confidence=0.9),
               judged("u1", None, False, confidence=0.95)]
    wrong = reader_intervals({"r": answers})["r"]["wrong_at_70"]
    assert wrong is not None and wrong.value == 0.5
