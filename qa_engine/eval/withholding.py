"""The neural reader's calibration as fit on outcome rows (train_neural.outcomes): answers the reader withholds
whatever their score (the off-topic gate, a rule of read/unstated.py) score 0 and are not fit on, so the
calibration learns only from the answers it decides on. train_neural fits it on dev; lofo_calibration fits it
on all of dev but one filing at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qa_engine.read.calibration import Calibration, fit_calibration, gate_applies

Row = Mapping[str, Any]


@dataclass(frozen=True)
class GatedCalibration:
    calibration: Calibration
    off_topic_gate: str

    def confidence(self, row: Row) -> float:
        return 0.0 if withheld(row, self.off_topic_gate) else self.calibration.confidence(row["signals"])


def withheld(row: Row, off_topic_gate: str) -> bool:
    """Whether the reader withholds this answer whatever its score."""
    return bool(row.get("withheld")) or gate_applies(off_topic_gate, bool(row.get("off_topic")),
                                                     bool(row["signals"].english))


def fit_gated(rows: Sequence[Row], inputs: Sequence[str], off_topic_gate: str) -> GatedCalibration:
    """The logistic calibration of the `inputs` of the rows not withheld against whether the answer was right."""
    kept = [r for r in rows if not withheld(r, off_topic_gate)]
    return GatedCalibration(fit_calibration([r["signals"] for r in kept], [r["answerable"] and r["hit"] for r in kept],
                                            inputs), off_topic_gate)
