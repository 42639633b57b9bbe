"""Optional cross-encoder reranking (sentence-transformers CrossEncoder, any model id or local path)."""

from __future__ import annotations

from collections.abc import Sequence

from qa_engine.errors import ConfigError


class CrossEncoderReranker:
    """Scores (query, passage) pairs; loaded once, on construction."""

    def __init__(self, model_name_or_path: str, max_length: int = 512) -> None:
        from sentence_transformers import CrossEncoder

        self.model_id = model_name_or_path
        try:
            self._model = CrossEncoder(model_name_or_path, device="cpu", max_length=max_length)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load reranker {model_name_or_path!r}: {exc}") from exc

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        raw = self._model.predict([(query, p) for p in passages], convert_to_numpy=True, show_progress_bar=False)
        return [float(s) for s in raw.reshape(len(passages), -1)[:, -1]]
