"""A sentence encoder for the neural reader: a pretrained XLM-R/E5 checkpoint (a local Hugging Face folder),
optionally with a trained LoRA adapter, mean-pooled and L2-normalised, with E5's "query: "/"passage: " prefixes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_engine.errors import ConfigError

if TYPE_CHECKING:
    import torch

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class SentenceEncoder:
    """`encode_queries` / `encode_passages` → unit vectors; `forward` gives the torch tensors for training."""

    def __init__(self, base: Path, adapter: Path | None = None, max_tokens: int = 128, trainable: bool = False) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.max_tokens = max_tokens
        # a fast tokenizer with truncation set is not safe to call from two threads at once ("Already
        # borrowed"), and two concurrent forward passes on 2 cores only slow each other down
        self._lock = threading.Lock()
        self.tokenizer = AutoTokenizer.from_pretrained(str(base))
        model = AutoModel.from_pretrained(str(base))
        self.model = _with_adapter(model, adapter, trainable)
        self.model.train(trainable)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Return unit vectors (texts × hidden) with gradients when the model is trainable."""
        import torch

        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                               return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([QUERY_PREFIX + t for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([PASSAGE_PREFIX + t for t in texts])

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with self._lock, torch.inference_mode():
            return self.forward(texts).numpy()


def _with_adapter(model: Any, adapter: Path | None, trainable: bool) -> Any:
    """Return the model with the LoRA adapter applied: kept separate to train, merged to serve."""
    if adapter is None:
        return model
    try:
        from peft import PeftModel
    except ImportError as exc:  # pragma: no cover - peft is a dependency
        raise ConfigError("the neural reader needs peft: pip install peft") from exc
    if not (adapter / "adapter_config.json").exists():
        raise ConfigError(f"no LoRA adapter in {adapter.name}: train one with `python -m qa_engine.eval.train_neural`")
    peft_model = PeftModel.from_pretrained(model, str(adapter), is_trainable=trainable)
    return peft_model if trainable else peft_model.merge_and_unload()
