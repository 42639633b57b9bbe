"""BM25 over jieba search terms with bm25s (numba backend when available)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np


class SparseIndex:
    """A bm25s index whose document i is chunk i of the generation."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = 0.9, b: float = 0.5) -> "SparseIndex":
        model = bm25s.BM25(k1=k1, b=b, backend=_backend())
        corpus = [list(tokens) or ["<empty>"] for tokens in token_lists]
        model.index(_tokenized(corpus),
                    show_progress=False)
        return cls(model, len(corpus))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder))

    @classmethod
    def load(cls, folder: Path, size: int) -> "SparseIndex":
        model = bm25s.BM25.load(str(folder), mmap=False)
        model.backend = _backend()
        return cls(model, size)

    def search(self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk position, score) best first; `allowed` is a 0/1 mask over chunk positions."""
        vocab = self._model.vocab_dict
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids or self.size == 0:
            return []
        scores = self._model.get_scores(ids)
        if allowed is not None:
            scores = scores * allowed
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def _tokenized(corpus: list[list[str]]) -> bm25s.tokenization.Tokenized:
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def _backend() -> str:
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"
