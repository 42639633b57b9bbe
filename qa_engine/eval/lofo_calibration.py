"""Leave-one-filing-out check of the neural reader's calibration on the dev split: each filing's questions are
scored by a calibration and threshold fit on the other filings' questions (unanswerable questions without a
filing spread over the folds), so a calibration input or threshold policy is judged on filings it was not fit on.

    python -m qa_engine.eval.lofo_calibration --index build/eval-index
    python -m qa_engine.eval.lofo_calibration --index build/eval-index --inputs best,margin,prior,english \\
        --threshold per-language
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_engine.eval.corpus import Corpus
from qa_engine.eval.gold import load_gold
from qa_engine.eval.metrics import HeldOutcome, shown_or_withheld_scores
from qa_engine.eval.training_index import open_training_index, training_parser
from qa_engine.eval.withholding import GatedCalibration, fit_gated
from qa_engine.read.calibration import CONFIDENCE_INPUTS, MAX_FALSE_ABSTENTION, SIGNALS, threshold_for
from qa_engine.read.neural import NeuralReader, RerankHead

THRESHOLD_POLICIES = ("shared", "per-language")


@dataclass(frozen=True)
class Scored:
    """One held-out question: its outcome row (train_neural.outcomes), its confidence and whether it is shown."""

    row: dict[str, Any]
    confidence: float
    shown: bool


def folds(rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rows grouped by filing; a row without one (an unanswerable question) joins the folds in turn."""
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("doc"):
            by_doc.setdefault(row["doc"], []).append(row)
    groups = [by_doc[doc] for doc in sorted(by_doc)]
    if not groups:
        return [list(rows)]
    for i, row in enumerate(r for r in rows if not r.get("doc")):
        groups[i % len(groups)].append(row)
    return groups


def held_out(rows: Sequence[dict[str, Any]], inputs: Sequence[str], policy: str,
             max_false_abstention: float = MAX_FALSE_ABSTENTION, off_topic_gate: str = "none") -> list[Scored]:
    """Every row scored by the calibration and threshold fit on the folds it is not in, as train_neural.calibrate
    fits them (an answer withheld by rule or by the off-topic gate scores 0 and is not fit on)."""
    groups = folds(rows)
    out: list[Scored] = []
    for i, held in enumerate(groups):
        fit = [row for j, group in enumerate(groups) if j != i for row in group]
        fitted = fit_gated(fit, inputs, off_topic_gate)
        thresholds = {lang: _threshold(fitted, [r for r in fit if policy == "shared" or r["lang"] == lang],
                                       max_false_abstention)
                      for lang in {r["lang"] for r in rows}}
        for row in held:
            confidence = fitted.confidence(row)
            out.append(Scored(row, confidence, confidence >= thresholds[row["lang"]]))
    return out


def _threshold(fitted: GatedCalibration, rows: Sequence[dict[str, Any]], max_false_abstention: float) -> float:
    """The threshold that withholds at most `max_false_abstention` of these rows' answerable questions."""
    return threshold_for([fitted.confidence(r) for r in rows], [r["answerable"] for r in rows],
                         max_false_abstention)


def summary(scored: Sequence[Scored]) -> dict[str, dict[str, float | int]]:
    """Sentence hit, answer hit, false abstention, unanswerable abstained (`abstention_recall`) and wrong at
    >= 70%, overall and per language."""
    out: dict[str, dict[str, float | int]] = {}
    for lang in ("all", "zh", "en"):
        group = [s for s in scored if lang == "all" or s.row["lang"] == lang]
        answerable = [s for s in group if s.row["answerable"]]
        unanswerable = [s for s in group if not s.row["answerable"]]
        if not answerable:
            continue
        held = [HeldOutcome(s.row["answerable"], s.row["hit"], s.confidence, s.shown) for s in group]
        out[lang] = {**shown_or_withheld_scores(held), "answerable": len(answerable),
                     "unanswerable": len(unanswerable)}
    return out


def dev_rows(index: Path, gold: Path, folder: Path | None = None) -> tuple[list[dict[str, Any]], RerankHead]:
    """The neural reader's outcome on every dev question, with the question's filing, and the reader's head;
    `folder`: its adapter and head (None: the shipped ones)."""
    from qa_engine.eval.train_neural import collect, outcomes

    engine, settings = open_training_index(index)
    reader = NeuralReader(folder, settings=settings)
    head = reader.head
    examples = collect(engine, load_gold(gold, split="dev"), Corpus.from_engine(engine), head.top_n,
                       settings.read_top_k, head.passage_context)
    rows = outcomes(reader.encoder, examples, head.scale, head.temperature)
    for row, example in zip(rows, examples, strict=True):
        row["doc"] = example.item.doc
    return rows, head


def main(argv: Sequence[str] | None = None) -> int:
    parser = training_parser("python -m qa_engine.eval.lofo_calibration", __doc__.split("\n")[0])
    parser.add_argument("--inputs", type=lambda text: tuple(text.split(",")), default=CONFIDENCE_INPUTS,
                        help=f"comma-separated calibration inputs, among {','.join(SIGNALS)}")
    parser.add_argument("--threshold", choices=THRESHOLD_POLICIES, default="shared")
    parser.add_argument("--max-false-abstention", type=float, default=MAX_FALSE_ABSTENTION,
                        help="the share of answerable questions each fold's threshold may withhold")
    parser.add_argument("--adapter", type=Path, default=None,
                        help="a trained adapter's folder (train_neural --out); default: the shipped one")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.inputs) - set(SIGNALS))
    if unknown:
        parser.error(f"unknown calibration inputs {unknown}: use {', '.join(SIGNALS)}")
    rows, head = dev_rows(args.index, args.gold, args.adapter)
    scored = held_out(rows, args.inputs, args.threshold, args.max_false_abstention, head.off_topic_gate)
    json.dump({"inputs": list(args.inputs), "threshold": args.threshold, "off_topic_gate": head.off_topic_gate,
               "held_out": summary(scored)}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
