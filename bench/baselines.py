"""The baselines every bench measures beside the engine, in the same run.

RankBM25Search  jieba.lcut + rank_bm25.BM25Okapi (a Python loop per document: the slow, classic baseline).
BM25sSearch     what a good engineer writes with bm25s: jieba.lcut + bm25s top-k (numba when installed).
naive_answer    BM25sSearch's top passages, then the sentence sharing most query words: a naive `ask`.
naive_build     the same work as an ingest, naively: read every file, normalise (NFKC, whitespace), cut into
                paragraph-aligned windows, jieba.lcut, bm25s index, save to disk.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the naive builds time their own imports: they must not pay the engine's
    from qa_engine import Engine
    from qa_engine.models import Chunk

SENTENCE_END = re.compile(r"(?<=[。！？；!?])")
WINDOW_CHARS = 400  # naive chunks: paragraphs joined up to this many characters (about the engine's 160 words)
SUFFIXES = {".txt", ".md"}


def generation_chunks(engine: Engine) -> list[Chunk]:
    """The engine's chunks in its generation's order, read from its store: the texts the baselines index, at the
    positions our BM25 ranks."""
    from qa_engine.index.writer import STORE_FILE
    from qa_engine.store.sqlite_store import SQLiteStore

    store = SQLiteStore(engine.index_dir / STORE_FILE, read_only=True)
    try:
        by_id = {c.chunk_id: c for c in store.chunks(with_tokens=False)}
    finally:
        store.close()
    positions = engine._snapshot.by_position  # the baselines compare against the local backend
    return [by_id[positions.chunk_id(p)] for p in range(len(positions))]


def naive_tokens(text: str) -> list[str]:
    """jieba.lcut (global dictionary, HMM on), lower-cased, punctuation and spaces dropped."""
    import jieba

    return [w.lower() for w in jieba.lcut(text) if w.strip() and any(ch.isalnum() for ch in w)]


def timed_build(texts: list[str], tokens: list[list[str]] | None,
                index: Callable[[list[list[str]]], None]) -> dict[str, float]:
    """Load jieba, tokenise the texts (unless `tokens` are given), run `index` on them; return each step's time."""
    import jieba

    t0 = time.perf_counter()
    jieba.initialize()
    t1 = time.perf_counter()
    corpus = tokens if tokens is not None else [naive_tokens(text) or ["<empty>"] for text in texts]
    t2 = time.perf_counter()
    index(corpus)
    t3 = time.perf_counter()
    return {"jieba_init_s": round(t1 - t0, 3), "tokenize_s": round(t2 - t1, 3), "index_s": round(t3 - t2, 3),
            "total_s": round(t3 - t0, 3), "chars": sum(len(t) for t in texts)}


class RankBM25Search:
    """jieba.lcut + rank_bm25.BM25Okapi; a query is lcut + get_scores + top k by argpartition."""

    name = "rank_bm25"

    def __init__(self, texts: list[str], tokens: list[list[str]] | None = None) -> None:
        from rank_bm25 import BM25Okapi

        def index(corpus: list[list[str]]) -> None:
            self.tokens = corpus
            self._bm25 = BM25Okapi(corpus)

        self.build_times = timed_build(texts, tokens, index)

    def search(self, query: str, k: int) -> list[int]:
        scores = self._bm25.get_scores(naive_tokens(query))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return [int(i) for i in top[np.argsort(-scores[top])]]


class BM25sSearch:
    """jieba.lcut + bm25s (its default BM25, numba backend when installed); a query is lcut + retrieve top k."""

    name = "bm25s"

    def __init__(self, texts: list[str], tokens: list[list[str]] | None = None) -> None:
        import bm25s

        def index(corpus: list[list[str]]) -> None:
            self._bm25 = bm25s.BM25(backend=_bm25s_backend())
            self._bm25.index(_tokenized(corpus), show_progress=False)
            self._vocab = self._bm25.vocab_dict

        self.texts = texts
        self.build_times = timed_build(texts, tokens, index)

    def search(self, query: str, k: int) -> list[int]:
        ids = [self._vocab[t] for t in naive_tokens(query) if t in self._vocab]
        if not ids:
            return []
        scores = self._bm25.get_scores(ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return [int(i) for i in top[np.argsort(-scores[top])] if scores[i] > 0]

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder))


def naive_answer(search: BM25sSearch, question: str, k: int = 5) -> str | None:
    """The sentence of the top-k passages that shares the most distinct words with the question."""
    words = set(naive_tokens(question))
    best, best_overlap = None, 0
    for position in search.search(question, k):
        for sentence in SENTENCE_END.split(search.texts[position]):
            overlap = len(words & set(naive_tokens(sentence)))
            if overlap > best_overlap:
                best, best_overlap = sentence.strip(), overlap
    return best


@dataclass(frozen=True)
class NaiveBuild:
    files: int
    chunks: int
    chars: int
    seconds: dict[str, float]


def naive_build(corpus: Path, out: Path) -> NaiveBuild:
    """Reads, normalises, chunks, tokenises and indexes `corpus` the naive way; saves the index to `out`."""
    t0 = time.perf_counter()
    texts = [_read(p) for p in sorted(corpus.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES]
    t1 = time.perf_counter()
    chunks = [window for text in texts for window in _windows(_normalise(text))]
    t2 = time.perf_counter()
    import jieba

    jieba.initialize()
    tokens = [naive_tokens(chunk) or ["<empty>"] for chunk in chunks]
    t3 = time.perf_counter()
    index = BM25sSearch(chunks, tokens)
    t4 = time.perf_counter()
    index.save(out)
    t5 = time.perf_counter()
    seconds = {"read": t1 - t0, "normalise_chunk": t2 - t1, "tokenise": t3 - t2, "index": t4 - t3, "save": t5 - t4,
               "total": t5 - t0}
    return NaiveBuild(len(texts), len(chunks), sum(map(len, texts)), {k: round(v, 3) for k, v in seconds.items()})


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _windows(text: str) -> list[str]:
    windows, current = [], ""
    for paragraph in text.split("\n"):
        if current and len(current) + len(paragraph) > WINDOW_CHARS:
            windows.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph
    return windows + ([current] if current else [])


def _tokenized(corpus: list[list[str]]):  # type: ignore[no-untyped-def]
    import bm25s

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def _bm25s_backend() -> str:
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"
