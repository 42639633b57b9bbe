"""What the neural reader's encoder reads of a candidate sentence: the sentence alone, or after its heading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa_engine import Engine
from qa_engine.read.context import MAX_HEADING_CHARS, passage_text, short_heading
from qa_engine.read.neural import NeuralReader, RerankHead, shipped_folder

REPLY = (
    "问题2 关于业务及经营情况\n"
    "一、公司说明\n"
    "（三）公司部分产品毛利率为负的原因\n"
    "该情况主要系稀土价格下跌所致。\n"
    "（四）同行业可比公司的情况\n"
    "可比公司毛利率亦有下滑。\n"
)


def test_a_sentence_is_read_after_its_outermost_and_innermost_headings() -> None:
    sentence = "该情况主要系稀土价格下跌所致。"
    text = passage_text(sentence, REPLY, REPLY.index(sentence), "section")
    assert text == f"问题2 关于业务及经营情况 › （三）公司部分产品毛利率为负的原因：{sentence}"
    later = "可比公司毛利率亦有下滑。"
    assert passage_text(later, REPLY, REPLY.index(later), "section").startswith("问题2 关于业务及经营情况 › （四）")


def test_without_context_or_before_any_heading_the_sentence_is_read_alone() -> None:
    sentence = "该情况主要系稀土价格下跌所致。"
    assert passage_text(sentence, REPLY, REPLY.index(sentence), "none") == sentence
    assert passage_text("首句。", "首句。\n" + REPLY, 0, "section") == "首句。"


def test_a_long_heading_is_capped_so_the_sentence_is_not_cut_off() -> None:
    path = "问题1 " + "关于" * 40 + " › 一、公司说明"
    assert len(short_heading(path)) == MAX_HEADING_CHARS
    assert short_heading("问题3 关于存货") == "问题3 关于存货" and short_heading("") == ""


def test_an_unknown_context_is_an_error() -> None:
    with pytest.raises(ValueError, match="section"):
        passage_text("句子。", REPLY, 0, "paragraph")


class _RecordingEncoder:
    def __init__(self) -> None:
        self.passages: list[str] = []

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 4), np.float32) / 2

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.passages += texts
        return np.ones((len(texts), 4), np.float32) / 2


@pytest.mark.parametrize("context", ["none", "section"])
def test_the_reader_encodes_what_its_head_names(engine: Engine, tmp_path: Path, context: str) -> None:
    head = json.loads((shipped_folder() / "head.json").read_text("utf-8")) | {"passage_context": context}
    (tmp_path / "head.json").write_text(json.dumps(head), "utf-8")
    assert RerankHead.load(tmp_path).passage_context == context
    reader = NeuralReader(folder=tmp_path)
    recording = _RecordingEncoder()
    reader._encoder = recording  # type: ignore[assignment]
    reading = engine.prepare("为什么有研新材2024年稀土材料毛利率为负？")
    assert reader.read(reading.analysis, reading.passages) is not None
    with_heading = [text for text in recording.passages if "：" in text and " › " in text.split("：")[0]]
    assert bool(with_heading) == (context == "section")


def test_older_heads_read_the_sentence_alone(tmp_path: Path) -> None:
    head = json.loads((shipped_folder() / "head.json").read_text("utf-8"))
    head.pop("passage_context", None)
    (tmp_path / "head.json").write_text(json.dumps(head), "utf-8")
    assert RerankHead.load(tmp_path).passage_context == "none"


def test_training_examples_carry_what_the_reader_will_encode(engine: Engine) -> None:
    from qa_engine.eval.corpus import Corpus
    from qa_engine.eval.gold import GoldItem
    from qa_engine.eval.train_neural import collect

    item = GoldItem("q1", "为什么有研新材2024年稀土材料毛利率为负？", "zh", "why", None, ())
    plain, = collect(engine, [item], Corpus.from_engine(engine), 6, 5)
    headed, = collect(engine, [item], Corpus.from_engine(engine), 6, 5, "section")
    assert len(plain.sentences) == len(headed.sentences) == 6
    assert all(h.endswith(p) for p, h in zip(plain.sentences, headed.sentences))  # the same candidates, in order
    assert any(h != p and " › " in h for p, h in zip(plain.sentences, headed.sentences))
