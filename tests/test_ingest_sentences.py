"""Chinese sentence splitting as offset spans."""

from __future__ import annotations

from qa_engine.ingest.sentences import Span, split_clauses, split_sentences


def _texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_decimal_point_does_not_end_a_sentence() -> None:
    assert _texts("毛利率下降1.5个百分点，主要受价格影响。净利润为-0.35亿元。") == [
        "毛利率下降1.5个百分点，主要受价格影响。", "净利润为-0.35亿元。",
    ]


def test_list_markers_stay_inside_their_sentence() -> None:
    assert _texts("（一）项目概况如下。（二）风险因素如下。") == ["（一）项目概况如下。", "（二）风险因素如下。"]
    assert _texts("主要风险包括：（一）价格波动；（二）原料供应。") == [
        "主要风险包括：（一）价格波动；", "（二）原料供应。",
    ]


def test_splits_on_chinese_terminal_punctuation() -> None:
    assert _texts("甲公司盈利。乙公司亏损！丙公司呢？丁公司持平；戊公司未披露") == [
        "甲公司盈利。", "乙公司亏损！", "丙公司呢？", "丁公司持平；", "戊公司未披露",
    ]


def test_closing_quote_stays_with_its_sentence() -> None:
    assert _texts("董事长表示：“稀土价格已经企稳。”随后回答了其他问题。") == [
        "董事长表示：“稀土价格已经企稳。”", "随后回答了其他问题。",
    ]
    assert _texts("（详见附件。）下一句。") == ["（详见附件。）", "下一句。"]


def test_line_break_ends_a_sentence_and_spans_are_trimmed() -> None:
    text = "  标题一\n  第一段内容。 \n\n第二段"
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == ["标题一", "第一段内容。", "第二段"]


def test_offsets_are_relative_to_the_whole_text_when_given_a_range() -> None:
    text = "前文。本段第一句。本段第二句。后文。"
    start = text.index("本段")
    end = text.index("后文")
    spans = split_sentences(text, start, end)
    assert [text[s.start : s.end] for s in spans] == ["本段第一句。", "本段第二句。"]
    assert spans[0] == Span(start, start + len("本段第一句。"))


def test_english_sentences_split_before_a_capital() -> None:
    assert _texts("Revenue rose 1.5 percent. Margins fell.") == ["Revenue rose 1.5 percent.", "Margins fell."]


def test_split_clauses_cuts_at_commas_and_colons_not_enumeration_commas() -> None:
    text = "公司主要产品包括：稀土氧化物、稀土金属，以及磁性材料。"
    clauses = split_clauses(text, Span(0, len(text)))
    assert [text[c.start : c.end] for c in clauses] == ["公司主要产品包括：", "稀土氧化物、稀土金属，", "以及磁性材料。"]
