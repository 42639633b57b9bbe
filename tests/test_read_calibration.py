"""Confidence calibration shared by the readers: a logistic map fit on held-out questions, and the threshold
that withholds a bounded share of answerable questions."""

from __future__ import annotations

import pytest

from qa_engine.read.calibration import Calibration, fit_calibration, threshold_for


def test_fit_calibration_orders_confidence_by_score_and_round_trips() -> None:
    rows = [(float(s), float(s) / 2, float(s)) for s in range(-5, 6)] * 3
    right = [s > 0 for s in range(-5, 6)] * 3
    calibration = fit_calibration(rows, right)
    low, high = calibration.confidence(-4.0, -2.0, -4.0), calibration.confidence(4.0, 2.0, 4.0)
    assert 0.0 < low < 0.5 < high < 1.0
    again = Calibration.from_dict(calibration.to_dict())
    assert again.confidence(1.0, 0.5, 1.0) == pytest.approx(calibration.confidence(1.0, 0.5, 1.0), abs=1e-5)


def test_threshold_withholds_at_most_the_allowed_share_of_answerable_questions() -> None:
    confidences = [i / 20 for i in range(20)] + [0.99, 0.98]
    answerable = [True] * 20 + [False, False]
    threshold = threshold_for(confidences, answerable, 0.10)
    withheld = sum(c < threshold for c, a in zip(confidences, answerable) if a)
    assert withheld == 2  # 10% of 20, unanswerable items never count
    assert threshold_for([0.3, 0.6], [True, True], 0.10) == 0.3  # too few to withhold any: the lowest kept


def test_extreme_scores_do_not_overflow() -> None:
    calibration = Calibration((10.0, 10.0, 10.0), 0.0)
    assert calibration.confidence(1e6, 1e6, 1e6) == pytest.approx(1.0)
    assert calibration.confidence(-1e6, -1e6, -1e6) == pytest.approx(0.0)
