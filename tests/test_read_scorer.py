"""The default reader's learned sentence scorer: features, shipped weights, and the training script."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa_engine.answer import abstain_threshold
from qa_engine.errors import ConfigError
from qa_engine.eval import train_reader
from qa_engine.eval.gold import GoldItem
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.features import FEATURES, Asked, SentenceView, featurize
from qa_engine.read.heuristic import WEIGHTS_FILE, HeuristicReader, SentenceModel
from qa_engine.settings import Settings

WEIGHTS = Path(__file__).resolve().parents[1] / "qa_engine" / "resources" / WEIGHTS_FILE


def _analysis(qtype: str = "number", years: tuple[str, ...] = ("2023",)) -> QuestionAnalysis:
    terms = ("北方稀土", "锁定期", "关联交易", *years)
    return QuestionAnalysis(
        question="北方稀土2023年关联交易的锁定期多长？", lang="zh", qtype=qtype, years=years, terms=terms,
        named_docs=frozenset(), weights=(1.0, 3.0, 2.0, *(1.0 for _ in years)),
        company_terms=frozenset({"北方稀土"}), focus=("锁定期",),
    )


def _features(analysis: QuestionAnalysis, sentence: str, rank: int = 0) -> dict[str, float]:
    view = SentenceView(sentence, sentence, sentence, rank)
    return dict(zip(FEATURES, featurize(Asked.of(analysis), view)))


def test_features_see_topic_focus_years_and_cues() -> None:
    analysis = _analysis()
    answer = _features(analysis, "2023年关联交易的锁定期为36个月。")
    wrong_year = _features(analysis, "北方稀土2022年关联交易金额为94.10亿元。", rank=3)
    assert answer["topic_coverage"] == 1.0 and answer["focus_coverage"] == 1.0
    assert answer["year_match"] == 1.0 and answer["year_conflict"] == 0.0
    assert answer["cue_number"] == 1.0 and answer["span_number"] == 1.0 and answer["cue_why"] == 0.0
    assert wrong_year["year_conflict"] == 1.0 and wrong_year["focus_coverage"] == 0.0
    assert wrong_year["topic_coverage"] == pytest.approx(2.0 / 5.0)
    assert wrong_year["rank"] == pytest.approx(0.25) and answer["rank"] == 1.0


def test_quoted_inquiry_question_is_flagged() -> None:
    quoted = _features(_analysis(), "请发行人说明2023年关联交易的锁定期安排。")
    assert quoted["quoted_question"] == 1.0


def test_shipped_weights_cover_every_feature_and_give_the_default_threshold() -> None:
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES)
    assert abstain_threshold(Settings(), HeuristicReader()) == pytest.approx(data["abstain_threshold"])
    assert abstain_threshold(Settings(abstain_threshold=0.5), HeuristicReader()) == 0.5
    model = SentenceModel.load()
    analysis = _analysis()
    good = featurize(Asked.of(analysis), SentenceView(*["2023年关联交易的锁定期为36个月。"] * 3, 0))
    bad = featurize(Asked.of(analysis), SentenceView(*["请发行人说明情况？"] * 3, 4))
    assert model.probability(good) > model.probability(bad)


def test_weights_missing_a_feature_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"features": ["coverage"], "weights": [1.0], "bias": 0.0}), encoding="utf-8")
    with pytest.raises(ConfigError, match="retrain"):
        SentenceModel.load(path)


def _example(qid: str, answerable: bool, rng: np.random.Generator) -> train_reader.Example:
    item = GoldItem(qid, "q", "zh", "number", "doc.txt", ("x",) if answerable else ())
    features = rng.random((6, len(FEATURES))) * 0.2
    labels = np.zeros(6)
    if answerable:
        labels[2] = 1.0
        for name in ("coverage", "topic_coverage", "focus_coverage", "untitled_coverage"):
            features[2, FEATURES.index(name)] = 1.0
    return train_reader.Example(item, features, labels)


def test_training_learns_a_separable_signal_and_reports_held_out_numbers() -> None:
    rng = np.random.default_rng(0)
    examples = [_example(f"q{i}", i % 4 != 0, rng) for i in range(40)]
    model = train_reader.fit(examples)
    assert model.coef_[0][FEATURES.index("topic_coverage")] > 0
    outcomes = train_reader.best_scores(model, examples)
    assert all(hit for answerable, hit, _ in outcomes if answerable)
    report = train_reader.cross_validate(examples, train_reader.question_folds(examples))
    assert report["sentence_hit"] == 1.0 and report["abstention_recall"] == 1.0


def test_threshold_keeps_false_abstention_under_the_limit() -> None:
    outcomes = [(True, True, p) for p in np.linspace(0.1, 1.0, 20)] + [(False, False, 0.05)] * 5
    threshold = train_reader.choose_threshold(outcomes)
    summary = train_reader.summarize(outcomes, threshold)
    assert summary["false_abstention"] <= train_reader.MAX_FALSE_ABSTENTION
    assert summary["abstention_recall"] == 1.0
