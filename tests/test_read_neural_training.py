"""The neural reader's training objective: listwise cross-entropy with a learned no-answer score, and which
gold questions make training examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qa_engine.eval.gold import GoldItem
from qa_engine.eval.train_neural import Listwise, listwise_loss, trainable

torch = pytest.importorskip("torch")


def _example(answers: tuple[str, ...], labels: list[float]) -> Listwise:
    item = GoldItem("q", "问题", "zh", "number", "a.txt" if answers else None, answers)
    n = len(labels)
    return Listwise(item, "问题", tuple(f"句子{i}" for i in range(n)), np.zeros(n, np.float32),
                    np.array(labels, np.float32))


def test_an_answerable_question_targets_its_positives() -> None:
    scores, no_answer = torch.tensor([2.0, 0.0, -1.0]), torch.tensor(1.0)
    loss = listwise_loss(scores, no_answer, torch.tensor([True, False, False]))
    expected = math.log(math.exp(2) + math.exp(0) + math.exp(-1) + math.exp(1)) - 2.0
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_an_unanswerable_question_targets_the_no_answer_score() -> None:
    scores = torch.tensor([2.0, 0.0, -1.0], requires_grad=True)
    no_answer = torch.tensor(1.0, requires_grad=True)
    loss = listwise_loss(scores, no_answer, torch.zeros(3, dtype=torch.bool))
    expected = math.log(math.exp(2) + math.exp(0) + math.exp(-1) + math.exp(1)) - 1.0
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert scores.grad is not None and bool((scores.grad > 0).all())  # descent lowers every candidate's score
    assert no_answer.grad is not None and float(no_answer.grad) < 0  # and raises the no-answer score


def test_training_keeps_unanswerable_questions_and_answerable_ones_that_can_teach() -> None:
    both = _example(("1亿元",), [1, 0, 0])
    only_positives = _example(("1亿元",), [1, 1, 1])
    answer_not_among_candidates = _example(("1亿元",), [0, 0, 0])
    unanswerable = _example((), [0, 0, 0])
    kept = trainable([both, only_positives, answer_not_among_candidates, unanswerable])
    assert kept == [both, unanswerable]


def test_calibration_withholds_at_most_a_tenth_of_answerable_questions_and_reports_its_effect() -> None:
    from qa_engine.eval.train_neural import calibrate
    from qa_engine.read.calibration import Signals

    rng = np.random.default_rng(5)
    rows = []
    for i in range(120):
        answerable, hit = i % 6 != 0, i % 6 not in (0, 1)
        best = (3.0 if hit else 0.5 if answerable else -0.5) + float(rng.normal(0, 0.8))
        rows.append({"answerable": answerable, "hit": hit, "off_topic": False,
                     "signals": Signals(best, abs(best) / 3, best / 2)})
    _, threshold, effect = calibrate(rows, off_topic_gate="none")
    assert set(effect) == {"answer_hit", "abstention_recall", "wrong_at_70", "shown"}
    assert 0.5 < effect["abstention_recall"] <= 1.0 and effect["answer_hit"] > 0.6
    assert effect["shown"] < len(rows)
    answerable = [r for r in rows if r["answerable"]]
    assert effect["answer_hit"] <= sum(r["hit"] for r in answerable) / len(answerable)
    assert 0.0 < threshold < 1.0


def test_rows_withheld_by_rule_are_abstentions_the_calibration_is_not_fit_on() -> None:
    from qa_engine.eval.train_neural import calibrate
    from qa_engine.read.calibration import Signals

    confident_unanswerable = {"answerable": False, "hit": False, "off_topic": False,
                              "signals": Signals(6.0, 3.0, 3.0)}
    right = [{"answerable": True, "hit": True, "off_topic": False, "signals": Signals(4.0 + i / 10, 2.0, 2.0)}
             for i in range(20)]
    wrong = [{"answerable": True, "hit": False, "off_topic": False, "signals": Signals(-1.0 - i / 10, 0.1, -1.0)}
             for i in range(20)]
    shown = calibrate([*right, *wrong, confident_unanswerable], off_topic_gate="none")[2]
    withheld = calibrate([*right, *wrong, {**confident_unanswerable, "withheld": True}], off_topic_gate="none")[2]
    assert shown["abstention_recall"] == 0.0 and withheld["abstention_recall"] == 1.0
