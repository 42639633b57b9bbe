"""How far a reader's scores can be trusted: 95% intervals from a bootstrap that resamples whole filings.

Questions about one filing succeed or fail together (its wording, its tables, its layout), so resampling
questions one by one would give intervals that are too narrow. Each round draws the filings with replacement
and keeps every question of each drawn filing; an unanswerable question, which has no filing, is its own draw.
Two readers judged on the same questions share the rounds, so their difference gets an interval of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qa_engine.eval.reading import AnswerJudgement

ROUNDS = 2000
LEVEL = 0.95
SEED = 0
# each metric: (the outcome counted, which questions it is counted over)
METRICS: dict[str, tuple[str, str]] = {
    "answer_hit": ("hit", "answerable"),
    "sentence_hit": ("top_hit", "answerable"),
    "false_abstention_rate": ("abstained", "answerable"),
    "abstention_recall": ("abstained", "unanswerable"),
    "wrong_at_70": ("confidently_wrong", "answerable"),
}


@dataclass(frozen=True)
class Interval:
    """A score on the questions as judged, and the bounds its resampled values fall within at `LEVEL`."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class _Outcomes:
    """The judgements of one reader as arrays, one entry per question."""

    cluster: np.ndarray  # the index of each question's filing (or of itself, when unanswerable)
    columns: Mapping[str, np.ndarray]

    @classmethod
    def of(cls, judgements: Sequence[AnswerJudgement]) -> _Outcomes:
        keys = [j.item.doc or f"(unanswerable) {j.item.qid}" for j in judgements]
        _, cluster = np.unique(np.array(keys, dtype=object), return_inverse=True)
        columns = {name: np.array([bool(getattr(j, name)) for j in judgements], dtype=float)
                   for name in ("hit", "top_hit", "abstained", "confidently_wrong")}
        columns["answerable"] = np.array([j.item.answerable for j in judgements], dtype=float)
        columns["unanswerable"] = 1.0 - columns["answerable"]
        return cls(cluster.astype(int), columns)

    def scores(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric under each row of question weights (rows: rounds); NaN where nothing is counted."""
        out = {}
        for metric, (outcome, over) in METRICS.items():
            counted = weights @ self.columns[over]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[metric] = (weights @ (self.columns[outcome] * self.columns[over])) / counted
        return out


def filing_weights(cluster: np.ndarray, rounds: int = ROUNDS, seed: int = SEED) -> np.ndarray:
    """Return (rounds, questions) weights: how often each question's filing was drawn in each round."""
    clusters = int(cluster.max()) + 1 if len(cluster) else 0
    draws = np.random.default_rng(seed).integers(0, clusters, size=(rounds, clusters))
    counts = np.zeros((rounds, clusters))
    np.add.at(counts, (np.arange(rounds)[:, None], draws), 1.0)
    return counts[:, cluster]


def _interval(value: float, resampled: np.ndarray) -> Interval | None:
    finite = resampled[np.isfinite(resampled)]
    if not np.isfinite(value) or not len(finite):
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(round(float(value), 4), round(float(low), 4), round(float(high), 4))


def reader_intervals(readers: Mapping[str, Sequence[AnswerJudgement]], rounds: int = ROUNDS, seed: int = SEED
                     ) -> dict[str, dict[str, Interval | None]]:
    """Return reader -> metric -> its interval, and for two or more readers judged on the same questions, how
    far the first is above each other one ("<first> - <other>") with its interval."""
    if not readers:
        return {}
    outcomes = {name: _Outcomes.of(judgements) for name, judgements in readers.items()}
    ones = {name: np.ones((1, len(o.cluster))) for name, o in outcomes.items()}
    values = {name: o.scores(ones[name]) for name, o in outcomes.items()}
    # the same filings drawn for every reader (the same seed and questions give the same weights)
    resampled = {name: o.scores(filing_weights(o.cluster, rounds, seed)) for name, o in outcomes.items()}
    out = {name: {m: _interval(values[name][m][0], resampled[name][m]) for m in METRICS} for name in outcomes}
    base = next(iter(outcomes))
    for name in list(outcomes)[1:]:
        if _same_questions(readers[base], readers[name]):
            out[f"{base} - {name}"] = {
                m: _interval(values[base][m][0] - values[name][m][0], resampled[base][m] - resampled[name][m])
                for m in METRICS}
    return out


def _same_questions(first: Sequence[AnswerJudgement], second: Sequence[AnswerJudgement]) -> bool:
    return [j.item.qid for j in first] == [j.item.qid for j in second]
