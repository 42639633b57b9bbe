"""Any sentence-transformers model by id or local path (e.g. BAAI/bge-small-zh-v1.5, BAAI/bge-m3)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa_engine.embed.base import embedding_dim as _embedding_dim
from qa_engine.embed.base import l2_normalise
from qa_engine.errors import ConfigError

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："


class SentenceTransformerEmbedder:
    """Loads lazily on first use; never downloads when the hub is offline (HF_HUB_OFFLINE is honoured)."""

    def __init__(self, model_name_or_path: str, query_prefix: str | None = None, batch_size: int = 32) -> None:
        self.model_id = model_name_or_path
        self.query_prefix = query_prefix if query_prefix is not None else _default_prefix(model_name_or_path)
        self.batch_size = batch_size
        self._model = None
        self.dim = 0
        self.warm_up()

    def warm_up(self) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(self.model_id, device="cpu")
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot load embedding model {self.model_id!r}: {exc}. Give a local folder path or pre-download it."
            ) from exc
        self.dim = _embedding_dim(self._model)

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        assert self._model is not None
        inputs = [self.query_prefix + t for t in texts] if query and self.query_prefix else list(texts)
        vectors = self._model.encode(inputs, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        return l2_normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim))


def _default_prefix(model_id: str) -> str:
    lowered = model_id.lower()
    return BGE_ZH_QUERY_INSTRUCTION if "bge" in lowered and "zh" in lowered else ""
