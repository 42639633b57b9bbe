"""Calibrate the heuristic reader's confidence on the dev split (filings it was not fit on), keeping its weights.

    python -m qa_engine.eval.calibrate_reader --build data/filings --build data/filings-more

The weights in `resources/reader_weights.json` are fit on the train split (`train_reader`); their logistic
probability is sure of itself on the filings it was fit on and not elsewhere. This fits the same confidence
mapping as the neural reader's (best logit, its lead over the runner-up) on dev questions, unanswerable ones
included, and the abstention threshold that withholds at most 10% of dev's answerable questions; it writes
both into the weights file. Run it again after `train_reader`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa_engine.eval.corpus import Corpus
from qa_engine.eval.gold import load_gold
from qa_engine.eval.training_index import open_training_index, training_parser
from qa_engine.read.calibration import MAX_FALSE_ABSTENTION, Signals, fit_calibration, threshold_for
from qa_engine.read.heuristic import WEIGHTS_FILE, HeuristicReader, withholds

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "resources" / WEIGHTS_FILE


Row = tuple[Signals | None, bool, bool]  # inputs (None: answered "not found" at 0), answerable, right


def dev_rows(engine: Any, gold: Path, corpus: Corpus) -> list[Row]:
    """Per dev question: (calibration inputs, answerable, best sentence holds the answer); the inputs are None
    where the reader answers at confidence 0 whatever the calibration (no sentence, off topic, or withheld by a
    rule of read/unstated.py)."""
    reader = HeuristicReader()
    rows: list[Row] = []
    for item in load_gold(gold, split="dev"):
        reading = engine.prepare(item.question)
        scored = reader.score(reading.analysis, reading.passages)
        best, margin = scored.best_and_margin() if scored is not None else (0, 0.0)
        if scored is None or withholds(scored, best):
            rows.append((None, item.answerable, False))
            continue
        candidate = scored.candidates[best]
        right = (candidate.passage.document.doc_id == corpus.doc_id_of(item.doc)
                 and any(a in candidate.view.sentence for a in item.answers))
        logit = float(scored.logits[best])
        rows.append((Signals(logit, margin, logit), item.answerable, right))
    return rows


def calibrate(rows: Sequence[Row]) -> dict[str, Any]:
    scored = [(inputs, a and right) for inputs, a, right in rows if inputs is not None]
    calibration = fit_calibration([inputs for inputs, _ in scored], [right for _, right in scored])
    confidences = [0.0 if r[0] is None else calibration.confidence(r[0]) for r in rows]
    threshold = threshold_for(confidences, [a for _, a, _ in rows], MAX_FALSE_ABSTENTION)
    return {"calibration": calibration.to_dict(), "abstain_threshold": round(threshold, 4),
            "calibrated_on": {"split": "dev", "questions": len(rows),
                              "answerable": sum(a for _, a, _ in rows)}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = training_parser("python -m qa_engine.eval.calibrate_reader", __doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    engine, _ = open_training_index(args.index, args.build)
    update = calibrate(dev_rows(engine, args.gold, Corpus.from_engine(engine)))
    if not args.dry_run:
        data = json.loads(args.weights.read_text("utf-8")) | update
        args.weights.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    json.dump(update, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
