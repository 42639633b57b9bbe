"""Fit the default reader's sentence scorer on the gold set and report honest, held-out numbers.

    python -m qa_engine.eval.train_reader --build data/filings [--out qa_engine/resources/reader_weights.json]

Only the train split of `eval/split.json` is used (dev calibrates, test is never seen): run
`python -m qa_engine.eval.calibrate_reader` afterwards, since this writes a threshold of its own.
Every sentence of the top-k passages is one example: positive when it lies in the gold document and contains
a gold answer span. A logistic regression over `qa_engine.read.features.FEATURES` is fit on all of them.
The numbers it prints come from cross-validation where each fold's model never saw the fold's questions:
by question (5 folds) and by filing (leave one filing out: how the reader does on a filing it never saw).
Needs scikit-learn (the `dev` extra); the engine itself only needs the weights file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_engine.eval.corpus import Corpus
from qa_engine.eval.gold import GoldItem, load_gold
from qa_engine.eval.metrics import HeldOutcome, shown_or_withheld_scores
from qa_engine.read.calibration import MAX_FALSE_ABSTENTION, threshold_for
from qa_engine.read.features import FEATURES, Asked
from qa_engine.read.heuristic import candidate_sentences, feature_matrix, off_topic
from qa_engine.settings import Settings

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "resources" / "reader_weights.json"
REGULARISATION_C = 0.1


@dataclass(frozen=True)
class Example:
    """All candidate sentences of one gold question, with their features and labels."""

    item: GoldItem
    features: np.ndarray  # (sentences, features)
    labels: np.ndarray  # 1 where the sentence holds a gold answer


def collect_examples(engine, gold: Sequence[GoldItem], corpus: Corpus, k: int) -> list[Example]:  # type: ignore[no-untyped-def]
    examples = []
    for item in gold:
        reading = engine.prepare(item.question, k=k)
        candidates = list(candidate_sentences(reading.passages))
        if not candidates:
            continue
        gold_doc = corpus.doc_id_of(item.doc)
        labels = np.array([
            float(c.passage.document.doc_id == gold_doc and any(a in c.view.sentence for a in item.answers))
            for c in candidates
        ])
        examples.append(Example(item, feature_matrix(Asked.of(reading.analysis), candidates), labels))
    return examples


def fit(examples: Sequence[Example]):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([e.features for e in examples])
    y = np.concatenate([e.labels for e in examples])
    model = LogisticRegression(C=REGULARISATION_C, max_iter=2000)
    model.fit(x, y)
    return model


def best_scores(model, examples: Sequence[Example]) -> list[tuple[bool, bool, float]]:  # type: ignore[no-untyped-def]
    """Per question: (answerable, best sentence holds the answer, best probability)."""
    out = []
    for e in examples:
        probs = model.predict_proba(e.features)[:, 1]
        best = int(np.argmax(probs))
        score = 0.0 if off_topic(e.features) else float(probs[best])  # as the reader scores it
        out.append((e.item.answerable, bool(e.labels[best]), score))
    return out


def choose_threshold(outcomes: Sequence[tuple[bool, bool, float]]) -> float:
    """A threshold that abstains on at most MAX_FALSE_ABSTENTION of the answerable questions."""
    return threshold_for([p for _, _, p in outcomes], [a for a, _, _ in outcomes], MAX_FALSE_ABSTENTION)


def summarize(outcomes: Sequence[tuple[bool, bool, float]], threshold: float) -> dict[str, float]:
    scores = shown_or_withheld_scores([HeldOutcome(a, hit, p, p >= threshold) for a, hit, p in outcomes])
    return {
        **{key: scores[key] for key in ("answer_hit", "sentence_hit", "false_abstention", "abstention_recall")},
        "threshold": round(threshold, 4),
    }


def cross_validate(examples: Sequence[Example], groups: Sequence[str]) -> dict[str, float]:
    """Held-out outcomes for every question, each predicted by a model that never saw its group; the
    abstention threshold is chosen per fold on the training questions only."""
    outcomes: list[tuple[bool, bool, float]] = []
    thresholds: list[float] = []
    for held in sorted(set(groups)):
        train = [e for e, g in zip(examples, groups) if g != held]
        test = [e for e, g in zip(examples, groups) if g == held]
        model = fit(train)
        threshold = choose_threshold(best_scores(model, train))
        thresholds.append(threshold)
        outcomes += [(a, hit, p - threshold) for a, hit, p in best_scores(model, test)]
    return summarize(outcomes, 0.0) | {"threshold": round(float(np.median(thresholds)), 4)}


def question_folds(examples: Sequence[Example], folds: int = 5) -> list[str]:
    return [f"fold-{i % folds}" for i in range(len(examples))]


def filing_folds(examples: Sequence[Example]) -> list[str]:
    return [e.item.doc or "none" for e in examples]


def train(index: Path, gold_path: Path, settings: Settings, out: Path | None) -> dict[str, object]:
    from qa_engine.engine import Engine

    engine = Engine.open(index, settings=settings)
    corpus = Corpus.from_engine(engine)
    examples = collect_examples(engine, load_gold(gold_path, split="train"), corpus, settings.read_top_k)
    model = fit(examples)
    threshold = choose_threshold(best_scores(model, examples))
    report = {
        "features": list(FEATURES),
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "abstain_threshold": round(threshold, 4),
        "trained_on": {"questions": len(examples), "sentences": int(sum(len(e.labels) for e in examples)),
                       "read_top_k": settings.read_top_k, "C": REGULARISATION_C},
        "in_sample": summarize(best_scores(model, examples), threshold),
        "cv_by_question": cross_validate(examples, question_folds(examples)),
        "cv_by_filing": cross_validate(examples, filing_folds(examples)),
    }
    if out is not None:
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa_engine.eval.train_reader", description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=Path("build/train-index"))
    parser.add_argument("--build", type=Path, nargs="*", default=(), help="ingest these files/folders into --index first")
    parser.add_argument("--gold", type=Path, default=Path("eval/gold"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the weights")
    parser.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    args = parser.parse_args(argv)
    settings = Settings().model_copy(update={"index_dir": args.index})
    if args.build:
        from qa_engine.engine import ingest

        ingest(args.build, settings)
    report = train(args.index, args.gold, settings, None if args.dry_run else args.out)
    shown = {k: report[k] for k in ("abstain_threshold", "trained_on", "in_sample", "cv_by_question", "cv_by_filing")}
    json.dump(shown, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
