"""A few texts tokenised without loading the 250k-piece SentencePiece model: the only pieces a text can use are its
own substrings, so a model made of those pieces alone (found by binary search in a sorted, memory-mapped table of
every piece) gives the full model's ids. It loads in about 2 ms and tokenises a question in about 1 ms; the core
model takes 0.1–0.15 s to load, which was most of a first question's wait.

The table (PIECES_DIR beside the SentencePiece copy) holds every normal piece's UTF-8 bytes, sorted, with its id and
score, and a frame: the model's normaliser and trainer settings and its special pieces, to which each call appends
the pieces it found. The model's lowest-scoring piece is always appended too: SentencePiece scores a character no
piece starts with at 10 below its model's lowest score, and that must be the full model's."""

from __future__ import annotations

import importlib
import json
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa_engine.cache_folder import built_once

PIECES_DIR = "qa_engine_tokenizer.pieces"
RECORD = "table.json"
_FRAME, _FRAME_IDS, _KEYS, _IDS, _SCORES = "frame.spm", "frame-ids.npy", "keys.npy", "ids.npy", "scores.npy"


class SubsetProcessor:
    """Full-model ids for a few texts, from a model of the pieces they contain (built per call)."""

    def __init__(self, folder: Path) -> None:
        import sentencepiece

        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        self._max_chars, self._floor = int(record["max_chars"]), int(record["floor"])
        self._frame = (folder / _FRAME).read_bytes()
        self._frame_ids = np.load(folder / _FRAME_IDS).astype(np.int64)
        self._keys = np.load(folder / _KEYS, mmap_mode="r")
        self._ids = np.load(folder / _IDS, mmap_mode="r")
        self._scores = np.load(folder / _SCORES, mmap_mode="r")
        self._sentencepiece = sentencepiece
        self._normalizer = sentencepiece.SentencePieceNormalizer(model_proto=self._frame)
        self._specials = sentencepiece.SentencePieceProcessor(model_proto=self._frame + self._piece_entries(
            np.array([self._floor])))  # a model needs a normal piece: this one answers the special ids

    @classmethod
    def load(cls, table: Path) -> SubsetProcessor | None:
        """The piece table `table` (see `ensure_piece_table`); None when it did not give the full model's ids."""
        record = json.loads((table / RECORD).read_text(encoding="utf-8"))
        return cls(table) if record.get("agrees") else None

    def bos_id(self) -> int:
        return int(self._frame_ids[self._specials.bos_id()])

    def eos_id(self) -> int:
        return int(self._frame_ids[self._specials.eos_id()])

    def pad_id(self) -> int:
        pad = self._specials.pad_id()
        return int(self._frame_ids[pad]) if pad >= 0 else -1

    def encode(self, texts: list[str]) -> list[list[int]]:
        rows = self._pieces_in(texts)
        model = self._sentencepiece.SentencePieceProcessor(model_proto=self._frame + self._piece_entries(rows))
        ids = np.concatenate([self._frame_ids, np.asarray(self._ids[rows], dtype=np.int64)])
        return [ids[encoded].tolist() if encoded else [] for encoded in model.encode(texts)]

    def _pieces_in(self, texts: Sequence[str]) -> np.ndarray:
        """Table rows of every piece that is a substring of a normalised text, and the floor piece."""
        found = set()
        for text in texts:
            normalised = self._normalizer.normalize(text)
            for start in range(len(normalised)):
                for end in range(start + 1, min(len(normalised), start + self._max_chars) + 1):
                    found.add(normalised[start:end].encode())
        wanted = np.array(list(found), dtype=self._keys.dtype) if found else np.array([], dtype=self._keys.dtype)
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        return np.unique(np.append(at[self._keys[at] == wanted], self._floor))

    def _piece_entries(self, rows: np.ndarray) -> bytes:
        """ModelProto's `pieces` field (1) once per row, serialised: appended to the frame, they follow its own."""
        return b"".join(_field(1, _field(1, bytes(self._keys[row])) + b"\x15" + struct.pack("<f", self._scores[row]))
                        for row in rows)


def ensure_piece_table(folder: Path, spm_file: str) -> Path:
    """folder/PIECES_DIR, made from the SentencePiece model folder/spm_file once and checked against it (its
    record says whether it agreed on every probe text)."""
    return built_once(folder / PIECES_DIR, lambda table: (table / RECORD).exists(),
                      lambda table: _write_table(table, (folder / spm_file).read_bytes()))


def _write_table(table: Path, proto: bytes) -> None:
    import sentencepiece

    from qa_engine.read.spm_tokenizer import PROBES

    pb = importlib.import_module("sentencepiece.sentencepiece_model_pb2")
    model = pb.ModelProto()
    model.ParseFromString(proto)
    normal = pb.ModelProto.SentencePiece.NORMAL
    table.mkdir(parents=True, exist_ok=True)
    frame_ids = [i for i, piece in enumerate(model.pieces) if piece.type != normal]
    frame = pb.ModelProto()
    frame.CopyFrom(model)
    del frame.pieces[:]
    for i in frame_ids:
        frame.pieces.add().CopyFrom(model.pieces[i])
    position = {old: new for new, old in enumerate(frame_ids)}
    trainer = model.trainer_spec
    frame.trainer_spec.unk_id, frame.trainer_spec.bos_id = position[trainer.unk_id], position[trainer.bos_id]
    frame.trainer_spec.eos_id, frame.trainer_spec.pad_id = position[trainer.eos_id], position.get(trainer.pad_id, -1)
    (table / _FRAME).write_bytes(frame.SerializeToString())
    np.save(table / _FRAME_IDS, np.array(frame_ids, dtype=np.int32))
    pieces = [(piece.piece.encode(), i, piece.score) for i, piece in enumerate(model.pieces) if piece.type == normal]
    pieces.sort()
    np.save(table / _KEYS, np.array([key for key, _, _ in pieces]))
    np.save(table / _IDS, np.array([i for _, i, _ in pieces], dtype=np.int32))
    scores = np.array([score for _, _, score in pieces], dtype=np.float32)
    np.save(table / _SCORES, scores)
    max_chars = max(len(key.decode()) for key, _, _ in pieces)
    (table / RECORD).write_text(json.dumps({"max_chars": max_chars, "floor": int(np.argmin(scores))}), encoding="utf-8")
    full = sentencepiece.SentencePieceProcessor(model_proto=proto)
    agrees = all(SubsetProcessor(table).encode([text]) == full.encode([text]) for text in PROBES)
    (table / RECORD).write_text(json.dumps({"max_chars": max_chars, "floor": int(np.argmin(scores)),
                                            "agrees": agrees}), encoding="utf-8")


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
