"""Resolve the configured embedder: 'static' (trained on the corpus, offline), 'none', or a model id/path."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.base import Embedder, TokenEmbedder
from qa_engine.errors import ConfigError
from qa_engine.models import Chunk
from qa_engine.settings import Settings

EMBEDDER_DIR = "embedder"


def prepare_embedder(
    folder: Path, settings: Settings, token_lists: Sequence[Sequence[str]], tokenizer: FinanceTokenizer
) -> Embedder:
    """The embedder for a (re)build: trains the static model on `token_lists`, or loads the configured model."""
    if settings.embedder == "static":
        from qa_engine.embed.static import StaticCorpusEmbedder, train_static_embedder

        folder.mkdir(parents=True, exist_ok=True)
        return StaticCorpusEmbedder(train_static_embedder(token_lists, settings.embed_dim, folder), tokenizer)
    from qa_engine.embed.transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embedder, settings=settings)


def load_embedder(folder: Path, embedder_id: str, tokenizer: FinanceTokenizer,
                  settings: Settings | None = None) -> Embedder | None:
    """The embedder an index was built with, from its manifest id; None for 'none' or a missing static model."""
    if embedder_id == "none":
        return None
    if embedder_id.startswith("static:"):
        from qa_engine.embed.static import StaticCorpusEmbedder

        model_dir = folder / embedder_id.split(":", 1)[1]
        return StaticCorpusEmbedder(model_dir, tokenizer) if model_dir.is_dir() else None
    from qa_engine.embed.transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(embedder_id, settings=settings)


class LazyEmbedder:
    """Loads the model on the first `encode`: engines that only run BM25 never import sentence-transformers
    (about 6 s of start-up on 2 cores)."""

    def __init__(self, model_id: str, dim: int, load: Callable[[], Embedder | None]) -> None:
        self.model_id, self.dim = model_id, dim
        self._load = load
        self._model: Embedder | None = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        with self._lock:
            if self._model is None:
                self._model = self._load()
                if self._model is None:
                    raise ConfigError(f"embedder {self.model_id!r} of this index is missing: rebuild with "
                                      "`qa-engine ingest --rebuild PATH`")
        return self._model.encode(texts, query=query)


def open_embedder(folder: Path, embedder_id: str, dim: int, tokenizer: FinanceTokenizer,
                  settings: Settings | None = None) -> Embedder | None:
    """The index's embedder for queries, loaded on first use; None when the index has no dense vectors."""
    if embedder_id == "none":
        return None
    if embedder_id.startswith("static:") and not (folder / embedder_id.split(":", 1)[1]).is_dir():
        return None
    return LazyEmbedder(embedder_id, dim, lambda: load_embedder(folder, embedder_id, tokenizer, settings))


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> np.ndarray:
    """Vectors for chunks; an embedder that takes pre-split tokens reuses `Chunk.tokens` (no second jieba pass)."""
    if isinstance(embedder, TokenEmbedder):
        return embedder.encode_tokens([c.tokens for c in chunks])
    return embedder.encode([c.indexed_text() for c in chunks])
