"""Where a sentence sits in an inquiry reply: question, reply, verification procedure or opinion."""

from __future__ import annotations

from qa_engine.read.blocks import block_at

REPLY = (
    "前言：本回复报告中的简称与募集说明书相同。\n"
    "问题 1:关于本次发行方案\n"
    "请发行人说明是否存在应披露未披露事项。\n"
    "回复:\n"
    "公司不存在应披露未披露事项。\n"
    "(一)核查程序\n"
    "查阅发行人定期报告。\n"
    "(二)核查意见\n"
    "经核查,发行人已履行信息披露义务。\n"
    "问题16：据上海钢联消息，磁材产量有望突破6000吨；\n"
    "答复：该数据属实。\n"
)


def _block_of(sentence: str) -> str | None:
    return block_at(REPLY, REPLY.index(sentence))


def test_each_sentence_gets_the_block_it_sits_in() -> None:
    assert _block_of("前言") is None
    assert _block_of("请发行人说明是否存在") == "question"
    assert _block_of("公司不存在应披露未披露事项") == "reply"
    assert _block_of("查阅发行人定期报告") == "procedure"
    assert _block_of("经核查,发行人已履行") == "opinion"
    assert _block_of("据上海钢联消息") == "question"
    assert _block_of("该数据属实") == "reply"


def test_documents_without_markers_have_no_blocks() -> None:
    assert block_at("公司2025年上半年营业收入同比增长33.97%。", 5) is None
