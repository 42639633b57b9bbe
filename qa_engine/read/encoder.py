"""A sentence encoder for the neural reader: a pretrained XLM-R/E5 checkpoint (a local Hugging Face folder),
optionally with a trained LoRA adapter, mean-pooled and L2-normalised, with E5's "query: "/"passage: " prefixes.
The torch encoder trains; serving runs the same model exported to ONNX (`read/onnx_encoder.py`)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_engine.errors import ConfigError
from qa_engine.read.spm_tokenizer import CORE_FILE, CORE_IDS_FILE, SPM_FILE, SentencePieceTokenizer

if TYPE_CHECKING:
    import torch

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                   "sentencepiece.bpe.model", SPM_FILE, CORE_FILE, CORE_IDS_FILE)


class PrefixedEncoder:
    """`encode_queries` / `encode_passages` → unit vectors (rows), E5's prefixes added; `_encode` runs the model.
    One pass at a time: two concurrent forward passes on 2 cores only slow each other down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._locked([QUERY_PREFIX + t for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._locked([PASSAGE_PREFIX + t for t in texts])

    def _locked(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        raise NotImplementedError


class SentenceEncoder(PrefixedEncoder):
    """The torch encoder; `forward` gives the tensors with gradients for training."""

    def __init__(self, base: Path, adapter: Path | None = None, max_tokens: int = 128, trainable: bool = False) -> None:
        from transformers import AutoModel

        super().__init__()
        self.max_tokens = max_tokens
        self.tokenizer = load_tokenizer(base, max_tokens)
        self.model = _with_adapter(AutoModel.from_pretrained(str(base)), adapter, trainable)
        self.model.train(trainable)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Return unit vectors (texts × hidden) with gradients when the model is trainable."""
        import torch

        batch = {name: torch.from_numpy(ids) for name, ids in self.tokenizer(texts).items()}
        return mean_pooled(self.model(**batch).last_hidden_state, batch["attention_mask"])

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.forward(texts).numpy()


def mean_pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real tokens' states, L2-normalised (E5's sentence vector)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


class FastTokenizer:
    """A folder's tokenizer.json read by `tokenizers` itself: the same ids as transformers' tokenizer class over
    that file, loaded in 0.75 s instead of 4 s (transformers rebuilds XLM-R's 250k-piece vocabulary)."""

    def __init__(self, folder: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        pad = _special_token(folder, "pad_token") or "<pad>"
        pad_id = self._tokenizer.token_to_id(pad)
        if pad_id is None:
            raise ConfigError(f"the tokenizer of {folder.name} has no padding token {pad!r}")
        # set once here: changing truncation or padding per call is what makes a shared tokenizer unsafe
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad)

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = self._tokenizer.encode_batch(list(texts))
        return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}


def _special_token(folder: Path, name: str) -> str | None:
    try:
        value = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8")).get(name)
    except (OSError, ValueError):
        return None
    return value.get("content") if isinstance(value, dict) else value


def copy_tokenizer_files(source: Path, folder: Path) -> None:
    """Copy the tokenizer files of the model folder `source` that exist into `folder`."""
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, folder / name)


def load_tokenizer(folder: Path, max_tokens: int) -> Any:
    """A callable texts → {input_ids, attention_mask} int64 arrays, padded and truncated to `max_tokens`: the
    folder's checked SentencePiece copy where it has one (spm_tokenizer.py), else its tokenizer.json."""
    if (folder / "tokenizer.json").exists():
        if (folder / SPM_FILE).exists():
            try:
                return SentencePieceTokenizer.load(folder, max_tokens, cache(lambda: FastTokenizer(folder, max_tokens)))
            except (ImportError, OSError, RuntimeError):
                pass  # no sentencepiece, or a file it cannot read: tokenizer.json gives the same ids
        return FastTokenizer(folder, max_tokens)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))

    def tokenize(texts: Sequence[str]) -> dict[str, np.ndarray]:
        batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_tokens, return_tensors="np")
        return {name: batch[name].astype(np.int64) for name in ("input_ids", "attention_mask")}

    return tokenize


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
