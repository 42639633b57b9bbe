"""Regression check: compare a run's scores with the committed `eval/expected.json`.

expected.json holds `{"command": ..., "tolerance": ..., "created": ..., "metrics": {"overall.f1": 0.71, ...}}`;
`command` is the exact command line that reproduces the scores (pyserini's 2cr convention).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa_engine.eval.metrics import LOWER_IS_BETTER

DEFAULT_TOLERANCE = 0.02
_COUNTS = frozenset({"n", "n_answerable"})


@dataclass(frozen=True)
class CheckRow:
    """One metric compared with its expected value; `status` is ok, drop, improved or missing."""

    metric: str
    expected: float
    got: float | None
    status: str

    @property
    def failed(self) -> bool:
        return self.status in ("drop", "missing")


def flatten_scores(results: Mapping[str, Any]) -> dict[str, float]:
    """Return the checked scores of a results dict as flat keys: overall.f1, by_type.why.f1, ablations.bm25.mrr@10.

    Counts and latencies are left out: they are not quality scores, and timings vary by machine.
    """
    flat: dict[str, float] = {}
    _add(flat, "overall", results.get("overall", {}))
    for section in ("by_type", "by_lang"):
        for group, scores in results.get(section, {}).items():
            _add(flat, f"{section}.{group}", scores)
    for row in results.get("ablations", []):
        _add(flat, f"ablations.{row['name']}", row["metrics"])
        for split, scores in row.get("by_split", {}).items():
            _add(flat, f"split.{split}.ablations.{row['name']}", scores)
        for lang, scores in row.get("by_lang", {}).items():
            _add(flat, f"ablations.{row['name']}.{lang}", scores)
    for split, breakdown in results.get("splits", {}).items():
        _add(flat, f"split.{split}.overall", breakdown.get("overall", {}))
        for section in ("by_type", "by_lang"):
            for group, scores in breakdown.get(section, {}).items():
                _add(flat, f"split.{split}.{section}.{group}", scores)
    return flat


def _add(flat: dict[str, float], prefix: str, scores: Mapping[str, Any]) -> None:
    for name, value in scores.items():
        if name in _COUNTS or name.endswith("_ms") or not isinstance(value, (int, float)):
            continue
        flat[f"{prefix}.{name}"] = float(value)


def compare(expected: Mapping[str, float], got: Mapping[str, float], tolerance: float) -> list[CheckRow]:
    """Return one row per expected metric; a drop beyond `tolerance` (absolute) fails."""
    return [_compare_one(name, value, got.get(name), tolerance) for name, value in sorted(expected.items())]


def _compare_one(name: str, expected: float, got: float | None, tolerance: float) -> CheckRow:
    if got is None:
        return CheckRow(name, expected, None, "missing")
    gain = got - expected
    if name.rsplit(".", 1)[-1] in LOWER_IS_BETTER:
        gain = -gain
    status = "drop" if gain < -tolerance - 1e-12 else "improved" if gain > tolerance else "ok"
    return CheckRow(name, expected, got, status)


def format_rows(rows: Sequence[CheckRow]) -> str:
    """Return the comparison as an aligned text table: metric, expected, got, status."""
    width = max([len(r.metric) for r in rows] + [len("metric")])
    lines = [f"{'metric':<{width}}  {'expected':>8}  {'got':>8}  status"]
    for row in rows:
        got = "-" if row.got is None else f"{row.got:.4f}"
        lines.append(f"{row.metric:<{width}}  {row.expected:>8.4f}  {got:>8}  {row.status.upper() if row.failed else row.status}")
    return "\n".join(lines)


def check_results(results: Mapping[str, Any], expected_path: Path, tolerance: float | None = None) -> tuple[int, str]:
    """Return (exit code, table): 1 when any expected metric dropped by more than the tolerance or is missing."""
    expected = load_expected(expected_path)
    tol = tolerance if tolerance is not None else float(expected.get("tolerance", DEFAULT_TOLERANCE))
    rows = compare(expected["metrics"], flatten_scores(results), tol)
    failed = [r for r in rows if r.failed]
    summary = f"{len(rows)} metrics, {len(failed)} failed (tolerance {tol})"
    return (1 if failed else 0), f"{format_rows(rows)}\n{summary}"


def load_expected(path: Path) -> dict[str, Any]:
    """Return the expected-scores file; raises FileNotFoundError naming the command that creates it."""
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: create it with `python -m qa_engine.eval --update-expected`")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data.get("metrics"), dict):
        raise TypeError(f"{path} has no 'metrics' object")
    return data


def expected_from_results(results: Mapping[str, Any], command: str, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """Return the expected.json content for a run: its flat scores, rounded, and the reproducing command."""
    return {
        "command": command,
        "tolerance": tolerance,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": {name: round(value, 4) for name, value in sorted(flatten_scores(results).items())},
    }
