"""Confidence that means the same thing whichever reader produced it: the probability that the chosen sentence
holds the answer, fit (Platt-style logistic regression) on questions from filings the reader was not trained on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_engine.errors import ConfigError

SIGNALS = ("best", "margin", "prior", "missing_topic", "english")
CONFIDENCE_INPUTS = SIGNALS[:3]  # what a calibration without named inputs was fit on
NO_RUNNER_UP = 10.0  # the lead of a sole candidate
# every reader's threshold withholds at most this share of its calibration answers: 7%, so that on filings it
# was not calibrated on it withholds no more than 10% (neural reader, leave-one-filing-out on dev, 2026-12-07:
# 0.072 withheld, unanswerable questions abstained 0.82; with 10%: 0.099 and 0.86)
MAX_FALSE_ABSTENTION = 0.07
MIN_THRESHOLD = 0.01  # above the 0 confidence of a gated answer, so that one always abstains

# When the off-topic rule (no passage covers the question's topic) sets the confidence to 0: for every question,
# for Chinese questions only (an English question's topic is matched to Chinese text through the glossary, which
# misses paraphrases: on dev the rule withheld 15 right answers to English questions), or never
OFF_TOPIC_GATES = ("all", "zh", "none")


def gate_applies(gate: str, off_topic: bool, english: bool) -> bool:
    """Whether the off-topic rule withholds this answer under `gate` (one of OFF_TOPIC_GATES)."""
    if gate not in OFF_TOPIC_GATES:
        raise ConfigError(f"unknown off-topic gate {gate!r}: use one of {', '.join(OFF_TOPIC_GATES)}")
    return off_topic and (gate == "all" or (gate == "zh" and not english))


def best_and_lead(scores: np.ndarray) -> tuple[int, float]:
    """Return the index of the best score and its lead over the runner-up (NO_RUNNER_UP when alone)."""
    order = np.argsort(-scores, kind="stable")
    lead = float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else NO_RUNNER_UP
    return int(order[0]), lead


@dataclass(frozen=True)
class Signals:
    """What a reader knows of its chosen sentence when it says how sure it is."""

    best: float  # the sentence's score
    margin: float  # its lead over the runner-up
    prior: float  # the heuristic reader's logit for it
    missing_topic: float = 0.0  # the least idf share of the question's topic a passage leaves unmentioned
    english: float = 0.0  # 1.0 for an English question over Chinese filings

    def values(self, names: Sequence[str]) -> list[float]:
        return [float(getattr(self, name)) for name in names]


@dataclass(frozen=True)
class Calibration:
    """P(answer right) = sigmoid(weights · signals[inputs] + bias)."""

    weights: tuple[float, ...]
    bias: float
    inputs: tuple[str, ...] = CONFIDENCE_INPUTS

    def __post_init__(self) -> None:
        unknown = [name for name in self.inputs if name not in SIGNALS]
        if unknown or len(self.inputs) != len(self.weights):
            raise ConfigError(f"calibration inputs {list(self.inputs)} with {len(self.weights)} weights: "
                              f"inputs must be among {list(SIGNALS)}, one weight each")

    def confidence(self, signals: Signals) -> float:
        z = sum(w * x for w, x in zip(self.weights, signals.values(self.inputs))) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": list(self.inputs), "weights": [round(w, 6) for w in self.weights],
                "bias": round(self.bias, 6)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        inputs = tuple(str(name) for name in data.get("inputs", CONFIDENCE_INPUTS))
        return cls(tuple(float(w) for w in data["weights"]), float(data["bias"]), inputs)


def fit_calibration(rows: Sequence[Signals], right: Sequence[bool],
                    inputs: Sequence[str] = CONFIDENCE_INPUTS) -> Calibration:
    """Return the logistic calibration of the `inputs` of each row against whether the answer was right."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit([r.values(inputs) for r in rows], [int(r) for r in right])
    return Calibration(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), tuple(inputs))


def threshold_for(confidences: Sequence[float], answerable: Sequence[bool], max_false_abstention: float) -> float:
    """Return the highest confidence threshold that withholds at most `max_false_abstention` of the answerable
    questions (midway to the next kept score, a margin for questions not seen)."""
    kept = sorted(c for c, a in zip(confidences, answerable) if a)
    if not kept:
        return 0.5
    allowed = int(max_false_abstention * len(kept))
    if allowed == 0:
        return max(MIN_THRESHOLD, float(kept[0]))
    return max(MIN_THRESHOLD, float((kept[allowed - 1] + kept[min(allowed, len(kept) - 1)]) / 2))
