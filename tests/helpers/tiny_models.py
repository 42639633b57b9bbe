"""Tiny random-weight BERT models, saved to local folders in the layouts the product loads.

One character-level WordPiece vocabulary (the commonest Chinese characters of the bundled filings) and one
1-layer, 32-wide BERT config serve three uses:

- `build_sentence_transformer(dir)`: Transformer + mean Pooling, for `SentenceTransformerEmbedder(dir)`;
- `build_cross_encoder(dir)`: `BertForSequenceClassification(num_labels=1)`, for `CrossEncoderReranker(dir)`;
- `build_extractive_qa(dir)`: `BertForQuestionAnswering`, for `TransformersReader(dir)`.

The weights are seeded, so every session builds the same models. They are far too small to be any good; the
tests check wiring, shapes and offsets, never answer quality. Nothing is downloaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PUNCTUATION = tuple("，。、；：？！（）《》“”%.,:;()")
DIGITS = tuple("0123456789") + tuple(f"##{d}" for d in "0123456789")  # "2024" → 2 ##0 ##2 ##4
CJK_CHARS = 180
SEED = 1234
HIDDEN_SIZE = 32

REPO = Path(__file__).resolve().parents[2]
FILINGS = REPO / "data" / "filings"


def common_chinese_chars(texts: Iterable[str], n: int = CJK_CHARS) -> list[str]:
    """The `n` commonest CJK characters of `texts`, most common first (ties by code point, so stable)."""
    counts = Counter(ch for text in texts for ch in text if "\u4e00" <= ch <= "\u9fff")
    return [ch for ch, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]]


def filing_vocabulary() -> list[str]:
    """Specials, digits, punctuation and the commonest characters of data/filings: about 200 tokens."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(FILINGS.glob("*.txt"))]
    return list(SPECIAL_TOKENS + DIGITS + PUNCTUATION) + common_chinese_chars(texts)


def build_tokenizer(folder: Path, vocab: list[str] | None = None):  # type: ignore[no-untyped-def]
    """A `BertTokenizerFast` over a vocab file written into `folder` (which it is also saved to)."""
    from transformers import BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab or filing_vocabulary()) + "\n", encoding="utf-8")
    # from_pretrained reads vocab.txt under transformers 4 and 5 alike (their constructors differ)
    tokenizer = BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True, tokenize_chinese_chars=True)
    tokenizer.save_pretrained(str(folder))
    return tokenizer


def tiny_bert_config(vocab_size: int, **extra: object):  # type: ignore[no-untyped-def]
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN_SIZE, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
        max_position_embeddings=512, type_vocab_size=2, **extra,
    )


def _seeded() -> None:
    import torch

    torch.manual_seed(SEED)


def build_bert_encoder(folder: Path) -> Path:
    """A plain `BertModel` with its tokenizer, saved as a Hugging Face folder."""
    from transformers import BertModel

    tokenizer = build_tokenizer(folder)
    _seeded()
    BertModel(tiny_bert_config(len(tokenizer))).save_pretrained(str(folder))
    return folder


def build_sentence_transformer(folder: Path) -> Path:
    """A sentence-transformers model (tiny BERT + mean pooling) saved to `folder`."""
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer

    encoder = build_bert_encoder(folder.with_name(folder.name + "-bert"))
    transformer = Transformer(str(encoder), max_seq_length=128)
    pooling = Pooling(HIDDEN_SIZE, "mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder


def build_cross_encoder(folder: Path) -> Path:
    """A `BertForSequenceClassification(num_labels=1)` with its tokenizer: a CrossEncoder folder."""
    from transformers import BertForSequenceClassification

    tokenizer = build_tokenizer(folder)
    _seeded()
    BertForSequenceClassification(tiny_bert_config(len(tokenizer), num_labels=1)).save_pretrained(str(folder))
    return folder


def build_extractive_qa(folder: Path) -> Path:
    """A `BertForQuestionAnswering` with its tokenizer: an extractive-QA model folder."""
    from transformers import BertForQuestionAnswering

    tokenizer = build_tokenizer(folder)
    _seeded()
    BertForQuestionAnswering(tiny_bert_config(len(tokenizer))).save_pretrained(str(folder))
    return folder


def build_doubling_onnx(path: Path) -> Path:
    """A one-node ONNX graph at `path`: y = x + x, x of shape (n, 3)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "double",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
