"""The neural reader's encoder as a process serves it: the adapter merged into the base and exported to ONNX
in the model cache (found, or made, once), loaded once and shared by every engine and server thread, its
passage vectors kept beside its files (read/passage_vectors.py)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa_engine.read.encoder import PrefixedEncoder, SentenceEncoder
from qa_engine.read.merged import merged_model_folder
from qa_engine.read.onnx_encoder import MODEL_FILE, OnnxSentenceEncoder, onnx_model_folder
from qa_engine.read.passage_vectors import FILE_NAME as VECTORS_FILE
from qa_engine.read.passage_vectors import CachedPassageEncoder, PassageVectorTable
from qa_engine.read.session_preload import remember_served

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderSpec:
    """Which encoder to serve: a base model folder, the adapter trained on it, and how to run it."""

    base: Path
    adapter: Path
    max_tokens: int
    cache_dir: Path
    runtime: str  # Settings.neural_runtime
    vector_cache_mb: int  # Settings.reader_vector_cache_mb; 0: no passage vectors kept


@dataclass(frozen=True)
class EncoderFiles:
    """Where the served encoder's files are: `merged` None when the cache cannot be written (torch merges the
    adapter in memory); `exported` None unless an ONNX runtime serves it."""

    merged: Path | None
    exported: Path | None


@lru_cache(maxsize=4)
def locate_encoder(spec: EncoderSpec) -> EncoderFiles:
    """The served encoder's folders in the model cache, merged and exported now when missing; with an ONNX
    runtime, onnxruntime imported (a first question loads the encoder in a thread, and these steps need the GIL
    its segmenter then holds)."""
    try:
        merged = merged_model_folder(spec.base, spec.adapter, spec.cache_dir)
    except OSError as exc:
        logger.warning("no merged copy of the neural reader in %s (%s): merging it in memory", spec.cache_dir, exc)
        return EncoderFiles(None, None)
    if spec.runtime == "torch":
        return EncoderFiles(merged, None)
    try:
        import onnxruntime  # noqa: F401

        exported = onnx_model_folder(merged, spec.cache_dir, quantized=spec.runtime == "onnx-int8")
    except (OSError, ImportError, RuntimeError) as exc:  # no onnxruntime / onnx, or an export that failed
        logger.warning("the neural reader runs on torch: no ONNX export of it (%s)", exc)
        return EncoderFiles(merged, None)
    return EncoderFiles(merged, exported)


def shared_encoder(spec: EncoderSpec) -> PrefixedEncoder:
    """One encoder per spec in a process (inference only, so sharing is safe) instead of 470 MB of weights per
    engine or thread; its passage vectors kept beside its files unless `spec.vector_cache_mb` is 0. Callers that
    ask for it at once (engines over two index generations, a warm-up and a question) wait for one load."""
    with _LOCKS_GUARD:
        lock = _SPEC_LOCKS.setdefault(spec, threading.Lock())
    with lock:
        return _loaded_encoder(spec)


def forget_loaded_encoders() -> None:
    """Drop the encoders loaded and the files located so far (the next question loads them again)."""
    _loaded_encoder.cache_clear()
    locate_encoder.cache_clear()


_LOCKS_GUARD = threading.Lock()
_SPEC_LOCKS: dict[EncoderSpec, threading.Lock] = {}


@lru_cache(maxsize=4)
def _loaded_encoder(spec: EncoderSpec) -> PrefixedEncoder:
    encoder, folder = _load(spec, locate_encoder(spec))
    if folder is None or spec.vector_cache_mb <= 0:
        return encoder
    table = PassageVectorTable(folder / VECTORS_FILE, encoder.dimension, spec.vector_cache_mb << 20)
    return CachedPassageEncoder(encoder, table, spec.max_tokens)


def _load(spec: EncoderSpec, files: EncoderFiles) -> tuple[PrefixedEncoder, Path | None]:
    """The encoder and the folder of the files it was loaded from (None: merged in memory)."""
    if files.merged is None:
        return SentenceEncoder(spec.base, spec.adapter, spec.max_tokens), None
    if files.exported is not None:
        try:
            encoder = OnnxSentenceEncoder(files.exported, spec.max_tokens)
            remember_served(spec.cache_dir, spec.runtime, files.exported / MODEL_FILE)
            return encoder, files.exported
        except (OSError, ImportError, RuntimeError) as exc:  # an export onnxruntime cannot load
            logger.warning("the neural reader runs on torch: its ONNX export did not load (%s)", exc)
    return SentenceEncoder(files.merged, None, spec.max_tokens), files.merged
