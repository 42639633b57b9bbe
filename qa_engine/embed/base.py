"""The Embedder protocol: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """`model_id` names the model in the index manifest; opening with another one is an error."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray: ...


@runtime_checkable
class TokenEmbedder(Embedder, Protocol):
    """An embedder that can take texts already split by the index's tokenizer."""

    def encode_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray: ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def embedding_dim(model) -> int:  # type: ignore[no-untyped-def]
    """The output size of a SentenceTransformer (method renamed across releases)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter() or 0)
