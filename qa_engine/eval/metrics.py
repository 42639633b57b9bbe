"""Scores: retrieval metrics through ranx, reader and abstention rates, latency percentiles.

Retrieval relevance is judged per *question*: the first retrieved chunk whose text contains a gold
span (in the gold document) is the one relevant unit, so `recall@k` is answer recall (the top-k
accuracy of DPR, Karpukhin et al. 2020), `mrr@10` the reciprocal rank of the first answer-bearing
chunk and `ndcg@10` binary nDCG with a single relevant unit. Chunks overlap, so counting every
answer-bearing chunk as a separate relevant item would make recall@1 unreachable.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

RECALL_KS = (1, 5, 10, 20)
RANK_METRICS = ("mrr@10", "ndcg@10")
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "wrong_at_70", "unanswerable_answered_at_70",
                             "calibration_error"})
CONFIDENT = 0.7  # an answer shown at this confidence or more reads as sure to an analyst
CALIBRATION_BINS = 10
_ANSWER = "answer"

Score = float | None  # None: undefined (an empty denominator)


@dataclass(frozen=True)
class RankedRelevance:
    """Whether each retrieved chunk, best first, contains a gold answer for question `qid`."""

    qid: str
    relevant: tuple[bool, ...]

    def first_relevant_rank(self) -> int | None:
        """Return the 1-based rank of the first answer-bearing chunk, or None."""
        return next((rank for rank, flag in enumerate(self.relevant, start=1) if flag), None)


def retrieval_metric_names(ks: Sequence[int] = RECALL_KS) -> list[str]:
    """Return the ranx metric names reported for retrieval: recall@k for each k, MRR@10, nDCG@10."""
    return [f"recall@{k}" for k in ks] + list(RANK_METRICS)


def retrieval_scores(rankings: Sequence[RankedRelevance], metrics: Sequence[str]) -> dict[str, float]:
    """Return the mean of each ranx metric over the questions (empty dict when there are none)."""
    if not rankings or not metrics:
        return {}
    from ranx import Qrels, Run, evaluate

    qrels = Qrels({r.qid: {_ANSWER: 1} for r in rankings})
    run = Run({r.qid: _ranked_ids(r.relevant) for r in rankings})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's unsafe-cast notice on every call
        scores = evaluate(qrels, run, list(metrics))
    if not isinstance(scores, dict):
        scores = {metrics[0]: scores}
    return {name: float(scores[name]) for name in metrics}


def _ranked_ids(relevant: Sequence[bool]) -> dict[str, float]:
    """Return ranx run entries that keep the engine's order: the first relevant chunk is `_ANSWER`."""
    first = next((i for i, flag in enumerate(relevant) if flag), None)
    size = len(relevant)
    return {(_ANSWER if i == first else f"rank{i + 1}"): float(size - i) for i in range(size)}


def rate(flags: Sequence[bool] | Sequence[float]) -> Score:
    """Return the mean of booleans or scores, or None for an empty sequence."""
    return float(np.mean([float(f) for f in flags])) if len(flags) else None


def ratio(numerator: int, denominator: int) -> Score:
    """Return numerator / denominator, or None when the denominator is 0."""
    return numerator / denominator if denominator else None


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, Score]:
    """Return abstention precision, recall, F1 (positive = unanswerable) and the false-abstention rate."""
    pairs = list(zip(abstained, unanswerable, strict=True))
    true_pos = sum(1 for a, u in pairs if a and u)
    precision = ratio(true_pos, sum(1 for a, _ in pairs if a))
    recall = ratio(true_pos, sum(1 for _, u in pairs if u))
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    false_abstention = ratio(sum(1 for a, u in pairs if a and not u), sum(1 for _, u in pairs if not u))
    return {
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_f1": f1,
        "false_abstention_rate": false_abstention,
    }


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95)) -> dict[str, float]:
    """Return {"p50": ..., "p95": ...} of the values (empty dict when there are none)."""
    if not values:
        return {}
    return {f"p{p}": float(np.percentile(np.asarray(values, dtype=float), p)) for p in points}


def latency_summary(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Return p50/p95 per timing key (e.g. "retrieve_ms") over the answers that report it."""
    keys = sorted({key for t in timings for key in t})
    return {key: percentiles([t[key] for t in timings if key in t]) for key in keys}


@dataclass(frozen=True)
class CalibrationBin:
    """Questions whose confidence fell in [low, high): how many, their mean confidence, and how many were right."""

    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def calibration_bins(confidences: Sequence[float], correct: Sequence[bool],
                     bins: int = CALIBRATION_BINS) -> list[CalibrationBin]:
    """Return equal-width confidence bins over [0, 1] (a reliability diagram's data)."""
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    right = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.minimum((conf * bins).astype(int), bins - 1) if len(conf) else np.zeros(0, dtype=int)
    out = []
    for b in range(bins):
        member = index == b
        count = int(member.sum())
        out.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), count,
                                  float(conf[member].mean()) if count else None,
                                  float(right[member].mean()) if count else None))
    return out


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool]) -> Score:
    """Return the expected calibration error: the count-weighted mean |accuracy - confidence| over the bins."""
    total = len(confidences)
    if not total:
        return None
    return float(sum(b.count * abs((b.accuracy or 0.0) - (b.mean_confidence or 0.0))
                     for b in calibration_bins(confidences, correct) if b.count) / total)


def rounded_mean(values: Iterable[bool | float]) -> float:
    """The mean of `values` to 4 places (0.0 when there are none): the training scripts' report figures."""
    return round(rate(list(values)) or 0.0, 4)


@dataclass(frozen=True)
class HeldOutcome:
    """One question as a training script scores it: did the best sentence hold the answer, and was it shown."""

    answerable: bool
    hit: bool
    confidence: float
    shown: bool


def shown_or_withheld_scores(outcomes: Sequence[HeldOutcome]) -> dict[str, float]:
    """The training scripts' report figures: sentence hit, answer hit, false abstention, unanswerable abstained
    (`abstention_recall`) and wrong at >= CONFIDENT, each to 4 places (0.0 where nothing is counted)."""
    answerable = [o for o in outcomes if o.answerable]
    return {
        "sentence_hit": rounded_mean(o.hit for o in answerable),
        "answer_hit": rounded_mean(o.shown and o.hit for o in answerable),
        "false_abstention": rounded_mean(not o.shown for o in answerable),
        "abstention_recall": rounded_mean(not o.shown for o in outcomes if not o.answerable),
        "wrong_at_70": rounded_mean(o.shown and o.confidence >= CONFIDENT and not o.hit for o in answerable),
    }
