"""Canonical text of the bundled filings: hard wraps repaired, page furniture gone, CJK spaces removed."""

from __future__ import annotations

import re

import pytest

from qa_engine.ingest.normalize import normalize_pages
from qa_engine.ingest.text_rules import is_table_row, table_header_at
from tests.helpers.filings import document_for, raw_filing

RULES_PHRASE = "《稀土管理条例》"
COMPANY_INTRO = "中国北方稀土（集团）高科技股份有限公司（以下简称公司或北方稀土）"


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


def test_wrapped_phrase_is_rejoined(engine) -> None:
    raw, canonical = raw_filing("000"), document_for(engine, "000").text
    assert "稀土管理\n" in raw  # the PDF wrapped the phrase in the raw file
    assert "稀土管理\n" not in canonical
    assert canonical.count(RULES_PHRASE) == _squeezed(raw).count(RULES_PHRASE) > raw.count(RULES_PHRASE)


def test_wrapped_company_introduction_is_whole(engine) -> None:
    assert COMPANY_INTRO not in raw_filing("000")
    assert COMPANY_INTRO in document_for(engine, "000").text


def test_spaces_between_year_and_cjk_removed_in_prose(engine) -> None:
    raw, text = raw_filing("000"), document_for(engine, "000").text
    assert "于 2024 年 8 月 30 日" in raw
    assert "于2024年8月30日" in text
    assert "召开2024年半年度业绩说明会的公告" in text
    assert "2024年9月10日上午10:00～11:30" in text


def test_no_spaced_year_anywhere_in_000(engine) -> None:
    assert "2024 年" not in document_for(engine, "000").text


@pytest.mark.parametrize("prefix", ["000", "001"])
def test_running_page_header_kept_once_on_its_own_line(engine, prefix: str) -> None:
    assert raw_filing(prefix).count("证券代码：600111") >= 1
    text = document_for(engine, prefix).text
    assert text.count("证券代码") == text.count("600111") == 1  # the stock code stays searchable, once
    assert re.search(r"\n证券代码：600111 证券简称：北方稀土 公告编号：\S+\n", text)


@pytest.mark.parametrize(("prefix", "pages"), [("000", 10), ("001", 7)])
def test_page_starts_follow_page_numbers(engine, prefix: str, pages: int) -> None:
    doc = document_for(engine, prefix)
    assert len(doc.page_starts) == pages  # the last bare page number in the text file names the last page
    assert list(doc.page_starts) == sorted(doc.page_starts)
    assert doc.page_at(len(doc.text) - 1) == pages


@pytest.mark.parametrize("prefix", ["000", "001"])
def test_document_starts_on_page_1(engine, prefix: str) -> None:
    assert document_for(engine, prefix).page_at(0) == 1


def test_normalize_pages_joins_a_wrapped_sentence_across_lines() -> None:
    width = "本公司董事会及全体董事保证本公告内容不存在任何虚假记载误导性陈述"
    pages = [f"{width}\n或者重大遗漏。\n{width}\n之内容。\n短行\n下一段。"]
    text = normalize_pages(pages).text
    assert f"{width}或者重大遗漏。" in text
    assert "短行\n下一段。" in text


def test_a_wrapped_line_that_quotes_two_figures_is_rejoined() -> None:
    width = "母净利润为-20,417.19 万元,由盈转亏。公司计入其他收益的政府补助为"
    text = normalize_pages([f"{width}\n7,208.65 万元,上一年度为 8,271.60 万元。\n{width}\n之内容。"]).text
    assert "公司计入其他收益的政府补助为7,208.65万元,上一年度为8,271.60万元。" in text


def test_a_wrapped_line_with_a_spaced_date_is_rejoined() -> None:
    lines = ["本次担保金额及已实际为其提供的担保余额:2024 年公司对子公司提供担",
             "保预计额度(最高)为 5.37 亿元。截止 2023 年 12 月 31 日,公司担保余", "额为 1.08 亿元。"]
    assert "截止2023年12月31日,公司担保余额为1.08亿元。" in normalize_pages(["\n".join(lines)]).text


def test_a_letter_spaced_name_in_a_piped_row_is_one_word() -> None:
    rows = ["未出席董事职务|未出席董事姓名|未出席董事的原因说明|被委托人姓名|", "董事 | 曲 伟 | 工作原因 | 尹世辉 |"]
    text = normalize_pages(["\n".join(rows)]).text
    assert "董事 | 曲伟 | 工作原因 | 尹世辉 |" in text and rows[0] in text
    aligned = "营业收入 1,234.00 2,345.00"  # without pipes a space may part cells: left alone
    assert aligned in normalize_pages([aligned]).text


def test_the_quantities_the_showcase_inquiry_asks_about_are_one_sentence(engine) -> None:
    assert "公司稀土氧化物产量仅7,178.54吨，但销量却达到17,424.27吨。" in document_for(engine, "000").text


@pytest.mark.parametrize("line", [
    "公司稀土氧化物产量仅 7,178.54 吨，但销量却达到 17,424.27 吨。请",
    "公司拟向全体股东每 10 股派发现金红利 1.17 元人民币(含税)。",
    "产费用\u2002398.13\u2002万元,账面余额为\u2002920.70\u2002万元。",
    "保预计额度(最高)为 5.37 亿元。截止 2023 年 12 月 31 日,公司担保余",  # a spaced date is one word
    "本行于 2025 年 11 月 15 日召开第六届董事会 2024 年第二次临时会议,审议",
])
def test_prose_quoting_figures_is_not_a_table_row(line: str) -> None:
    assert not is_table_row(line)


@pytest.mark.parametrize("line", [
    "营业收入 1,234.00 2,345.00",
    "英国 LCM 671.89 0.16% 825.96 0.09% 1,373.25 0.13% 4,131.73 0.27% 1992 2011 业,市场 原因导致销售",
    "设计产能\u2002(折\u2002100%REO,吨)\u2002\u2002\u2002\u20021,840.00\u2002\u2002\u2002\u20021,840.00",
    "购买原材料、燃料、动力,接受劳务\t753,540,000.00\t484,502,927.14",
    "项目 2025 年 6 月末 2024 年末 2023 年末 2022 年末",
    "2023年12月31日 1,234.56 5,678.90 12.3%",
])
def test_rows_of_figures_stay_table_rows(line: str) -> None:
    assert is_table_row(line)


def test_normalize_pages_records_each_page_start() -> None:
    canonical = normalize_pages(["第一页的内容。", "第二页的内容。", "第三页的内容。"])
    assert len(canonical.page_starts) == 3
    for i, start in enumerate(canonical.page_starts):
        assert canonical.text[start:].startswith(f"第{'一二三'[i]}页")


def test_table_header_at_gives_the_unit_and_header_row_of_a_quoted_row() -> None:
    text = "正文。\n单位：元\n名称\t期末余额\t比例\n甲公司\t1\t2\n乙公司\t3\t4\n后文。"
    assert table_header_at(text, text.index("乙公司")) == ("单位：元", "名称\t期末余额\t比例")
    assert table_header_at(text, text.index("名称")) == ("单位：元", "名称\t期末余额\t比例")
    assert table_header_at(text, text.index("后文")) is None
    assert table_header_at("名称\t期末\n甲\t1\t2", 8) == ("", "名称\t期末")
