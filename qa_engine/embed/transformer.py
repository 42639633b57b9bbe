"""Any sentence-transformers model by local path, hub id in the local cache or alias (e.g. BAAI/bge-small-zh-v1.5,
e5-small: see qa_engine/model_paths.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa_engine.embed.base import embedding_dim as _embedding_dim
from qa_engine.embed.base import l2_normalise
from qa_engine.errors import ConfigError
from qa_engine.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
E5_NAME = re.compile(r"(^|[/_-])e5([/_-]|$)")  # E5 models embed "query: ..." and "passage: ..."


class SentenceTransformerEmbedder:
    """Loads on construction from the folder `resolve_model_path` finds; never downloads."""

    def __init__(self, model_name_or_path: str, query_prefix: str | None = None, batch_size: int = 32,
                 settings: Settings | None = None) -> None:
        self.model_id = model_name_or_path
        self.query_prefix = query_prefix if query_prefix is not None else _default_prefix(model_name_or_path)
        self.passage_prefix = "passage: " if E5_NAME.search(model_name_or_path.lower()) else ""
        self.batch_size = batch_size
        self.settings = settings or Settings()
        self._model: SentenceTransformer | None = None
        self.dim = 0
        self.warm_up()

    def warm_up(self) -> None:
        from sentence_transformers import SentenceTransformer

        from qa_engine.model_paths import resolve_model_path

        try:
            self._model = SentenceTransformer(str(resolve_model_path(self.model_id, self.settings)), device="cpu")
        except (ConfigError, OSError, ValueError) as exc:
            raise ConfigError(f"cannot load embedding model {self.model_id!r}: {exc}") from exc
        self.dim = _embedding_dim(self._model)

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        assert self._model is not None
        prefix = self.query_prefix if query else self.passage_prefix
        inputs = [prefix + t for t in texts] if prefix else list(texts)
        vectors = self._model.encode(inputs, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        return l2_normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim))


def _default_prefix(model_id: str) -> str:
    lowered = model_id.lower()
    if E5_NAME.search(lowered):
        return "query: "
    return BGE_ZH_QUERY_INSTRUCTION if "bge" in lowered and "zh" in lowered else ""
