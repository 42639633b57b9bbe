"""BM25 over jieba search terms, in bm25s's format: the index is bm25s's "lucene" matrix, built here with numpy.

bm25s stores every (term, chunk) BM25 score in a CSC matrix (`data`, `indices`, `indptr` .npy files), so a query's
scores are the sums of its terms' columns. The matrix is built here from one flat array of term ids (bm25s's own
builder wants a Python list of ids per chunk: 4 KB a chunk at its peak, too much for millions of chunks) and saved
in bm25s's files; tests/test_index_sparse.py checks the scores bit for bit against bm25s. Queries read the arrays
memory-mapped with numpy alone, which spares a query process the imports of bm25s, numba and scipy (0.5 s of
start-up) and keeps the matrix out of its heap; the sums are bm25s's own (`BM25.get_scores`: one `np.add.at` per
term, in query order, float32).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

DATA, INDICES, INDPTR = "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"
VOCAB, PARAMS, NONOCCURRENCE = "vocab.index.json", "params.index.json", "nonoccurrence_array.index.npy"
TERMS, SEPARATOR = "terms.txt", "\0"  # the vocabulary in column order (ours; bm25s reads VOCAB)
EMPTY = "<empty>"  # the one term of a chunk without search terms (as bm25s needs one): not a corpus term
BLOCK_CHUNKS = 20_000  # chunks counted at once
BLOCK_PAIRS = 2_000_000  # (chunk, term) pairs scored at once


class SparseIndex:
    """A bm25s index whose document i is chunk i of the generation."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int],
                 size: int, dtype: str = "float32", nonoccurrence: np.ndarray | None = None,
                 params: dict[str, object] | None = None) -> None:
        self._data, self._indices, self._indptr = data, indices, indptr
        self.vocab = vocab  # term → column of the matrix
        self.size = size
        self._dtype = np.dtype(dtype)
        self._nonoccurrence = nonoccurrence
        self._params = params or {}  # k1 and b, written by `save`

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float, b: float) -> SparseIndex:
        """bm25s's index of `token_lists` (method "lucene", float32), computed from one flat array of term ids.

        bm25s builds the same matrix from a Python list of term ids per document, which costs about 4 KB a chunk at
        the peak; the arrays here cost about 30 bytes a term occurrence (checked equal by tests/test_index_sparse)."""
        if not token_lists:  # every document removed: nothing to index
            return cls(np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int64), {}, 0)
        vocab, ids, lengths = _term_ids(token_lists)
        rows, cols, freqs = _term_counts(ids, lengths, len(vocab))
        del ids
        data = _lucene_scores(rows, cols, freqs, lengths, len(vocab), k1, b)
        del freqs
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(np.bincount(cols, minlength=len(vocab)), out=indptr[1:])
        order = np.argsort(cols, kind="stable")  # by term, then chunk (rows are in chunk order already)
        del cols
        data, rows = data[order], rows[order]
        return cls(data, rows, indptr, vocab, len(token_lists), params={"k1": k1, "b": b})

    def save(self, folder: Path) -> None:
        """Writes the files bm25s's `BM25.save` writes (so `bm25s.BM25.load` reads them too)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in ((DATA, self._data), (INDICES, self._indices), (INDPTR, self._indptr)):
            np.save(folder / name, np.asarray(array))
        vocab = dict(self.vocab)
        vocab.setdefault("", len(vocab))  # bm25s's empty query term: in the vocabulary, not in the matrix
        (folder / VOCAB).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        _save_terms(folder, self.vocab)
        params = {**self._params, "delta": 0.5, "method": "lucene", "idf_method": "lucene",
                  "dtype": "float32", "int_dtype": "int32", "num_docs": self.size, "backend": "numpy"}
        (folder / PARAMS).write_text(json.dumps(params, indent=4), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, size: int) -> SparseIndex:
        """The index bm25s saved in `folder`, its arrays memory-mapped (read-only)."""
        params = json.loads((folder / PARAMS).read_text(encoding="utf-8"))
        arrays = [np.load(folder / name, mmap_mode="r") for name in (DATA, INDICES, INDPTR)]
        nonoccurrence = np.load(folder / NONOCCURRENCE) if (folder / NONOCCURRENCE).exists() else None
        num_docs, columns = int(params.get("num_docs", size)), len(arrays[2]) - 1
        vocab = _load_terms(folder, columns)
        if num_docs != size or len(vocab) > columns:
            raise ValueError(f"bm25 index holds {num_docs} chunks and {columns} terms, "
                             f"the generation lists {size} chunks and its vocabulary {len(vocab)} terms")
        data, indices, indptr = arrays
        return cls(data, indices, indptr, vocab, size, params.get("dtype", "float32"), nonoccurrence,
                   {key: params[key] for key in ("k1", "b") if key in params})

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
        # only chunks holding a query term score above 0: ranking those alone is what keeps a search at 1.6M
        # chunks from being one partition of every score (13 ms)
        held = np.flatnonzero(scores > 0)
        held_scores = scores[held]
        if len(held) > k:
            best = np.argpartition(-held_scores, k - 1)[:k]
            held, held_scores = held[best], held_scores[best]
        order = np.lexsort((held, -held_scores))  # best first; ties by position, so the order is reproducible
        return [(int(held[i]), float(held_scores[i])) for i in order]


def _save_terms(folder: Path, vocab: Mapping[str, int]) -> None:
    """The vocabulary again as its terms in column order, one string split on NUL: read 5–6 times faster than
    bm25s's JSON (2 s for 2M terms). Not written when a term holds the separator (the JSON is read then)."""
    terms = sorted(vocab, key=vocab.__getitem__)
    dense = not terms or vocab[terms[-1]] == len(terms) - 1  # the ids are distinct: the last one tells
    if not dense or any(SEPARATOR in t for t in terms):
        (folder / TERMS).unlink(missing_ok=True)
        return
    (folder / TERMS).write_text(SEPARATOR.join(terms), encoding="utf-8")


def _load_terms(folder: Path, columns: int) -> dict[str, int]:
    """Term → column, from the terms file, else from bm25s's JSON (its "" term has no column: left out)."""
    if (folder / TERMS).exists():
        text = (folder / TERMS).read_text(encoding="utf-8")
        terms = text.split(SEPARATOR) if text else []
        if len(terms) != columns:
            raise ValueError(f"{TERMS} lists {len(terms)} terms, the matrix has {columns}")
        return dict(zip(terms, range(columns), strict=True))
    vocab: dict[str, int] = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
    if vocab and max(vocab.values()) >= columns:
        vocab = {t: i for t, i in vocab.items() if i < columns}
    return vocab


def _term_ids(token_lists: Sequence[Sequence[str]]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(vocabulary in order of first use, every chunk's term ids end to end, each chunk's term count)."""
    vocab: dict[str, int] = {}
    lengths = np.fromiter((len(tokens) or 1 for tokens in token_lists), np.int64, len(token_lists))
    terms = (term for tokens in token_lists for term in (tokens or (EMPTY,)))
    ids = np.fromiter((vocab.setdefault(term, len(vocab)) for term in terms), np.int32, int(lengths.sum()))
    return vocab, ids, lengths


def _term_counts(ids: np.ndarray, lengths: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chunk, term, count) of every distinct term of every chunk, by chunk then term; in blocks of chunks so
    that the 64-bit sort keys never cover the whole corpus at once."""
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    freqs: list[np.ndarray] = []
    ends = np.cumsum(lengths)
    for first in range(0, len(lengths), BLOCK_CHUNKS):
        last = min(first + BLOCK_CHUNKS, len(lengths))
        start, end = int(ends[first] - lengths[first]), int(ends[last - 1])
        chunk_of = np.repeat(np.arange(first, last, dtype=np.int64), lengths[first:last])
        keys, counts = np.unique(chunk_of * vocab_size + ids[start:end], return_counts=True)
        rows.append((keys // vocab_size).astype(np.int32))
        cols.append((keys % vocab_size).astype(np.int32))
        freqs.append(counts.astype(np.float32))
    return _joined(rows), _joined(cols), _joined(freqs)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts end to end, each freed once copied (the peak is one part over the result, not the parts twice)."""
    out = np.empty(sum(len(p) for p in parts), parts[0].dtype)
    at = 0
    while parts:
        part = parts.pop(0)
        out[at : at + len(part)] = part
        at += len(part)
    return out


def _lucene_scores(rows: np.ndarray, cols: np.ndarray, freqs: np.ndarray, lengths: np.ndarray, vocab_size: int,
                   k1: float, b: float) -> np.ndarray:
    """bm25s's "lucene" score of each (chunk, term) pair, with its operations in its order and types (float32
    idf and counts, float64 length norm), so that the float32 results are bit for bit its own."""
    n_docs = len(lengths)
    df = np.bincount(cols, minlength=vocab_size)
    idf = np.array([math.log(1 + (n_docs - f + 0.5) / (f + 0.5)) for f in df.tolist()], np.float32)
    avg_len = lengths.mean()
    data = np.empty(len(rows), np.float32)
    for start in range(0, len(rows), BLOCK_PAIRS):
        part = slice(start, start + BLOCK_PAIRS)
        norm = k1 * ((1 - b) + b * lengths[rows[part]].astype(np.float64) / avg_len)
        tf = freqs[part].astype(np.float64)
        data[part] = idf[cols[part]] * (tf / (norm + tf))
    return data
