"""Rank fusion as pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

Item = TypeVar("Item", int, str)  # chunk positions or chunk ids; ties go to the smaller


def rrf_fuse(rankings: Sequence[Sequence[Item]], weights: Sequence[float], k: int = 60) -> list[tuple[Item, float]]:
    """Weighted reciprocal-rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): Σ w / (k + rank)."""
    scores: dict[Item, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
