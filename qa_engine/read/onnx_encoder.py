"""The neural reader's encoder served by onnxruntime: the merged model exported once to ONNX, mean pooling and
normalisation inside the graph, so that answering a question imports neither torch nor transformers (about 2.5 s
of a cold start on 2 cores). The vectors equal the torch encoder's (to 1e-6).

The word-embedding table (250,037 x 384 floats: 384 MB of the 470 MB model) is kept out of the graph in a .npy
file that is memory-mapped, so a question reads only its tokens' rows, and the session loads the remaining 86 MB
(1.2 s -> 0.3 s); the graph takes the looked-up rows. The graph is stored as onnxruntime optimises it, its
weights in a file beside it, which halves the session's load again (0.24 s -> 0.11 s). The session is made while
the tokenizer loads: the checked SentencePiece copy of tokenizer.json (read/spm_tokenizer.py) where the export
could write one."""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.cache_folder import built_once, read_record
from qa_engine.read import session_preload
from qa_engine.read.encoder import (
    FastTokenizer,
    PrefixedEncoder,
    copy_tokenizer_files,
    load_tokenizer,
    mean_pooled,
)
from qa_engine.read.session_preload import ONNX_DIR
from qa_engine.read.spm_tokenizer import PROBE_MAX_TOKENS, write_sentencepiece_copy

MODEL_FILE = "encoder.onnx"
WEIGHTS_FILE = MODEL_FILE + ".data"  # the optimised graph's weights
WORD_VECTORS_FILE = "word_embeddings.npy"
RECORD = "qa_engine_onnx.json"
# bump when the exported folder changes: older exports are made again (2: word table outside, 3: SentencePiece copy,
# 4: its core model, 5: the graph optimised, its weights beside it)
EXPORTER_VERSION = 5
INPUTS = ("token_vectors", "attention_mask")
OUTPUT = "vectors"
OPSET = 17
QUANTIZED_SUFFIX = "-int8"
LENGTH_GROUP = 4  # texts per encoder pass (12 sentences: 253 ms in one padded pass, 142 ms in groups of 4)


class OnnxSentenceEncoder(PrefixedEncoder):
    """Unit vectors from an exported encoder folder (see `onnx_model_folder`)."""

    def __init__(self, folder: Path, max_tokens: int = 128) -> None:
        import onnxruntime  # noqa: F401 - its absence is an ImportError here, not in the thread

        super().__init__()
        preloaded = session_preload.take(folder / MODEL_FILE)  # started while the command imported
        sessions: list[Any] = [] if preloaded is None else [preloaded]
        loading = None
        if not sessions:  # onnxruntime reads the graph while the tokenizer loads
            loading = threading.Thread(target=lambda: sessions.append(session_preload.new_session(folder / MODEL_FILE)))
            loading.start()
        try:
            self.tokenizer = load_tokenizer(folder, max_tokens)
            self._word_vectors = np.load(folder / WORD_VECTORS_FILE, mmap_mode="r")
        finally:
            if loading is not None:
                loading.join()
        if not sessions:
            raise RuntimeError(f"onnxruntime could not load {folder.name}/{MODEL_FILE}: run `qa-engine models prepare "
                               "neural-reader` again")
        self._session = sessions[0]

    @property
    def dimension(self) -> int:
        return int(self._word_vectors.shape[1])  # the hidden size: mean pooling keeps it

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """One pass per group of texts of about the same length, each cut to its longest: a question's candidate
        sentences run 10 to 128 tokens, and padding all of them to the longest made 60% of the work."""
        batch = self.tokenizer(texts)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        lengths = mask.sum(axis=1)
        for rows in length_groups(lengths):
            width = int(lengths[rows].max())  # the tokenizer pads on the right
            inputs = {"token_vectors": np.asarray(self._word_vectors[ids[rows, :width]]),
                      "attention_mask": mask[rows, :width]}
            vectors[rows] = self._session.run([OUTPUT], inputs)[0]
        return vectors


def length_groups(lengths: np.ndarray, size: int = LENGTH_GROUP) -> list[np.ndarray]:
    """Row indices in groups of at most `size`, shortest first, each group of neighbouring lengths."""
    order = np.argsort(lengths, kind="stable")
    return [order[start : start + size] for start in range(0, len(order), size)]


def onnx_model_folder(model: Path, cache_dir: Path, quantized: bool = False) -> Path:
    """Return the cached ONNX export of the Hugging Face encoder folder `model`, exporting it now when missing;
    `quantized`: its matrix products in int8 (per output channel, activations quantised on the fly)."""
    source = str(model.resolve())
    exported = built_once(cache_dir.expanduser() / ONNX_DIR / model.name, lambda f: _recorded(f) == source,
                          lambda f: export_onnx(model, f))
    if not quantized:
        return exported
    return built_once(exported.with_name(exported.name + QUANTIZED_SUFFIX), lambda f: _recorded(f) == source,
                      lambda f: quantize_onnx(exported, f))


def _recorded(folder: Path) -> str | None:
    record = read_record(folder / RECORD)
    return str(record.get("source")) if record.get("exporter_version") == EXPORTER_VERSION else None


def export_onnx(model: Path, folder: Path) -> None:
    """Write `folder/encoder.onnx` (token vectors and mask in, unit vectors out; batch and length dynamic), its
    word-embedding table and the tokenizer files of the encoder folder `model`."""
    import torch

    folder.mkdir(parents=True)
    pooled = _pooled_encoder(model)
    table = pooled.encoder.get_input_embeddings().weight.detach()
    np.save(folder / WORD_VECTORS_FILE, table.numpy().astype(np.float32))
    sample = load_tokenizer(model, 16)(["query: 样例问题", "passage: an example sentence"])
    example = (table[torch.from_numpy(sample["input_ids"])], torch.from_numpy(sample["attention_mask"]))
    axes = {"token_vectors": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            OUTPUT: {0: "batch"}}
    traced = folder / "traced.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on data-dependent branches in transformers' masks
        torch.onnx.export(pooled, example, str(traced),
                          input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False)
    save_optimised(traced, folder / MODEL_FILE)
    traced.unlink()
    copy_tokenizer_files(model, folder)
    if (folder / "tokenizer.json").exists():
        write_sentencepiece_copy(folder, FastTokenizer(folder, PROBE_MAX_TOKENS))
    record = {"source": str(model.resolve()), "exporter_version": EXPORTER_VERSION, "opset": OPSET}
    (folder / RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")


def save_optimised(graph: Path, target: Path) -> None:
    """Write `graph` as onnxruntime optimises it at its extended level (fusions that hold on any CPU), its weights
    in `target`'s .data file: a session then neither optimises the graph again nor parses 86 MB of weights out of
    the protobuf, and loads in 0.11 s instead of 0.24 s on 2 cores, with the same vectors."""
    import onnxruntime

    weights = target.with_name(target.name + ".data")  # WEIGHTS_FILE for the exported MODEL_FILE
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", weights.name)
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    if not (target.exists() and weights.exists()):
        raise RuntimeError(f"onnxruntime wrote no optimised copy of {graph.name}")


def quantize_onnx(exported: Path, folder: Path) -> None:
    """Write the int8 copy of an exported folder: 1.5x faster on 2 cores, a quarter of the size, vectors within
    about 0.04 of the float ones."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True)
    # the exported graph holds onnxruntime's fused operators (BiasGelu), whose outputs shape inference cannot type
    quantize_dynamic(exported / MODEL_FILE, folder / MODEL_FILE, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"], per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    copy_tokenizer_files(exported, folder)
    try:
        os.link(exported / WORD_VECTORS_FILE, folder / WORD_VECTORS_FILE)  # the same table: no second 384 MB
    except OSError:
        shutil.copy2(exported / WORD_VECTORS_FILE, folder / WORD_VECTORS_FILE)
    shutil.copy2(exported / RECORD, folder / RECORD)


def _pooled_encoder(model: Path) -> Any:
    """The encoder with mean pooling and normalisation as one torch module (what the ONNX graph holds)."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(model)).eval()

        def forward(self, token_vectors: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(inputs_embeds=token_vectors, attention_mask=attention_mask,
                                  position_ids=self.positions(attention_mask)).last_hidden_state
            return mean_pooled(hidden, attention_mask)

        def positions(self, attention_mask: torch.Tensor) -> torch.Tensor:
            """The position ids the model derives from token ids, computed in the graph (from vectors it cannot):
            XLM-R's count from its padding index and give pads that index; BERT's count from 0."""
            padding = getattr(self.encoder.embeddings, "padding_idx", None)
            if padding is None:
                return torch.cumsum(torch.ones_like(attention_mask), dim=1) - 1
            real_tokens_so_far = torch.cumsum(attention_mask, dim=1)
            return real_tokens_so_far * attention_mask + int(padding)

    return Pooled().eval()
