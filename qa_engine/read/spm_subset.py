"""A few texts tokenised without loading the 250k-piece SentencePiece model: the only pieces a text can use are its
own substrings, so a model made of those pieces alone gives the full model's ids. The pieces are found by binary
search in a sorted, memory-mapped table of every piece (each window of the normalised texts, 1 to 16 characters,
looked up at once per length). Loading the table takes about 1 ms; a question takes about 0.6 ms and a question's
12 candidate sentences about 2 ms, where the core model took 0.1–0.15 s to load, most of a first question's wait.

The table (PIECES_DIR beside the SentencePiece copy) holds every normal piece as a fixed-width string, sorted,
with its id and its serialised entry of a ModelProto, and a frame: the model's normaliser and trainer settings and
its special pieces, to which each call appends the entries of the pieces it found. The model's lowest-scoring
piece is always appended too: SentencePiece scores a character no piece starts with at 10 below its model's
lowest score, and that must be the full model's."""

from __future__ import annotations

import importlib
import json
import mmap
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.cache_folder import built_once, read_record

PIECES_DIR = "qa_engine_tokenizer.pieces"
RECORD = "table.json"
FORMAT = 3  # the pieces as fixed-width strings, their serialised entries beside them
_FRAME, _FRAME_IDS, _KEYS, _IDS = "frame.spm", "frame-ids.npy", "keys.npy", "ids.npy"
_ENTRIES, _OFFSETS = "entries.bin", "entries-offsets.npy"  # each piece's `pieces` field of a ModelProto, serialised


class FullModelSpecialIds:
    """The special ids of a model made from part of a full one (`_part`), in the full model's numbering
    (`_full_ids`: the full id of each of its pieces)."""

    _part: Any
    _full_ids: np.ndarray

    def bos_id(self) -> int:
        return int(self._full_ids[self._part.bos_id()])

    def eos_id(self) -> int:
        return int(self._full_ids[self._part.eos_id()])

    def pad_id(self) -> int:
        pad = self._part.pad_id()
        return int(self._full_ids[pad]) if pad >= 0 else -1


class SubsetProcessor(FullModelSpecialIds):
    """Full-model ids for a few texts, from a model of the pieces they contain (built per call)."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        """`record`: the table's own (RECORD)."""
        import sentencepiece

        self._max_chars, self._floor = int(record["max_chars"]), int(record["floor"])
        self._frame = (folder / _FRAME).read_bytes()
        self._full_ids = np.load(folder / _FRAME_IDS).astype(np.int64)  # the frame's pieces' ids
        self._keys = np.load(folder / _KEYS, mmap_mode="r")
        self._ids = np.load(folder / _IDS, mmap_mode="r")
        self._offsets = np.load(folder / _OFFSETS, mmap_mode="r")
        with (folder / _ENTRIES).open("rb") as entries:
            self._entries = mmap.mmap(entries.fileno(), 0, access=mmap.ACCESS_READ)
        self._sentencepiece = sentencepiece
        self._normalizer = sentencepiece.SentencePieceNormalizer(model_proto=self._frame)
        self._part = sentencepiece.SentencePieceProcessor(model_proto=self._frame + self._piece_entries(
            np.array([self._floor])))  # a model needs a normal piece: this one answers the special ids

    @classmethod
    def load(cls, table: Path) -> SubsetProcessor | None:
        """The piece table `table` (see `ensure_piece_table`); None when it did not give the full model's ids."""
        record = read_record(table / RECORD)
        return cls(table, record) if record.get("agrees") else None

    def encode(self, texts: list[str]) -> list[list[int]]:
        rows = self._pieces_in(texts)
        model = self._sentencepiece.SentencePieceProcessor(model_proto=self._frame + self._piece_entries(rows))
        ids = np.concatenate([self._full_ids, np.asarray(self._ids[rows], dtype=np.int64)])
        return [ids[encoded].tolist() if encoded else [] for encoded in model.encode(texts)]

    def _pieces_in(self, texts: Sequence[str]) -> np.ndarray:
        """Table rows of every piece that is a substring of a normalised text, and the floor piece."""
        # the texts joined by NULs, which no piece holds: a window across two texts matches at most a piece that
        # is a substring of the first, trailing NULs being the padding of a fixed-width string
        joined = "\0".join(self._normalizer.normalize(text) for text in texts)
        points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        found = [np.array([self._floor])]
        for length in range(1, min(self._max_chars, len(points)) + 1):
            windows = np.zeros((len(points) - length + 1, self._max_chars), dtype=np.uint32)
            windows[:, :length] = np.lib.stride_tricks.sliding_window_view(points, length)
            wanted = windows.view(self._keys.dtype).ravel()  # each row one fixed-width string
            at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
            found.append(at[self._keys[at] == wanted])
        return np.unique(np.concatenate(found))

    def _piece_entries(self, rows: np.ndarray) -> bytes:
        """The rows' serialised `pieces` fields: appended to the frame, they follow its own pieces."""
        starts, ends = self._offsets[rows].tolist(), self._offsets[rows + 1].tolist()
        return b"".join(self._entries[start:end] for start, end in zip(starts, ends, strict=True))


def ensure_piece_table(folder: Path, spm_file: str) -> Path:
    """folder/PIECES_DIR, made from the SentencePiece model folder/spm_file once and checked against it (its
    record says whether it agreed on every probe text)."""
    return built_once(folder / PIECES_DIR, lambda table: read_record(table / RECORD).get("format") == FORMAT,
                      lambda table: _write_table(table, (folder / spm_file).read_bytes()))


def _write_table(table: Path, proto: bytes) -> None:
    import sentencepiece

    from qa_engine.read.spm_tokenizer import PROBES

    pb = importlib.import_module("sentencepiece.sentencepiece_model_pb2")
    model = pb.ModelProto()
    model.ParseFromString(proto)
    table.mkdir(parents=True, exist_ok=True)
    is_normal = [piece.type == pb.ModelProto.SentencePiece.NORMAL for piece in model.pieces]
    _write_frame(table, model, [i for i, normal in enumerate(is_normal) if not normal])
    record = {"format": FORMAT, **_write_pieces(table, model, [i for i, normal in enumerate(is_normal) if normal])}
    full = sentencepiece.SentencePieceProcessor(model_proto=proto)
    subset = SubsetProcessor(table, record)
    agrees = all(subset.encode([text]) == full.encode([text]) for text in PROBES)
    (table / RECORD).write_text(json.dumps(record | {"agrees": agrees}), encoding="utf-8")


def _write_frame(table: Path, model: Any, kept: list[int]) -> None:
    """The model without its normal pieces, and the full id of each piece it keeps."""
    (table / _FRAME).write_bytes(model_of_pieces(model, kept).SerializeToString())
    np.save(table / _FRAME_IDS, np.array(kept, dtype=np.int32))


def model_of_pieces(model: Any, kept: Sequence[int]) -> Any:
    """A copy of the ModelProto `model` holding only the pieces `kept` (indices, in order), its special pieces'
    ids renumbered to their new places."""
    part = type(model)()
    part.CopyFrom(model)
    del part.pieces[:]
    for i in kept:
        part.pieces.add().CopyFrom(model.pieces[i])
    position = {old: new for new, old in enumerate(kept)}
    trainer = model.trainer_spec
    part.trainer_spec.unk_id, part.trainer_spec.bos_id = position[trainer.unk_id], position[trainer.bos_id]
    part.trainer_spec.eos_id, part.trainer_spec.pad_id = position[trainer.eos_id], position.get(trainer.pad_id, -1)
    return part


def _write_pieces(table: Path, model: Any, rows: list[int]) -> dict[str, int]:
    """The normal pieces `rows` sorted, with their full ids and serialised entries; their longest length in
    characters and the table row of the lowest-scoring one."""
    keys = np.array([model.pieces[i].piece for i in rows])  # fixed width: the longest piece's characters
    order = np.argsort(keys, kind="stable")
    pieces = [model.pieces[rows[k]] for k in order]
    np.save(table / _KEYS, keys[order])
    np.save(table / _IDS, np.array(rows, dtype=np.int32)[order])
    entries = [_field(1, _field(1, piece.piece.encode()) + b"\x15" + struct.pack("<f", piece.score)) for piece in pieces]
    (table / _ENTRIES).write_bytes(b"".join(entries))
    np.save(table / _OFFSETS, np.cumsum([0, *map(len, entries)], dtype=np.int64))
    lowest = int(np.argmin(np.array([piece.score for piece in pieces], dtype=np.float32)))
    return {"max_chars": keys.dtype.itemsize // 4, "floor": lowest}


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
