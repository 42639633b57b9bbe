"""Exact match, character F1 and answer hit on hand-made Chinese examples with hand-computed values."""

from __future__ import annotations

import pytest

from qa_engine.eval.text import char_f1, contains_any, exact_match, max_f1, normalize_answer


def test_normalize_drops_whitespace_and_punctuation_and_folds_width() -> None:
    assert normalize_answer(" 2024年 9月10日。") == "2024年9月10日"
    assert normalize_answer("“抛光、储氢，催化”") == "抛光储氢催化"
    assert normalize_answer("ＡＢＣ１２３") == "abc123"


def test_exact_match_ignores_spacing_and_punctuation() -> None:
    assert exact_match("2024年 9月10日。", ["2024年9月10日"]) == 1.0
    assert exact_match("2024年9月", ["2024年9月10日"]) == 0.0
    assert exact_match(None, ["2024年9月10日"]) == 0.0


def test_char_f1_of_a_prediction_inside_the_gold_span() -> None:
    # 6 common characters: precision 6/6, recall 6/9 -> F1 = 2 * 1 * 2/3 / (1 + 2/3) = 0.8
    assert char_f1("产品价格下降", "产品价格进一步下降") == pytest.approx(0.8)


def test_char_f1_of_partially_overlapping_spans() -> None:
    # common 毛利率 = 3 of 5 characters on each side -> P = R = F1 = 0.6
    assert char_f1("毛利率为负", "毛利率下降") == pytest.approx(0.6)
    # repeated characters count with multiplicity: pred 2,0,2,4,年 vs gold 2,0,2,5,年 -> 4 of 5 -> 0.8
    assert char_f1("2024年", "2025年") == pytest.approx(0.8)


def test_char_f1_with_nothing_in_common_or_empty() -> None:
    assert char_f1("稀土", "铂族") == 0.0
    assert char_f1("。", "稀土") == 0.0


def test_max_f1_takes_the_best_gold_span_and_zero_when_abstained() -> None:
    gold = ["因产品价格进一步下降,无法覆盖单位成本", "产品价格进一步下降"]
    assert max_f1("产品价格进一步下降", gold) == 1.0
    assert max_f1(None, gold) == 0.0


def test_contains_any_is_normalised_containment() -> None:
    assert contains_any("主要系产品价格进一步下降，无法覆盖单位成本所致。", ["产品价格进一步下降,无法覆盖单位成本"])
    assert not contains_any("产品价格上升", ["产品价格进一步下降"])
    assert not contains_any(None, ["稀土"])
