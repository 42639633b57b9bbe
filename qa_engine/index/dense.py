"""FAISS inner-product index over normalised chunk vectors: exact below a size threshold, HNSW above."""

from __future__ import annotations

import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss

HNSW_M = 32
HNSW_EF_SEARCH = 128


def _faiss() -> ModuleType:
    """faiss, imported on first use (a BM25-only process never needs it)."""
    import faiss

    faiss.omp_set_num_threads(1)  # one query at a time is memory-bound: extra threads only add overhead
    return faiss


class DenseIndex:
    """Row i of the FAISS index is chunk position i of the generation."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index
        self.size = int(index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int) -> DenseIndex:
        faiss = _faiss()
        dim = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        faiss = _faiss()
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index)

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk position, cosine) best first, limited to positions where `allowed` is 1."""
        if self.size == 0:
            return []
        params = None
        if allowed is not None:
            ids = np.flatnonzero(allowed).astype(np.int64)
            if len(ids) == 0:
                return []
            faiss = _faiss()
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
        scores, ids = self._index.search(vector.reshape(1, -1).astype(np.float32), min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class LazyDenseIndex:
    """A DenseIndex read from its file on the first search: BM25-only engines never import faiss nor hold the
    vectors. A file that cannot be read then raises IndexCorruptError, as an eager load does at open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: DenseIndex | None = None
        self._lock = threading.Lock()

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self.loaded().search(vector, k, allowed)

    @property
    def size(self) -> int:
        return self.loaded().size

    @property
    def _index(self) -> faiss.Index:
        return self.loaded()._index

    def loaded(self) -> DenseIndex:
        with self._lock:
            if self._loaded is None:
                from qa_engine.index.generation import DAMAGED, damaged

                try:
                    self._loaded = DenseIndex.load(self.path)
                except DAMAGED as exc:
                    raise damaged(self.path.parent, exc) from exc
            return self._loaded
