"""Optional cross-encoder reranking (sentence-transformers CrossEncoder: a local path or a hub id in the local
cache, see qa_engine/model_paths.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from qa_engine.errors import ConfigError
from qa_engine.settings import Settings


class Reranker(Protocol):
    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        """One relevance score per passage (higher: more relevant to `query`)."""
        ...


class CrossEncoderReranker:
    """Scores (query, passage) pairs; loaded once, on construction."""

    def __init__(self, model_name_or_path: str, max_length: int = 512, settings: Settings | None = None) -> None:
        from sentence_transformers import CrossEncoder

        from qa_engine.model_paths import resolve_model_path

        self.model_id = model_name_or_path
        try:
            folder = resolve_model_path(model_name_or_path, settings or Settings())
            self._model = CrossEncoder(str(folder), device="cpu", max_length=max_length)
        except (ConfigError, OSError, ValueError) as exc:
            raise ConfigError(f"cannot load reranker {model_name_or_path!r}: {exc}") from exc

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        raw = self._model.predict([(query, p) for p in passages], convert_to_numpy=True, show_progress_bar=False)
        return [float(s) for s in raw.reshape(len(passages), -1)[:, -1]]
