"""Confidence calibration shared by the readers: a logistic map fit on held-out questions, and the threshold
that withholds a bounded share of answerable questions."""

from __future__ import annotations

import pytest

from qa_engine.errors import ConfigError
from qa_engine.read.calibration import (
    MIN_THRESHOLD,
    Calibration,
    Signals,
    fit_calibration,
    gate_applies,
    threshold_for,
)


def test_fit_calibration_orders_confidence_by_score_and_round_trips() -> None:
    rows = [Signals(float(s), float(s) / 2, float(s)) for s in range(-5, 6)] * 3
    right = [s > 0 for s in range(-5, 6)] * 3
    calibration = fit_calibration(rows, right)
    low, high = calibration.confidence(Signals(-4.0, -2.0, -4.0)), calibration.confidence(Signals(4.0, 2.0, 4.0))
    assert 0.0 < low < 0.5 < high < 1.0
    again = Calibration.from_dict(calibration.to_dict())
    probe = Signals(1.0, 0.5, 1.0)
    assert again.confidence(probe) == pytest.approx(calibration.confidence(probe), abs=1e-5)


def test_named_inputs_are_fit_and_read_back() -> None:
    # the same scores, but English questions are right less often: the language input must lower their confidence
    rows = [Signals(float(s), 1.0, float(s), english=float(e)) for s in range(-3, 4) for e in (0, 1)] * 4
    right = [s > (1 if e else -1) for s in range(-3, 4) for e in (0, 1)] * 4
    calibration = fit_calibration(rows, right, ("best", "english"))
    again = Calibration.from_dict(calibration.to_dict())
    assert again.inputs == ("best", "english")
    zh, en = Signals(0.0, 1.0, 0.0), Signals(0.0, 1.0, 0.0, english=1.0)
    assert again.confidence(en) < again.confidence(zh)


def test_a_calibration_without_named_inputs_reads_best_margin_prior() -> None:
    old = Calibration.from_dict({"weights": [1.0, 0.0, 0.0], "bias": 0.0})
    assert old.inputs == ("best", "margin", "prior")
    assert old.confidence(Signals(0.0, 5.0, 5.0, missing_topic=1.0)) == pytest.approx(0.5)


def test_unknown_input_or_wrong_weight_count_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="among"):
        Calibration.from_dict({"inputs": ["best", "mood"], "weights": [1.0, 1.0], "bias": 0.0})
    with pytest.raises(ConfigError, match="one weight each"):
        Calibration((1.0,), 0.0, ("best", "margin"))


def test_threshold_withholds_at_most_the_allowed_share_of_answerable_questions() -> None:
    confidences = [i / 20 for i in range(20)] + [0.99, 0.98]
    answerable = [True] * 20 + [False, False]
    threshold = threshold_for(confidences, answerable, 0.10)
    withheld = sum(c < threshold for c, a in zip(confidences, answerable) if a)
    assert withheld == 2  # 10% of 20, unanswerable items never count
    assert threshold_for([0.3, 0.6], [True, True], 0.10) == 0.3  # too few to withhold any: the lowest kept


def test_extreme_scores_do_not_overflow() -> None:
    calibration = Calibration((10.0, 10.0, 10.0), 0.0)
    assert calibration.confidence(Signals(1e6, 1e6, 1e6)) == pytest.approx(1.0)
    assert calibration.confidence(Signals(-1e6, -1e6, -1e6)) == pytest.approx(0.0)


def test_a_gated_answer_abstains_even_when_gates_exceed_the_allowed_share() -> None:
    # 3 of 10 answerable questions withheld by the off-topic rule (confidence 0) is over the 10% allowed: the
    # threshold must still sit above 0, or those would be shown
    confidences = [0.0, 0.0, 0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    threshold = threshold_for(confidences, [True] * 10, 0.10)
    assert threshold == MIN_THRESHOLD and all(c < threshold for c in confidences[:3])
    assert all(c >= threshold for c in confidences[3:])


@pytest.mark.parametrize(("gate", "english", "withheld"),
                         [("all", False, True), ("all", True, True), ("zh", False, True), ("zh", True, False),
                          ("none", False, False)])
def test_the_off_topic_gate_by_language(gate: str, english: bool, withheld: bool) -> None:
    assert gate_applies(gate, True, english) is withheld
    assert gate_applies(gate, False, english) is False  # a question whose topic is covered is never withheld


def test_an_unknown_gate_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="zh"):
        gate_applies("en", True, True)
