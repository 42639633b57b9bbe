"""FAISS inner-product index over normalised chunk vectors: exact below a size threshold, HNSW above."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

HNSW_M = 32
HNSW_EF_SEARCH = 128

faiss.omp_set_num_threads(1)  # one query at a time is memory-bound: extra threads only add overhead


class DenseIndex:
    """Row i of the FAISS index is chunk position i of the generation."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index
        self.size = int(index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int) -> "DenseIndex":
        dim = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
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
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
        scores, ids = self._index.search(vector.reshape(1, -1).astype(np.float32), min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
