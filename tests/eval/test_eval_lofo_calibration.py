"""The leave-one-filing-out calibration check: folds by filing, each filing scored by a fit on the others."""

from __future__ import annotations

import random
from typing import Any

from qa_engine.eval.lofo_calibration import folds, held_out, summary
from qa_engine.read.calibration import Signals


def _rows(seed: int = 3) -> list[dict[str, Any]]:
    """Ten filings; a right answer scores higher than a wrong one, and English scores sit lower throughout."""
    rng = random.Random(seed)
    rows = []
    for doc in range(10):
        for lang, shift in (("zh", 0.0), ("en", -1.5)):
            for _ in range(12):
                hit = rng.random() < 0.8
                best = (2.0 if hit else 0.0) + shift + rng.gauss(0, 0.7)
                rows.append({"doc": f"d{doc}", "lang": lang, "answerable": True, "hit": hit,
                             "signals": Signals(best, abs(best) / 4, best / 2)})
    for i in range(20):  # unanswerable questions name no filing
        rows.append({"doc": None, "lang": "zh" if i % 2 else "en", "answerable": False, "hit": False,
                     "signals": Signals(rng.gauss(-1, 0.7), 0.1, -1.0)})
    return rows


def test_every_row_is_in_one_fold_and_unanswerable_ones_are_spread() -> None:
    rows = _rows()
    groups = folds(rows)
    assert len(groups) == 10 and sum(len(g) for g in groups) == len(rows)
    assert all(sum(1 for r in g if r["doc"] is None) == 2 for g in groups)
    assert all(len({r["doc"] for r in g if r["doc"]}) == 1 for g in groups)


def test_a_threshold_per_language_withholds_fewer_answers_where_scores_sit_lower() -> None:
    rows = _rows()
    shared = summary(held_out(rows, ("best", "margin", "prior"), "shared"))
    per_language = summary(held_out(rows, ("best", "margin", "prior"), "per-language"))
    assert shared["en"]["false_abstention"] > shared["zh"]["false_abstention"]
    assert per_language["en"]["false_abstention"] < shared["en"]["false_abstention"]
    assert per_language["en"]["false_abstention"] <= 0.15
    for figures in (shared, per_language):
        assert figures["all"]["answerable"] == 240 and figures["all"]["unanswerable"] == 20
        assert all(0.0 <= figures["all"][k] <= 1.0 for k in ("answer_hit", "abstention_recall", "wrong_at_70"))


def test_the_sentence_hit_counts_right_best_sentences_whether_shown_or_withheld() -> None:
    rows = _rows()
    figures = summary(held_out(rows, ("best", "margin", "prior"), "shared"))
    right = [r["hit"] for r in rows if r["answerable"]]
    assert figures["all"]["sentence_hit"] == round(sum(right) / len(right), 4)
    assert figures["all"]["answer_hit"] <= figures["all"]["sentence_hit"]
    strict = summary(held_out(rows, ("best", "margin", "prior"), "shared", max_false_abstention=0.3))
    assert strict["all"]["answer_hit"] < figures["all"]["sentence_hit"]  # a higher cap withholds right answers
    assert strict["all"]["false_abstention"] > figures["all"]["false_abstention"]


def test_a_row_withheld_by_rule_scores_zero_and_is_not_shown() -> None:
    rows = _rows()
    rows[0] = {**rows[0], "hit": True, "withheld": True}
    scored = held_out(rows, ("best", "margin", "prior"), "shared")
    withheld = next(s for s in scored if s.row is rows[0])
    assert withheld.confidence == 0.0 and not withheld.shown


def test_an_off_topic_answer_is_withheld_only_under_the_gate_of_its_language() -> None:
    rows = _rows()
    rows[0] = {**rows[0], "off_topic": True}  # a Chinese question
    rows[12] = {**rows[12], "off_topic": True, "signals": Signals(3.0, 0.75, 1.5, english=1.0)}

    def confidences(gate: str) -> tuple[float, float]:
        scored = {id(s.row): s.confidence for s in held_out(rows, ("best", "margin", "prior"), "shared",
                                                            off_topic_gate=gate)}
        return scored[id(rows[0])], scored[id(rows[12])]

    assert all(c > 0 for c in confidences("none"))
    zh_only = confidences("zh")
    assert zh_only[0] == 0.0 and zh_only[1] > 0
    assert confidences("all") == (0.0, 0.0)
