"""Confidence that means the same thing whichever reader produced it: the probability that the chosen sentence
holds the answer, fit (Platt-style logistic regression) on questions from filings the reader was not trained on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CONFIDENCE_INPUTS = ("best", "margin", "prior")  # best score, lead over the runner-up, the heuristic logit
NO_RUNNER_UP = 10.0  # the lead of a sole candidate
MAX_FALSE_ABSTENTION = 0.10  # every reader's threshold withholds at most this share of its calibration answers


def best_and_lead(scores: np.ndarray) -> tuple[int, float]:
    """Return the index of the best score and its lead over the runner-up (NO_RUNNER_UP when alone)."""
    order = np.argsort(-scores, kind="stable")
    lead = float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else NO_RUNNER_UP
    return int(order[0]), lead


@dataclass(frozen=True)
class Calibration:
    """P(answer right) = sigmoid(weights · (best, margin, prior) + bias)."""

    weights: tuple[float, ...]
    bias: float

    def confidence(self, best: float, margin: float, prior: float) -> float:
        z = sum(w * x for w, x in zip(self.weights, (best, margin, prior))) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": list(CONFIDENCE_INPUTS), "weights": [round(w, 6) for w in self.weights],
                "bias": round(self.bias, 6)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(tuple(float(w) for w in data["weights"]), float(data["bias"]))


def fit_calibration(rows: Sequence[tuple[float, float, float]], right: Sequence[bool]) -> Calibration:
    """Return the logistic calibration of (best, margin, prior) rows against whether the answer was right."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit([list(r) for r in rows], [int(r) for r in right])
    return Calibration(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]))


def threshold_for(confidences: Sequence[float], answerable: Sequence[bool], max_false_abstention: float) -> float:
    """Return the highest confidence threshold that withholds at most `max_false_abstention` of the answerable
    questions (midway to the next kept score, a margin for questions not seen)."""
    kept = sorted(c for c, a in zip(confidences, answerable) if a)
    if not kept:
        return 0.5
    allowed = int(max_false_abstention * len(kept))
    if allowed == 0:
        return float(kept[0])
    return float((kept[allowed - 1] + kept[min(allowed, len(kept) - 1)]) / 2)
