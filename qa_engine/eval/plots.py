"""PNG plots of a run (matplotlib, Agg backend): recall@k per retrieval mode, answer hit per question type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI machines

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def plot_recall_curves(curves: Mapping[str, Mapping[int, float]], path: Path) -> None:
    """Draw one recall@k line per retrieval mode into `path`."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ks = sorted(curve)
        ax.plot(ks, [curve[k] for k in ks], marker="o", markersize=3, label=name)
    ax.set(xlabel="k", ylabel="answer recall@k", ylim=(0, 1.02), title="Retrieval: recall@k")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if curves:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_hit_by_type(hits: Mapping[str, Mapping[str, float | None]], path: Path) -> None:
    """Draw grouped bars of answer hit rate per question type, one bar per reader variant."""
    types = sorted({t for per_type in hits.values() for t in per_type})
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(hits), 1)
    x = np.arange(len(types))
    for i, (name, per_type) in enumerate(hits.items()):
        values = [per_type.get(t) or 0.0 for t in types]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
    ax.set_xticks(x, types)
    ax.set(ylabel="answer hit rate", ylim=(0, 1.02), title="Reader: answer hit by question type")
    ax.grid(axis="y", alpha=0.3)
    if hits:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_calibration(calibration: Mapping[str, Sequence[Mapping[str, Any]]], path: Path) -> None:
    """Draw a reliability diagram: accuracy of the best sentence against the reader's confidence, per reader."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, bins in calibration.items():
        filled = [b for b in bins if b["count"]]
        ax.plot([b["mean_confidence"] for b in filled], [b["accuracy"] for b in filled], marker="o", label=name)
        for b in filled:
            ax.annotate(str(b["count"]), (b["mean_confidence"], b["accuracy"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    ax.set(xlabel="confidence", ylabel="share whose best sentence holds the answer", xlim=(0, 1), ylim=(0, 1.02),
           title="Reliability (labels: questions per bin)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
