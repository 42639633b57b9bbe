"""The SentencePiece copy of an XLM-R style tokenizer.json: written only when it gives the same ids, served by
`load_tokenizer`, and special tokens' literal text left to `tokenizers`. The real e5-small's copy is checked in
tests/test_embed_e5_wheel.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa_engine.embed.e5_wheel import WheelModel, build_tokenizer
from qa_engine.read import spm_tokenizer
from qa_engine.read.encoder import FastTokenizer, load_tokenizer
from qa_engine.read.spm_subset import PIECES_DIR, SubsetProcessor
from qa_engine.read.spm_tokenizer import (
    CORE_FILE,
    CORE_IDS_FILE,
    SPM_FILE,
    SUBSET_MAX_CHARS,
    CoreProcessor,
    FewTextsFirst,
    SentencePieceTokenizer,
    write_sentencepiece_copy,
)
from tests.helpers.tiny_models import build_tokenizer as build_wordpiece_tokenizer

pytest.importorskip("sentencepiece")

REPO = Path(__file__).resolve().parents[1]
SPECIALS = {"bos": 0, "pad": 1, "eos": 2, "unk": 3}
TEXTS = [
    "passage: 公司2024年实现营业收入1,234.56万元，同比下降12.3%。", "query: 为什么毛利率为负？",
    "全角ＡＢＣ１２３", "  several   spaces\tand\ttabs\nand lines  ", "query: why is the 2024 margin negative?",
    "稀土 " * 40, "", "😀 outside the vocabulary",
]


def _unigram_folder(folder: Path) -> Path:
    """A small XLM-R style tokenizer (Unigram pieces of the filings' commonest characters and words, full-width
    forms normalised to half-width) saved as tokenizer.json, as the e5 converter writes it."""
    text = (REPO / "data" / "filings" / "002_412fed1119409973.txt").read_text(encoding="utf-8")[:20000]
    chars = sorted({c for c in text if not c.isspace()} | set("abcdefghijklmnopqrstuvwxyz0123456789.,?%"))
    words = ["▁公司", "营业收入", "毛利率", "稀土", "▁the", "▁margin", "▁why", "▁is", "▁query", "▁passage", "▁and"]
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(w, -3.0 - i / 100) for i, w in enumerate(words)] + [(c, -6.0 - i / 1000) for i, c in enumerate(chars)]
    pieces += [("▁" + c, -7.0 - i / 1000) for i, c in enumerate(chars[:200])]
    pieces += [("▁Русский", -3.5)] + [(c, -6.5) for c in sorted(set("Русскийтекст"))]  # beyond the core characters
    normalisation = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\t": " ", "\n": " ", "\u3000": " "}
    model = WheelModel({}, 1e-12, SPECIALS, pieces, normalisation, {})
    folder.mkdir()
    tokenizer = build_tokenizer(model)
    tokenizer.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])  # as transformers saves them
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>"}), encoding="utf-8")
    return folder


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return _unigram_folder(tmp_path / "unigram")


def test_the_copy_gives_the_ids_of_tokenizer_json(folder: Path) -> None:
    assert write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    served, reference = load_tokenizer(folder, 16), FastTokenizer(folder, 16)
    assert isinstance(served, SentencePieceTokenizer)
    got, expected = served(TEXTS), reference(TEXTS)  # one batch: padding and truncation to 16 tokens too
    assert got["input_ids"].shape == expected["input_ids"].shape
    assert np.array_equal(got["input_ids"], expected["input_ids"])
    assert np.array_equal(got["attention_mask"], expected["attention_mask"])
    assert (got["input_ids"] == SPECIALS["unk"]).any()  # the emoji: unknown to both, the same way


def test_special_tokens_written_in_the_text_go_to_tokenizer_json(folder: Path) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    texts = ["<s> 公司 </s>", "普通文本"]
    got, expected = load_tokenizer(folder, 32)(texts), FastTokenizer(folder, 32)(texts)
    assert np.array_equal(got["input_ids"], expected["input_ids"])
    assert got["input_ids"][0, 1] == SPECIALS["bos"]  # "<s>" read as the token, as tokenizers reads it


def test_a_copy_that_disagrees_is_not_written(folder: Path) -> None:
    reference = FastTokenizer(folder, 512)

    def shifted(texts: list[str]) -> dict[str, np.ndarray]:
        batch = reference(texts)
        return {"input_ids": batch["input_ids"] + 1, "attention_mask": batch["attention_mask"]}

    assert not write_sentencepiece_copy(folder, shifted)
    assert not (folder / SPM_FILE).exists()
    assert isinstance(load_tokenizer(folder, 16), FastTokenizer)


def test_a_wordpiece_tokenizer_gets_no_copy(tmp_path: Path) -> None:
    folder = tmp_path / "bert"
    build_wordpiece_tokenizer(folder)
    assert not write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    assert not (folder / SPM_FILE).exists()


def test_an_unreadable_copy_falls_back_to_tokenizer_json(folder: Path) -> None:
    (folder / SPM_FILE).write_bytes(b"not a model")
    assert isinstance(load_tokenizer(folder, 16), FastTokenizer)


def _core_of(served: SentencePieceTokenizer) -> CoreProcessor:
    """The core model behind the piece table, loaded by a batch longer than a question's."""
    assert isinstance(served._processor, FewTextsFirst)
    served(["稀土材料毛利率为负" * (SUBSET_MAX_CHARS // 9 + 1)])
    core = served._processor._many
    assert isinstance(core, CoreProcessor)
    return core


def test_the_core_model_serves_and_gives_the_full_ids(folder: Path) -> None:
    assert write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    assert (folder / CORE_FILE).exists() and (folder / CORE_IDS_FILE).exists()
    served = load_tokenizer(folder, 64)
    _core_of(served)
    core_ids = np.load(folder / CORE_IDS_FILE)
    assert len(core_ids) < len(json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])
    texts = [*TEXTS, "Ελληνικά Русский", "日本語のテキスト"]
    assert np.array_equal(served(texts)["input_ids"], FastTokenizer(folder, 64)(texts)["input_ids"])


def test_the_full_model_is_loaded_only_for_a_text_beyond_the_core(folder: Path) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    processor = _core_of(load_tokenizer(folder, 64))
    processor.encode(["公司2024年实现营业收入1,234.56万元，同比下降12.3%。", "why is the margin negative?"])
    assert processor._full is None
    beyond = "Русский текст"
    assert processor.encode([beyond]) == processor._full.encode([beyond])  # loaded now: Cyrillic is not core


def test_a_core_model_that_disagrees_is_not_written(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CoreProcessor, "bos_id", lambda self: 99)
    assert write_sentencepiece_copy(folder, FastTokenizer(folder, 512))  # the full copy still is
    assert (folder / SPM_FILE).exists() and not (folder / CORE_FILE).exists()
    monkeypatch.undo()
    served = load_tokenizer(folder, 16)
    assert isinstance(served, SentencePieceTokenizer)
    served(["稀土" * SUBSET_MAX_CHARS])
    assert not isinstance(served._processor._many, CoreProcessor)  # the full model serves long batches


# --- the piece table: a question tokenised without loading the model ----------------------------------------


def test_a_question_is_tokenised_from_its_own_pieces_without_loading_a_model(folder: Path) -> None:
    assert write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    assert (folder / PIECES_DIR / "table.json").exists()
    served, reference = load_tokenizer(folder, 64), FastTokenizer(folder, 64)
    texts = [*TEXTS, "Ελληνικά Русский", "日本語のテキスト", "稀土稀土稀土"]
    assert np.array_equal(served(texts)["input_ids"], reference(texts)["input_ids"])
    assert np.array_equal(served(texts)["attention_mask"], reference(texts)["attention_mask"])
    assert isinstance(served._processor, FewTextsFirst) and served._processor._many is None


def test_the_piece_table_gives_the_full_ids_on_random_texts(folder: Path) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    table = SubsetProcessor.load(folder / PIECES_DIR)
    assert table is not None
    import sentencepiece

    full = sentencepiece.SentencePieceProcessor(model_file=str(folder / SPM_FILE))
    alphabet = "稀土材料毛利率为负公司营业收入▁ \t\u3000ＡＢ１２abcmargin?.,%Русский😀①ﬁ"
    generator = np.random.default_rng(7)
    texts = ["".join(generator.choice(list(alphabet), size=int(generator.integers(0, 40)))) for _ in range(300)]
    assert [table.encode([text]) for text in texts] == [full.encode([text]) for text in texts]
    assert table.encode(texts[:20]) == full.encode(texts[:20])  # a batch shares one model
    assert (table.bos_id(), table.eos_id(), table.pad_id()) == (full.bos_id(), full.eos_id(), full.pad_id())


def test_a_long_batch_loads_the_core_model_and_later_calls_use_it(folder: Path) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    served, reference = load_tokenizer(folder, 64), FastTokenizer(folder, 64)
    long_batch = ["公司2024年实现营业收入1,234.56万元。" * 20] * (SUBSET_MAX_CHARS // 500 + 1)
    assert np.array_equal(served(long_batch)["input_ids"], reference(long_batch)["input_ids"])
    core = served._processor._many
    assert isinstance(core, CoreProcessor)
    assert np.array_equal(served(TEXTS)["input_ids"], reference(TEXTS)["input_ids"])
    assert served._processor._many is core


def test_an_export_without_a_piece_table_gets_one_when_loaded(folder: Path) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    shutil.rmtree(folder / PIECES_DIR)  # as exports made before the table have it
    served = load_tokenizer(folder, 64)
    assert (folder / PIECES_DIR / "table.json").exists() and isinstance(served._processor, FewTextsFirst)
    assert np.array_equal(served(TEXTS)["input_ids"], FastTokenizer(folder, 64)(TEXTS)["input_ids"])


def test_a_piece_table_that_disagrees_is_recorded_and_not_used(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    shutil.rmtree(folder / PIECES_DIR)
    real_encode = SubsetProcessor.encode
    monkeypatch.setattr(SubsetProcessor, "encode", lambda self, texts: [[*ids, 5] for ids in real_encode(self, texts)])
    served = load_tokenizer(folder, 64)
    assert json.loads((folder / PIECES_DIR / "table.json").read_text(encoding="utf-8"))["agrees"] is False
    assert isinstance(served._processor, CoreProcessor)
    assert np.array_equal(served(TEXTS)["input_ids"], FastTokenizer(folder, 64)(TEXTS)["input_ids"])


def test_a_piece_table_that_cannot_be_made_leaves_the_core_model(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_sentencepiece_copy(folder, FastTokenizer(folder, 512))
    shutil.rmtree(folder / PIECES_DIR)

    def read_only(folder: Path, spm_file: str) -> Path:
        raise PermissionError(f"read-only: {folder}")

    monkeypatch.setattr(spm_tokenizer, "ensure_piece_table", read_only)
    served = load_tokenizer(folder, 64)
    assert isinstance(served._processor, CoreProcessor)
    assert np.array_equal(served(TEXTS)["input_ids"], FastTokenizer(folder, 64)(TEXTS)["input_ids"])
