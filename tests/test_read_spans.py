"""Minimal answer spans inside a chosen sentence (read/spans.py, read/cues.py)."""

from __future__ import annotations

import pytest

from qa_engine.read.cues import why_span, yesno_span
from qa_engine.read.spans import date_span, entity_span, list_span, number_span


def _cut(sentence: str, span: tuple[int, int] | None) -> str | None:
    return None if span is None else sentence[span[0] : span[1]]


def _after(sentence: str, term: str) -> list[int]:
    return [sentence.index(term) + len(term)]


def test_number_prefers_the_unit_the_question_implies() -> None:
    s = "本次发行完成后,中国有研将持有公司325,474,255股股份,占公司总股本比例为36.49%。"
    assert _cut(s, number_span(s, _after(s, "中国有研"), "持股比例将升至多少")) == "36.49%"
    assert _cut(s, number_span(s, _after(s, "中国有研"), "将持有多少股")) == "325,474,255股"


def test_number_nearest_after_the_focus_and_months_are_not_dates() -> None:
    s = "约定自新增股份发行结束之日起36个月内不得转让,截至2025年9月末,公司员工总数为380人。"
    assert _cut(s, number_span(s, _after(s, "股份"), "锁定期多长")) == "36个月"
    assert _cut(s, number_span(s, _after(s, "员工总数"), "员工总数是多少人")) == "380人"


def test_date_range_and_the_date_nearest_the_focus() -> None:
    s = "公司于2024年8月30日发布公告,并于2024年9月10日召开了说明会;采矿许可证有效期限为2015年6月17日至2024年6月17日。"
    assert _cut(s, date_span(s, _after(s, "有效期限为"))) == "2015年6月17日至2024年6月17日"
    t = "公司于2024年8月30日发布公告,召开日期为2024年9月10日。"
    assert _cut(t, date_span(t, _after(t, "召开日期为"))) == "2024年9月10日"


@pytest.mark.parametrize(("sentence", "question", "exclude", "expected"), [
    ("为满足中国北方稀土（集团）高科技股份有限公司生产所需，公司拟与关联方内蒙古包钢钢联股份有限公司签订合同。",
     "北方稀土向哪家关联方采购", ("北方稀土", "中国北方稀土（集团）高科技股份有限公司"), "内蒙古包钢钢联股份有限公司"),
    ("公司董事长钟可祥在控股股东厦门钨业任董事及常务副总裁。", "金龙稀土的董事长是谁？ 董事长", ("金龙稀土",), "钟可祥"),
    ("上海米达的唯一股东为自然人蒋磊,注册资本为4,180万元。", "Who was the sole shareholder of 上海米达", (), "蒋磊"),
])
def test_entity_is_a_whole_name_without_its_lead_in(sentence: str, question: str, exclude: tuple[str, ...],
                                                    expected: str) -> None:
    anchors = [sentence.find(w) + len(w) for w in ("关联方", "董事长", "股东") if w in sentence]
    assert _cut(sentence, entity_span(sentence, anchors, question, exclude)) == expected


def test_list_is_trimmed_to_its_items() -> None:
    s = "镧铈元素在抛光、储氢、催化等方面已有较为成熟的应用。"
    assert _cut(s, list_span(s)) == "抛光、储氢、催化"
    t = "稀土产品包括氧化镧、氧化铈、氧化镨钕、氧化铽。"
    assert _cut(t, list_span(t)) == "氧化镧、氧化铈、氧化镨钕、氧化铽"
    assert list_span("公司主营稀土冶炼。") is None


def test_why_span_starts_at_the_cue_right_after_the_asked_terms() -> None:
    s = "净利润下滑主要受稀土材料业务利润下滑影响,部分产品毛利率为负主要是产品价格进一步下降,无法覆盖单位成本。"
    span = _cut(s, why_span(s, _after(s, "毛利率为负")))
    assert span == "产品价格进一步下降,无法覆盖单位成本"  # the cause, without its connective 主要是


@pytest.mark.parametrize(("sentence", "expected"), [
    ("收入增长主要系受稀土矿市场价格上涨和销售规模增加共同作用所致。", "受稀土矿市场价格上涨和销售规模增加共同作用"),
    ("存货增加主要是由于受到出口管制影响，备库需求增加所致；在建工程增加主要是新建产能所致。", "受到出口管制影响，备库需求增加"),
    ("费用占比上升是因为稀土产品价格下降导致营业收入同比减少。", "稀土产品价格下降"),
    ("系偶发。", "系偶发"),  # too little left after trimming: the whole clause
    # the cue opens its clause: the cause is the clause before it, the effect the rest of the cue's clause
    ("但成本相对刚性,公司稀土材料单价无法覆盖单位成本,导致毛利率出现为负的情形,而同行业公司未出现。",
     "公司稀土材料单价无法覆盖单位成本,导致毛利率出现为负的情形"),
    ("产品价格下降导致毛利率为负,具有合理性。", "产品价格下降导致毛利率为负"),
    ("期末存货增加较多,备货增加所致。", "备货增加所致"),
])
def test_why_span_is_the_cause_alone(sentence: str, expected: str) -> None:
    assert _cut(sentence, why_span(sentence)) == expected


@pytest.mark.parametrize(("sentence", "question", "expected"), [
    # a lead-in word inside the name ("信永中和") is kept when cutting there would leave a generic name
    ("公司本次发行的申报会计师为信永中和会计师事务所(特殊普通合伙)。", "申报会计师是哪家事务所", "信永中和会计师事务所(特殊普通合伙)"),
    ("不存在不当利益输送等情形国务院国资委持有中国有研100%股权。", "Who owns China GRINM", "国务院国资委"),
    ("公司所属包头稀土研究院围绕镧铈开展研究。", "哪家研究院", "包头稀土研究院"),
    ("公司在《中国证券报》《上海证券报》发布公告。", "控股股东是谁", None),  # newspapers are not brokers
    ("中稀永州新材开始建设“五矿稀土江华兴华新材料有限公司5000t/a稀土分离加工项目”,目前在建。", "项目全称是什么",
     "五矿稀土江华兴华新材料有限公司5000t/a稀土分离加工项目"),
    ("标的公司按照产量法对江华县稀土矿采矿权进行摊销,并确定年限。", "采用什么方法摊销", "产量法"),
    ("董事、董事会秘书、首席合规官吴永钢先生，董事、财务总监宋泠女士参加了说明会。", "董事会秘书兼首席合规官是谁", "吴永钢"),
    ("源通新材料\t子公司\t稀土二次资源循环利用\t200,000,000", "哪家子公司做稀土二次资源循环利用", "源通新材料"),
    ("有研稀土新材料股份有限公司的董事长于敦波同时担任中国稀土集团的监事。", "Which individual links the two?", "于敦波"),
])
def test_entity_names_methods_people_and_row_labels(sentence: str, question: str, expected: str | None) -> None:
    assert _cut(sentence, entity_span(sentence, [], question)) == expected


@pytest.mark.parametrize(("sentence", "expected"), [
    ("同时在氢能、光功能、稀土铝镁合金等方面加强推广。", "氢能、光功能、稀土铝镁合金"),
    ("持股员工已设立汀龙投资、汀润投资、汀稀投资三个员工持股平台。", "汀龙投资、汀润投资、汀稀投资"),
    ("通过实施总量控制、严格开采许可审批、强化环境保护监管等一系列措施。", "实施总量控制、严格开采许可审批、强化环境保护监管"),
    ("6名关联董事章智强、邢立广、瞿业栋、李雪峰、白华裔、王占成", "章智强、邢立广、瞿业栋、李雪峰、白华裔、王占成"),
    ("分别为概念、计划、开发、验证、发布以及生命周期阶段，具体如下：", "概念、计划、开发、验证、发布以及生命周期"),
    ("预计负债的事项主要为土地复垦费、山场补偿费以及弃置费用,具体如下:", "土地复垦费、山场补偿费以及弃置费用"),
    ("计价货币主要为美元、欧元)依然存在外汇风险。", "美元、欧元"),
    ("公司采购双枪电子束熔炼炉、CVD晶体生长炉等设备用于生产靶材、硫化锌等产品。", "双枪电子束熔炼炉、CVD晶体生长炉"),
])
def test_list_items_from_lead_in_to_end_word(sentence: str, expected: str) -> None:
    assert _cut(sentence, list_span(sentence)) == expected


@pytest.mark.parametrize(("sentence", "asked", "expected"), [
    ("-四、本半年度报告未经会计师事务所审计", "", "本半年度报告未经会计师事务所审计"),
    ("2.本年度无已逾期未偿还的短期借款情况", "", "本年度无已逾期未偿还的短期借款情况"),
    ("截至本回复报告出具日,标的公司名下上述采矿权不存在被质押、抵押或被限制转让的情形,不涉及诉讼。", "采矿权",
     "标的公司名下上述采矿权不存在被质押、抵押或被限制转让的情形"),
    ("公司生产线能够满足全部稀土元素分离，能够实现包括中重稀土元素在内的单一稀土元素分离。", "中重稀土",
     "能够实现包括中重稀土元素在内的单一稀土元素分离"),
])
def test_yesno_span_is_the_polar_clause_about_what_is_asked(sentence: str, asked: str, expected: str) -> None:
    anchors = _after(sentence, asked) if asked else []
    assert _cut(sentence, yesno_span(sentence, anchors)) == expected


@pytest.mark.parametrize(("sentence", "question", "expected"), [
    ("新建废料回收生产线，批复产能为2000吨/年，预计明年投产。", "What approved annual capacity", "2000吨/年"),
    ("交易价格为不含税35313元/吨（干量，REO=50%）。", "What ex-tax price per tonne for concentrate", "35313元/吨"),
    ("收到预收款后2个月左右收回尾款。", "多长时间", "2个月左右"),
])
def test_number_units_rates_and_qualifiers(sentence: str, question: str, expected: str) -> None:
    assert _cut(sentence, number_span(sentence, [], question)) == expected


@pytest.mark.parametrize(("sentence", "expected"), [
    ("6月，公司建设的平台通过了技术鉴定。", "6月"),
    ("按照2022年第四季度稀土氧化物价格计算。", "2022年第四季度"),
    ("2025年4月中旬后发行人股价趋于稳定。", "2025年4月中旬"),
    ("废料回收生产线预计明年投产。", "明年"),
    ("2025年1-6月收入增长。", "2025年"),  # 1-6月 is a period, not a month
])
def test_dates_with_months_quarters_and_relative_years(sentence: str, expected: str) -> None:
    assert _cut(sentence, date_span(sentence, [])) == expected


@pytest.mark.parametrize(("sentence", "question", "expected"), [
    ("预计2024年度实现归属于母公司所有者的净利润为1.2亿元至1.5亿元,同比减少68%到45%。", "净利润是多少", "1.2亿元至1.5亿元"),
    ("预计净利润为1.2至1.5亿元。", "净利润是多少", "1.2至1.5亿元"),
    ("预计2024年半年度实现归属于母公司所有者的净利润为-1.6亿元至-2亿元。", "净利润是多少", "-1.6亿元至-2亿元"),
    ("公司预计同比增加200%-230%。", "增幅是多少", "200%-230%"),
    ("本次募集资金总额不超过人民币150亿元。", "募集资金是多少", "不超过人民币150亿元"),
    ("镧铈元素约占98%。", "占比是多少", "约占98%"),
    ("公司交易金额约36,258.11万元。", "交易金额是多少", "约36,258.11万元"),
    ("公司预计2024年实现营收430亿元以上。", "营收目标是多少", "430亿元以上"),
    ("证券代码：600111 证券简称：北方稀土 公告编号：2024-046", "北方稀土的股票代码是多少", "600111"),
])
def test_number_ranges_qualifiers_and_codes_stay_whole(sentence: str, question: str, expected: str) -> None:
    assert _cut(sentence, number_span(sentence, [], question)) == expected
