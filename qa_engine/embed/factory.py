"""Resolve the configured embedder: 'static' (trained on the corpus, offline), 'none', or a model id/path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.base import Embedder
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

    return SentenceTransformerEmbedder(settings.embedder)


def load_embedder(folder: Path, embedder_id: str, tokenizer: FinanceTokenizer) -> Embedder | None:
    """The embedder an index was built with, from its manifest id; None for 'none' or a missing static model."""
    if embedder_id == "none":
        return None
    if embedder_id.startswith("static:"):
        from qa_engine.embed.static import StaticCorpusEmbedder

        model_dir = folder / embedder_id.split(":", 1)[1]
        return StaticCorpusEmbedder(model_dir, tokenizer) if model_dir.is_dir() else None
    from qa_engine.embed.transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(embedder_id)
