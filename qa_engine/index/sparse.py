"""BM25 over jieba search terms: bm25s builds and saves the index; queries read its arrays with numpy alone.

bm25s stores every (term, chunk) BM25 score in a CSC matrix (`data`, `indices`, `indptr` .npy files), so a query's
scores are the sums of its terms' columns. Reading them here, memory-mapped, spares a query process the imports of
bm25s, numba and scipy (0.5 s of start-up) and keeps the matrix out of its heap; the sums are bm25s's own
(`BM25.get_scores`: one `np.add.at` per term, in query order, float32), as tests/test_index_sparse.py checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DATA, INDICES, INDPTR = "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"
VOCAB, PARAMS, NONOCCURRENCE = "vocab.index.json", "params.index.json", "nonoccurrence_array.index.npy"
EMPTY = "<empty>"  # the one term of a chunk without search terms (bm25s needs one): not a corpus term


class SparseIndex:
    """A bm25s index whose document i is chunk i of the generation."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int],
                 size: int, dtype: str = "float32", nonoccurrence: np.ndarray | None = None,
                 model: object | None = None) -> None:
        self._data, self._indices, self._indptr = data, indices, indptr
        self.vocab = {t: i for t, i in vocab.items() if i < len(indptr) - 1}
        self.size = size
        self._dtype = np.dtype(dtype)
        self._nonoccurrence = nonoccurrence
        self._model = model  # the bm25s.BM25 that built the index (None when loaded): saved by `save`

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float, b: float) -> SparseIndex:
        if not token_lists:  # every document removed: bm25s cannot index an empty corpus
            return cls(np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int64), {}, 0)
        import bm25s

        model = bm25s.BM25(k1=k1, b=b, backend=_backend())
        corpus = [list(tokens) or [EMPTY] for tokens in token_lists]
        model.index(_tokenized(corpus), show_progress=False)
        scores = model.scores
        return cls(scores["data"], scores["indices"], scores["indptr"], model.vocab_dict, len(corpus), model.dtype,
                   model.nonoccurrence_array, model)

    def save(self, folder: Path) -> None:
        if self.size == 0:
            _save_empty(folder)
            return
        if self._model is None:
            raise ValueError("only a SparseIndex built in this process can be saved")
        self._model.save(str(folder))  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path, size: int) -> SparseIndex:
        """The index bm25s saved in `folder`, its arrays memory-mapped (read-only)."""
        params = json.loads((folder / PARAMS).read_text(encoding="utf-8"))
        vocab = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
        arrays = [np.load(folder / name, mmap_mode="r") for name in (DATA, INDICES, INDPTR)]
        nonoccurrence = np.load(folder / NONOCCURRENCE) if (folder / NONOCCURRENCE).exists() else None
        num_docs = int(params.get("num_docs", size))
        if num_docs != size or len(arrays[2]) < len(vocab):  # bm25s adds "" to the vocabulary, not to the matrix
            raise ValueError(f"bm25 index holds {num_docs} chunks and {len(arrays[2]) - 1} terms, "
                             f"the generation lists {size} chunks and its vocabulary {len(vocab)} terms")
        data, indices, indptr = arrays
        return cls(data, indices, indptr, vocab, size, params.get("dtype", "float32"), nonoccurrence)

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every chunk for the query term ids (repeats count again), as bm25s computes them."""
        scores = np.zeros(self.size, dtype=self._dtype)
        for term in ids:
            start, end = self._indptr[term], self._indptr[term + 1]
            np.add.at(scores, self._indices[start:end], self._data[start:end])
        if self._nonoccurrence is not None:
            scores += self._nonoccurrence[np.asarray(ids, dtype=np.int64)].sum()
        return scores

    def document_frequency(self, term: str) -> int:
        """Number of chunks holding `term` (0 for a term the index does not know)."""
        term_id = self.vocab.get(term)
        if term_id is None or term == EMPTY:
            return 0
        return int(self._indptr[term_id + 1] - self._indptr[term_id])

    def search(self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk position, score) best first; `allowed` is a 0/1 mask over chunk positions."""
        vocab = self.vocab
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids or self.size == 0:
            return []
        scores = self.scores(ids)
        if allowed is not None:
            scores = scores * allowed
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def _save_empty(folder: Path) -> None:
    """The files `load` reads, for an index of no chunks."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in ((DATA, np.zeros(0, np.float32)), (INDICES, np.zeros(0, np.int32)), (INDPTR, np.zeros(1, np.int64))):
        np.save(folder / name, array)
    (folder / VOCAB).write_text("{}", encoding="utf-8")
    (folder / PARAMS).write_text(json.dumps({"num_docs": 0, "dtype": "float32"}), encoding="utf-8")


def _tokenized(corpus: list[list[str]]):  # type: ignore[no-untyped-def]
    import bm25s

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def _backend() -> str:
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"
