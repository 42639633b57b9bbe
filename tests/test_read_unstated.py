"""A question about a year or reporting period its filing never names is withheld, by both readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Engine, Settings
from qa_engine.models import Document, DocumentMeta
from qa_engine.read.analysis import YEAR
from qa_engine.read.unstated import (
    count_unstated,
    other_company,
    scope_unstated,
    withheld_by_rule,
    year_unstated,
)

PREANNOUNCEMENT = ("预计2024年半年度实现归属于母公司所有者的净利润6,078.43万元,与上年同期相比增加35%。"
                   "二、上年同期经营业绩:归属于母公司所有者的净利润4,502.54万元。")


def test_a_named_year_is_stated() -> None:
    assert not year_unstated(("2024",), PREANNOUNCEMENT)
    assert not year_unstated((), PREANNOUNCEMENT)


def test_the_year_before_the_latest_is_stated_where_the_filing_speaks_of_the_year_before() -> None:
    assert not year_unstated(("2023",), PREANNOUNCEMENT)
    assert year_unstated(("2023",), PREANNOUNCEMENT.replace("上年同期", "本期"))


def test_other_years_are_unstated() -> None:
    assert year_unstated(("2022",), PREANNOUNCEMENT)  # two years before
    assert year_unstated(("2025",), PREANNOUNCEMENT)
    assert year_unstated(("2024", "2021"), PREANNOUNCEMENT)  # every year asked must be stated


def test_a_year_before_one_named_in_passing_is_unstated() -> None:
    reply = "公司2025年计划扩产。2024年毛利率为负,与上年同期相比下降。2018年公司完成收购。"
    assert not year_unstated(("2023",), reply)  # the year before 2024, one of the latest two
    assert year_unstated(("2017",), reply)  # 2018 is named only in passing


@pytest.mark.parametrize(("question", "unstated"), [
    ("新中港2024年一季度净利润是多少?", True),
    ("What did the company earn in Q1 2024?", True),
    ("What net profit does the company expect for the first half of 2024?", False),
    ("新中港前三季度营业收入是多少?", True),
    ("What was revenue in the first nine months?", True),
    ("新中港2024年上半年净利润预计是多少?", False),
    ("Will the shareholders sell shares in the next six months?", False),  # a span of time, not a period
])
def test_a_period_the_filing_never_names_is_unstated(question: str, unstated: bool) -> None:
    assert scope_unstated(question, PREANNOUNCEMENT) is unstated


def test_a_filing_names_a_quarter_in_figures_or_by_its_dates() -> None:
    assert not scope_unstated("What was Q3 revenue?", "公司3季度营业收入为13.14亿元。")
    assert not scope_unstated("一季度营业收入是多少?", "2024年1-3月营业收入为5亿元。")
    assert not scope_unstated("一季度营业收入是多少?", "补充说明各季度营业收入与净利润的变动。")


@pytest.mark.parametrize(("question", "unstated"), [
    ("新中港2024年上半年营业收入是多少?", True),
    ("What revenue does the company expect for the first half of 2024?", True),
    ("What gross margin did the company report?", True),
    ("新中港2024年上半年归母净利润预计是多少?", False),
    ("What net profit does the company expect for H1 2024?", False),
    ("Why did profit rise?", False),  # no metric the list names
])
def test_a_metric_the_filing_never_names_is_unstated(question: str, unstated: bool) -> None:
    assert scope_unstated(question, PREANNOUNCEMENT) is unstated


@pytest.mark.parametrize(("question", "sentence", "unstated"), [
    ("东诚药业本次预计回购股份数量约为多少股?", "回购价格不超过人民币18元/股(含)。", True),
    ("How many shares did the company actually buy back?", "回购资金总额不低于人民币1,500万元。", True),
    ("东诚药业本次预计回购多少股?", "预计回购股份数量约为833,333股,约占公司总股本的0.10%。", False),
    ("How many shares had it repurchased by January?", "公司累计回购股份1,234.5万股。", False),
    ("省工控集团合计拥有金龙稀土多少股份权益?", "合计拥有金龙稀土72.70%的股份权益。", False),  # a stake, not a count
    ("本次授予涉及多少名激励对象?", "本次授予的限制性股票数量为175.5676万股。", True),
    ("How many incentive recipients are there?", "激励对象共计160人。", False),
])
def test_a_count_the_sentence_never_states_is_unstated(question: str, sentence: str, unstated: bool) -> None:
    assert count_unstated(question, sentence) is unstated


def test_another_companys_filing_is_withheld_only_when_the_question_names_a_company() -> None:
    assert other_company(frozenset({"d1", "d2"}), "d3")
    assert not other_company(frozenset({"d1", "d2"}), "d2")
    assert not other_company(frozenset(), "d3")  # no company named: any filing may answer


@pytest.mark.parametrize(("question", "years", "named", "sentence", "withheld"), [
    ("新中港2024年上半年净利润预计是多少?", ("2024",), {"d1"}, "净利润6,078.43万元。", False),
    ("新中港2022年上半年净利润预计是多少?", ("2022",), {"d1"}, "净利润6,078.43万元。", True),  # year
    ("新中港2024年一季度净利润是多少?", ("2024",), {"d1"}, "净利润6,078.43万元。", True),  # period
    ("新中港2024年上半年营业收入是多少?", ("2024",), {"d1"}, "净利润6,078.43万元。", True),  # metric
    ("新中港2024年上半年净利润预计是多少?", ("2024",), {"d2"}, "净利润6,078.43万元。", True),  # company
    ("新中港本次回购多少股?", (), {"d1"}, "净利润6,078.43万元。", True),  # count
])
def test_every_rule_withholds_on_its_own(question: str, years: tuple[str, ...], named: set[str], sentence: str,
                                          withheld: bool) -> None:
    document = Document("d1", "d1.txt", PREANNOUNCEMENT, DocumentMeta())
    assert withheld_by_rule(question, years, frozenset(named), document, sentence) is withheld


@pytest.mark.parametrize("reader", ["heuristic", "neural"])
def test_a_question_about_a_year_or_period_the_filing_never_names_is_withheld(built_index: Path, reader: str) -> None:
    with Engine.open(built_index, Settings(index_dir=built_index, reader=reader)) as engine:
        asked = engine.ask("为什么有研新材2024年稀土材料毛利率为负？")
        near_misses = [engine.ask("为什么有研新材2017年稀土材料毛利率为负？"),
                       engine.ask("北方稀土2024年第一季度的业绩说明会是哪天召开的？")]
    assert asked.found and asked.text is not None
    for near_miss in near_misses:
        assert not near_miss.found and near_miss.text is None and near_miss.citations == ()


@pytest.mark.parametrize(("text", "years"), [
    ("新中港2024年上半年净利润是否超过20000万元?", ["2024"]),  # 20000 holds no year
    ("截至2024.12.31,余额2024.56万元", ["2024"]),  # a dotted date, not a decimal
    ("FY2023 and 2023-2024", ["2023", "2023", "2024"]),
    ("合计2,024万元,编号20241231", []),
])
def test_a_year_is_read_only_where_it_is_written_as_a_year(text: str, years: list[str]) -> None:
    assert YEAR.findall(text) == years
