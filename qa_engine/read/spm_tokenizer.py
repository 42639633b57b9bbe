"""The neural reader's tokenizer as a SentencePiece model: the ids of the folder's `tokenizers` Unigram tokenizer
(XLM-R / E5), loaded in about 0.3 s where parsing the 250k-piece tokenizer.json takes 1.1 s, most of a cold
start. Written beside tokenizer.json when the encoder is exported, and only after it gave the same ids as
`tokenizers` on every probe text; a text holding a special token's literal text ("<s>", ...) goes to `tokenizers`
itself, which splits those out before normalising.

Beside it goes the core model: the pieces made only of core characters (Latin, CJK, digits, common punctuation
and symbols; 121k of the 250k pieces), loaded in 0.1 s. Its ids are the full model's exactly: when every
character of a normalised text is a core one, no other piece can match any part of it, so both models see the
same candidate pieces with the same scores; and a text with another character is one the core model marks
`<unk>`, which is then encoded by the full model, loaded on that first use.

Before either, a piece table (spm_subset.py) serves calls of a few texts: a question and its candidate sentences
are tokenised from the pieces they contain, so a one-question process loads no model at all; a longer batch (an
ingest filling the reader's vectors) loads the core model, which then serves every call."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.read.spm_subset import (
    FullModelSpecialIds,
    SubsetProcessor,
    ensure_piece_table,
    model_of_pieces,
)

logger = logging.getLogger(__name__)

SPM_FILE = "qa_engine_tokenizer.spm"
CORE_FILE = "qa_engine_tokenizer.core.spm"
CORE_IDS_FILE = "qa_engine_tokenizer.core-ids.npy"  # full-model id of each core piece
# the core characters: ASCII, Latin-1, Greek, punctuation, currency, letterlike, number forms, arrows, maths,
# enclosed numbers, box drawing and shapes, CJK punctuation, CJK ideographs (and extension A), full-width forms
CORE_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x391, 0x3C9), (0x2000, 0x22FF), (0x2460, 0x26FF), (0x3000, 0x303F),
               (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))
PROBE_MAX_TOKENS = 512
SUBSET_MAX_CHARS = 4000  # a question and its 12 candidates (about 2 ms), against 0.1 s to load the core model
SPECIAL_TEXTS = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")  # XLM-R's special tokens, as a text may spell them
# Unicode's White_Space characters: where `tokenizers`' WhitespaceSplit parts words (Rust's char::is_whitespace)
WHITE_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
                        + "".join(map(chr, range(0x2000, 0x200B))))
# texts where tokenisers part ways if they ever do: whitespace of every kind, full-width forms, ligatures,
# combining marks, characters outside the vocabulary, long numbers, mixed scripts
PROBES = (
    "query: 为什么有研新材2024年稀土材料毛利率为负？", "passage: 公司2024年实现营业收入1,234.56万元，同比下降12.3%。",
    "query: why is 2024 margin negative?", "passage: The Company's net profit fell 45.6% year on year.",
    "  leading and trailing  ", "tab\tnew\nline\r\nreturn", "ideographic\u3000space and\u00a0no-break\u2003em",
    "全角ＡＢＣ１２３！＂＃", "ﬁ ligature ﬂ ½ ² ㎡ ℃ №", "café naïve ñ à la", "a\u0301 e\u0308 combining",
    "zero\u200bwidth\u200djoiner\ufeffbom", "emoji 😀 🚀 and 𠀀𪚥 rare", "1234567890123456789 0.000001",
    "证券代码:600111 证券简称:北方稀土 公告编号:2024-051", "（一）（二）①②③【回复】《问询函》“引号”",
    "Ελληνικά Русский العربية हिन्दी 日本語のテキスト 한국어", "x" * 300, "", " ",
)


class SentencePieceTokenizer:
    """texts → {input_ids, attention_mask} int64 arrays, as `encoder.FastTokenizer` gives them."""

    def __init__(self, processor: Any, max_tokens: int, fallback: Callable[[], Any]) -> None:
        """`processor`: a sentencepiece.SentencePieceProcessor; `fallback`: returns the tokenizer.json tokenizer
        (called only for a text that spells a special token)."""
        self._processor = processor
        self._bos, self._eos, self._pad = processor.bos_id(), processor.eos_id(), processor.pad_id()
        self._max_tokens = max_tokens
        self._fallback = fallback

    @classmethod
    def load(cls, folder: Path, max_tokens: int, fallback: Callable[[], Any]) -> SentencePieceTokenizer:
        """A few texts through the folder's piece table (spm_subset.py) until a longer batch loads the core
        model, with the full one behind it; without a usable table, the core model (else the full one) now."""
        import sentencepiece

        def full() -> Any:
            return sentencepiece.SentencePieceProcessor(model_file=str(folder / SPM_FILE))

        def core() -> Any:
            if not (folder / CORE_FILE).exists():
                return full()
            processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / CORE_FILE))
            return CoreProcessor(processor, np.load(folder / CORE_IDS_FILE), full)

        subset = _piece_subset(folder)
        return cls(FewTextsFirst(subset, core) if subset else core(), max_tokens, fallback)

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        if any(special in text for text in texts for special in SPECIAL_TEXTS):
            return dict(self._fallback()(texts))
        pieces = [ids[: self._max_tokens - 2] for ids in self._processor.encode(list(texts))]
        width = max(len(ids) for ids in pieces) + 2
        input_ids = np.full((len(pieces), width), self._pad, dtype=np.int64)
        attention_mask = np.zeros((len(pieces), width), dtype=np.int64)
        for row, ids in enumerate(pieces):
            input_ids[row, : len(ids) + 2] = [self._bos, *ids, self._eos]
            attention_mask[row, : len(ids) + 2] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}


class CoreProcessor(FullModelSpecialIds):
    """The core model, answering with the full model's ids; a text it marks `<unk>` is encoded by the full model
    (loaded on first need)."""

    def __init__(self, core: Any, full_ids: np.ndarray, load_full: Callable[[], Any]) -> None:
        self._part, self._full_ids, self._load_full = core, np.asarray(full_ids, dtype=np.int64), load_full
        self._unknown = core.unk_id()
        self._full: Any = None
        self._loading = threading.Lock()

    def encode(self, texts: list[str]) -> list[list[int]]:
        encoded = self._part.encode(texts)
        result = [self._full_ids[ids].tolist() if ids else [] for ids in encoded]
        beyond = [row for row, ids in enumerate(encoded) if self._unknown in ids]
        if beyond:
            for row, ids in zip(beyond, self._full_model().encode([texts[row] for row in beyond]), strict=True):
                result[row] = ids
        return result

    def _full_model(self) -> Any:
        with self._loading:
            if self._full is None:
                self._full = self._load_full()
            return self._full


class FewTextsFirst:
    """A call of at most `max_chars` characters goes to the piece table until a longer one has loaded the core
    model (a question and its candidate sentences: a one-off command never loads it)."""

    def __init__(self, few: SubsetProcessor, load_many: Callable[[], Any], max_chars: int = SUBSET_MAX_CHARS) -> None:
        self._few, self._load_many, self._max_chars = few, load_many, max_chars
        self._many: Any = None
        self._loading = threading.Lock()

    def bos_id(self) -> int:
        return self._few.bos_id()

    def eos_id(self) -> int:
        return self._few.eos_id()

    def pad_id(self) -> int:
        return self._few.pad_id()

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self._many is None and sum(map(len, texts)) <= self._max_chars:
            return self._few.encode(texts)
        with self._loading:
            if self._many is None:
                self._many = self._load_many()
        encoded: list[list[int]] = self._many.encode(texts)
        return encoded


def _piece_subset(folder: Path) -> SubsetProcessor | None:
    """The folder's piece table, made now if missing (an export before it); None when it cannot be made or did not
    give the full model's ids."""
    try:
        return SubsetProcessor.load(ensure_piece_table(folder, SPM_FILE))
    except Exception as exc:  # noqa: BLE001 - a copy it cannot parse (protobuf's own error), a read-only folder...
        logger.info("no SentencePiece piece table in %s (%s): questions use the core model", folder, exc)
        return None


def core_model(proto: bytes) -> tuple[bytes, np.ndarray]:
    """The core model of a full model (its special pieces and every piece of core characters only) and the
    full-model id of each of its pieces."""
    pb = _protobuf_classes()
    full = pb.ModelProto()
    full.ParseFromString(proto)
    kept = [i for i, piece in enumerate(full.pieces)
            if piece.type != pb.ModelProto.SentencePiece.NORMAL or all(map(_is_core, piece.piece))]
    return bytes(model_of_pieces(full, kept).SerializeToString()), np.array(kept, dtype=np.int64)


def _is_core(char: str) -> bool:
    point = ord(char)
    return char == "\u2581" or any(low <= point <= high for low, high in CORE_RANGES)


def write_sentencepiece_copy(folder: Path, reference: Any) -> bool:
    """Write folder/SPM_FILE from folder/tokenizer.json when it is the Unigram shape SentencePiece reproduces and
    gives `reference`'s ids (a tokenizer over `PROBE_MAX_TOKENS`) on every probe; return whether it was written.
    Its core model (CORE_FILE, CORE_IDS_FILE) is written beside it when it too gives those ids on every probe.
    `folder` is one being exported (cache_folder.built_once renames it into place whole once it is complete)."""
    try:
        import sentencepiece
    except ImportError:
        return False
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    if not _reproducible(spec):
        return False
    proto = _model_proto(spec)
    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    candidate = SentencePieceTokenizer(processor, PROBE_MAX_TOKENS, lambda: reference)
    if not _agrees(candidate, reference):
        return False
    (folder / SPM_FILE).write_bytes(proto)
    _piece_subset(folder)  # checked against the copy it is made from
    core, full_ids = core_model(proto)
    served = SentencePieceTokenizer(CoreProcessor(sentencepiece.SentencePieceProcessor(model_proto=core), full_ids,
                                                  lambda: processor), PROBE_MAX_TOKENS, lambda: reference)
    if _agrees(served, reference):
        (folder / CORE_FILE).write_bytes(core)
        np.save(folder / CORE_IDS_FILE, full_ids)
    return True


def _agrees(candidate: Any, reference: Any) -> bool:
    for probe in PROBES:
        got, expected = candidate([probe]), reference([probe])
        if not np.array_equal(got["input_ids"], expected["input_ids"]):
            return False
    return True


def _reproducible(spec: dict[str, Any]) -> bool:
    """The shape of XLM-R's tokenizer.json: Unigram pieces, one Precompiled normaliser, whitespace split then a
    "▁" prefix on every word, and `<s> text </s>`."""
    model, normalizer = spec.get("model") or {}, spec.get("normalizer") or {}
    pre = spec.get("pre_tokenizer") or {}
    steps = [p.get("type") for p in pre.get("pretokenizers", [])]
    metaspace = (pre.get("pretokenizers") or [{}])[-1]
    template = [next(iter(part.values())).get("id") for part in (spec.get("post_processor") or {}).get("single", [])]
    return (model.get("type") == "Unigram" and not model.get("byte_fallback") and normalizer.get("type") == "Precompiled"
            and steps == ["WhitespaceSplit", "Metaspace"] and metaspace.get("replacement") == "\u2581"
            and metaspace.get("prepend_scheme") == "always" and template == ["<s>", "A", "</s>"])


def _model_proto(spec: dict[str, Any]) -> bytes:
    pb = _protobuf_classes()
    proto = pb.ModelProto()
    ids = {piece: i for i, (piece, _) in enumerate(spec["model"]["vocab"])}
    special = {token["id"] for token in spec.get("added_tokens", []) if token.get("special")}
    special |= {ids[name] for name in ("<s>", "</s>", "<pad>") if name in ids}
    unknown = spec["model"]["unk_id"]
    for i, (piece, score) in enumerate(spec["model"]["vocab"]):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        entry.type = (pb.ModelProto.SentencePiece.UNKNOWN if i == unknown else
                      pb.ModelProto.SentencePiece.CONTROL if i in special else pb.ModelProto.SentencePiece.NORMAL)
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.unk_id, trainer.bos_id, trainer.eos_id = unknown, ids["<s>"], ids["</s>"]
    trainer.pad_id = ids.get("<pad>", -1)
    normalizer = proto.normalizer_spec
    normalizer.name = "qa_engine"
    normalizer.precompiled_charsmap = _charsmap(base64.b64decode(spec["normalizer"]["precompiled_charsmap"]))
    normalizer.add_dummy_prefix = normalizer.remove_extra_whitespaces = normalizer.escape_whitespaces = True
    return bytes(proto.SerializeToString())


def _charsmap(precompiled: bytes) -> bytes:
    """SentencePiece's own compilation of what `precompiled` does to each character: it reads only tries it
    built itself, and a charsmap written by `embed/charsmap.py` is not one."""
    import sentencepiece
    from tokenizers import normalizers

    normalise = normalizers.Precompiled(precompiled).normalize_str
    rules = []
    for point in range(0x110000):
        if 0xD800 <= point < 0xE000:
            continue
        char = chr(point)
        replaced = normalise(char)
        if replaced == char and char in WHITE_SPACE:
            replaced = " "  # tokenizers splits words at every White_Space character, SentencePiece at " " only
        if replaced != char:
            rules.append(f"{point:X}\t{' '.join(f'{ord(c):X}' for c in replaced)}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8", delete=False) as table:
        table.writelines(rules)
    sentencepiece.set_min_log_level(2)  # no notes on stderr about the rule file it compiles
    try:
        serialized = sentencepiece.SentencePieceNormalizer(rule_tsv=table.name).serialized_model_proto()
    finally:
        os.unlink(table.name)
    proto = _protobuf_classes().ModelProto()
    proto.ParseFromString(serialized)
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def _protobuf_classes() -> Any:
    """sentencepiece's generated ModelProto classes (untyped, so reached by name)."""
    return importlib.import_module("sentencepiece.sentencepiece_model_pb2")

