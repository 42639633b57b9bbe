"""Writing a run: results.json, report.md (Markdown tables) and the PNG plots, into one folder."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa_engine.eval.intervals import METRICS, Interval
from qa_engine.eval.metrics import Score
from qa_engine.eval.plots import plot_calibration, plot_hit_by_type, plot_recall_curves
from qa_engine.eval.runner import EvalResult

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
RECALL_PLOT = "recall_at_k.png"
HIT_PLOT = "answer_hit_by_type.png"
CALIBRATION_PLOT = "calibration.png"

RETRIEVAL_COLUMNS = ("recall@1", "recall@5", "recall@10", "recall@20", "mrr@10", "ndcg@10")
READER_COLUMNS = ("exact_match", "f1", "answer_hit", "sentence_hit", "citation_verbatim", "citation_contains_gold",
                  "abstention_recall", "false_abstention_rate", "wrong_at_70", "calibration_error")
GROUP_COLUMNS = ("n", "n_answerable", "recall@5", "mrr@10", "exact_match", "f1", "answer_hit", "sentence_hit",
                 "abstention_recall", "false_abstention_rate", "wrong_at_70")
SIDE_BY_SIDE = {"retrieval": ("recall@1", "recall@5", "mrr@10"),
                "reader": ("answer_hit", "sentence_hit", "f1", "abstention_recall", "false_abstention_rate",
                           "wrong_at_70")}


def write_outputs(result: EvalResult, out: Path) -> list[Path]:
    """Write results.json, report.md and the plots into `out` (created); return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    write_json(out / RESULTS_FILE, data)
    plot_recall_curves(result.recall_curves, out / RECALL_PLOT)
    plot_hit_by_type(result.hit_by_type, out / HIT_PLOT)
    plot_calibration(result.calibration, out / CALIBRATION_PLOT)
    (out / REPORT_FILE).write_text(render_report(result), encoding="utf-8")
    return [out / name for name in (RESULTS_FILE, REPORT_FILE, RECALL_PLOT, HIT_PLOT, CALIBRATION_PLOT)]


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename), keeping Chinese readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def render_report(result: EvalResult) -> str:
    """Return report.md: overall scores, ablations, per-type and per-language tables, latency, plots."""
    meta = result.meta
    sections = [
        "# qa_engine evaluation\n",
        _header(meta),
        "## Overall\n", _table(["metric", "value"], [[name, _fmt(v)] for name, v in result.overall.items()]),
        "## Readers and retrieval modes, per split\n", _side_by_side(result),
        "## Retrieval ablations (all items)\n", _ablation_table(result, "retrieval", RETRIEVAL_COLUMNS),
        "## Reader ablations (all items)\n", _ablation_table(result, "reader", READER_COLUMNS),
        "## Readers by language (all items)\n", _readers_by_language(result),
        "## By split\n", _group_table("split", {s: b["overall"] for s, b in result.splits.items()}),
        *_split_sections(result),
        "## By question type (all items)\n", _group_table("type", result.by_type),
        "## By language (all items)\n", _group_table("lang", result.by_lang),
        "## By filing (split/filing)\n", _group_table("filing", result.by_filing),
        "## Calibration\n", _calibration_table(result),
        "## How sure: 95% intervals, whole filings resampled (2,000 rounds)\n", _intervals_table(result),
        "## Reader training (held-out numbers from the readers' own files)\n",
        "```json\n" + json.dumps(result.meta.get("reader_training", {}), ensure_ascii=False, indent=1) + "\n```\n",
        "## Latency (ms)\n", _latency_table(result.latency),
        "## Plots\n", (f"![recall@k per retrieval mode]({RECALL_PLOT})\n\n![answer hit by type]({HIT_PLOT})\n\n"
                        f"![confidence against accuracy]({CALIBRATION_PLOT})\n"),
    ]
    return "\n".join(sections)


def _side_by_side(result: EvalResult) -> str:
    """One table: every retrieval mode and reader (rows) against each split's key metrics (columns)."""
    splits = list(result.splits)
    header = ["variant", *(f"{split} {metric}" for split in splits for metric in ("R@5", "hit", "wrong@70"))]
    rows = []
    for row in result.ablations:
        cells = []
        for split in splits:
            scores = row.by_split.get(split, {})
            cells += [_fmt(scores.get("recall@5")), _fmt(scores.get("answer_hit")), _fmt(scores.get("wrong_at_70"))]
        rows.append([row.name, *cells])
    return _table(header, rows)


def _readers_by_language(result: EvalResult) -> str:
    rows = [[f"{row.name} · {lang}", *(_fmt(scores.get(c)) for c in READER_COLUMNS)]
            for row in result.ablations if row.kind == "reader" for lang, scores in row.by_lang.items()]
    return _table(["reader · language", *READER_COLUMNS], rows)


def _split_sections(result: EvalResult) -> list[str]:
    sections = []
    for split, breakdown in result.splits.items():
        sections += [f"### {split}: by question type\n", _group_table("type", breakdown["by_type"]),
                     f"### {split}: by language\n", _group_table("lang", breakdown["by_lang"])]
    return sections


def _calibration_table(result: EvalResult) -> str:
    rows = [[name, f"{b['low']:.1f}–{b['high']:.1f}", str(b["count"]), _fmt(b["mean_confidence"]), _fmt(b["accuracy"])]
            for name, bins in result.calibration.items() for b in bins if b["count"]]
    return _table(["reader", "confidence", "questions", "mean confidence", "best sentence right"], rows)


def _intervals_table(result: EvalResult) -> str:
    rows = [[group, row, *(_fmt_interval(metrics.get(m)) for m in METRICS)]
            for group, readers in result.intervals.items() for row, metrics in readers.items()]
    return _table(["questions", "reader", *METRICS], rows)


def _fmt_interval(interval: Interval | None) -> str:
    if interval is None:
        return "–"
    return f"{interval.value:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def _header(meta: Mapping[str, Any]) -> str:
    return (
        f"`{meta.get('command') or 'python -m qa_engine.eval'}`  \n"
        f"{meta['items']} gold items ({meta['answerable']} answerable), k={meta['k']}, "
        f"retrieval for `ask`: {meta['primary_retrieval']}, reader errors: {meta['errors']}, "
        f"gold problems: {meta.get('gold_problems', 0)}, {meta['created']}\n"
    )


def _ablation_table(result: EvalResult, kind: str, columns: Sequence[str]) -> str:
    rows = [[row.name, *(_fmt(row.metrics.get(c)) for c in columns)] for row in result.ablations if row.kind == kind]
    return _table([kind, *columns], rows)


def _group_table(label: str, groups: Mapping[str, Mapping[str, Score]]) -> str:
    rows = [[name, *(_fmt(scores.get(c)) for c in GROUP_COLUMNS)] for name, scores in groups.items()]
    return _table([label, *GROUP_COLUMNS], rows)


def _latency_table(latency: Mapping[str, Mapping[str, float]]) -> str:
    rows = [[stage, _fmt(p.get("p50"), 1), _fmt(p.get("p95"), 1)] for stage, p in latency.items()]
    return _table(["stage", "p50", "p95"], rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, int)):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
