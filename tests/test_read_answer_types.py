"""The answer-type registry (read/answer_types.py) and the word lists it reads (resources/wordlists.py)."""

from __future__ import annotations

import re

import pytest

from qa_engine.errors import ConfigError
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.answer_types import (
    ANSWER_TYPES,
    AnswerType,
    AnswerTypes,
    Target,
    TypeFeature,
    check_question_tags,
    question_pattern,
)
from qa_engine.read.features import FEATURES, Asked, SentenceView, answer_span, feature_names, featurize
from qa_engine.resources.wordlists import KNOWN_TAGS, load_word_list, parse_word_list


@pytest.mark.parametrize(("question", "qtype"), [
    ("北方稀土2023年毛利率为何下降？", "why"),
    ("Why did the gross margin of Northern Rare Earth fall in 2023?", "why"),
    ("公司2024年末员工总数是多少人？", "number"),
    ("How many employees did the company have at the end of 2024?", "number"),
    ("业绩说明会在什么时候召开？", "date"),
    ("When was the results briefing held?", "date"),
    ("为公司提供审计服务的会计师事务所叫什么？", "entity"),
    ("Who audited the 2024 annual report?", "entity"),
    ("公司的主要产品包括什么？", "list"),
    ("What are the main products of the company?", "list"),
    ("本次关联交易是否需要提交股东大会审议？", "yesno"),
    ("Does the related-party transaction need shareholder approval?", "yesno"),
    ("介绍一下公司的稀土业务。", "fact"),
    ("Tell me about the rare earth business.", "fact"),
])
def test_each_type_is_detected_in_chinese_and_english(question: str, qtype: str) -> None:
    assert ANSWER_TYPES.detect(question) == qtype


def test_detection_follows_priority_not_feature_order() -> None:
    assert ANSWER_TYPES.names == ("why", "number", "date", "entity", "list", "yesno", "fact")
    assert [name for name, _ in ANSWER_TYPES.detection_order()] == ["why", "list", "date", "number", "entity", "yesno"]
    assert ANSWER_TYPES.question_cue("哪些原因导致毛利率下降？") == ("why", "原因")


def test_feature_names_follow_the_registry() -> None:
    assert FEATURES == feature_names(ANSWER_TYPES)
    assert "cause_adjacency" in FEATURES and FEATURES.index("cause_adjacency") == FEATURES.index("answer_novelty") + 1
    assert [f for f in FEATURES if f.startswith("cue_")] == [f"cue_{name}" for name in ANSWER_TYPES.names]


def test_shipped_lists_load_once_and_keep_file_order() -> None:
    causal = load_word_list("causal_cues.tsv")
    assert causal is load_word_list("causal_cues.tsv")
    lead = causal.texts("lead")
    assert lead.index("主要是由于") < lead.index("主要是") and lead[-1] == "系"
    assert "主要系" in causal.texts("connective") and "受到" not in causal.texts("connective")
    assert set(causal.texts("trailing")) == {"所致", "导致"}
    for name in KNOWN_TAGS:
        assert load_word_list(name).words, name


def test_company_suffixes_are_one_list_for_metadata_and_reader() -> None:
    from qa_engine.ingest.metadata import COMPANY_NAME, SIGNER
    from qa_engine.read.spans import ORG_SUFFIX

    suffixes = load_word_list("organisation_suffixes.tsv")
    assert suffixes.texts("company") == ("股份有限公司", "集团有限公司", "有限责任公司", "有限公司", "股份公司")
    company = COMPANY_NAME.search("发行人：福建省金龙稀土股份有限公司")
    assert company is not None and company.group(1) == "福建省金龙稀土股份有限公司"
    assert "事务所(?:[(（]特殊普通合伙[)）])?" in ORG_SUFFIX and "研究院" in ORG_SUFFIX
    assert suffixes.texts("signer") == ("有限公司", "股份公司")
    assert SIGNER.search("中国北方稀土（集团）高科技股份有限公司") and not SIGNER.search("华泰联合证券有限责任公司")


@pytest.mark.parametrize(("text", "message"), [
    ("主要系\tlead\n由于 lead\n", "cues.tsv:2: expected 'word<TAB>tags"),
    ("# comment\n\n主要系\tlead\n因为\tlead,cause\n", "cues.tsv:4: unknown tags ['cause']"),
    ("主要系\tlead,\n", "cues.tsv:1: empty tag"),
    ("受[^，影响\tlead\n", "cues.tsv:1: '受[^，影响' is not a valid pattern"),
    ("\tlead\n", "cues.tsv:1: expected"),
    ("证券\tlead\t(?!报\textra\n", "cues.tsv:1: expected"),
])
def test_a_malformed_row_names_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_word_list("cues.tsv", text, {"lead"})


def test_an_unknown_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown word list 'causes.tsv'"):
        load_word_list("causes.tsv")


def test_question_pattern_joins_chinese_then_english_rows_with_word_classes() -> None:
    patterns = parse_word_list("q.tsv", "几成\tshare,zh\n\\bwhat ({{noun}})\\b\tshare,en\n多少\tnumber,zh\n")
    classes = parse_word_list("w.tsv", "stake\tnoun\nportion\tnoun\n")
    pattern = question_pattern(patterns, classes, "share")
    assert pattern.pattern == r"几成|\bwhat (stake|portion)\b"
    assert pattern.search("What PORTION is held?") and not pattern.search("持股多少")
    with pytest.raises(ConfigError, match=re.escape("{{nouns}} in a question pattern: w.tsv has no row tagged 'nouns'")):
        question_pattern(parse_word_list("q.tsv", "\\bwhat {{nouns}}\tshare,en\n"), classes, "share")


def test_a_question_pattern_tagged_with_no_registered_type_is_refused() -> None:
    patterns = parse_word_list("q.tsv", "为什么\twhy,zh\n几成\tshare,zh\n")
    with pytest.raises(ConfigError, match=re.escape("q.tsv:2: tag one answer type")):
        check_question_tags(patterns, ANSWER_TYPES)


def _percent_span(sentence: str, target: Target) -> tuple[int, int] | None:
    match = re.search(r"\d+(?:\.\d+)?%", sentence)
    return match.span() if match else None


PERCENT = AnswerType(
    "percent", re.compile(r"百分之几|\bwhat percent"), -1, lambda s: float("%" in s), _percent_span,
    (TypeFeature("percent_after_focus", lambda s, t: float(any(s.find("%", a) >= 0 for a in t.anchors))),),
)
WITH_PERCENT = AnswerTypes((*ANSWER_TYPES.types, PERCENT), fallback="fact")


def _asked(qtype: str) -> Asked:
    return Asked.of(QuestionAnalysis(
        question="控股股东持股比例是百分之几？", lang="zh", qtype=qtype, years=(), terms=("控股股东", "持股比例"),
        named_docs=frozenset(), weights=(2.0, 3.0), focus=("持股比例",),
    ))


def test_a_type_added_to_a_registry_is_detected_and_featurized() -> None:
    assert WITH_PERCENT.detect("控股股东持股比例是百分之几？") == "percent"
    assert ANSWER_TYPES.detect("控股股东持股比例是百分之几？") == "number"
    sentence = "截至报告期末，控股股东持股比例为36.49%，较上年末增加2个百分点。"
    view = SentenceView(sentence, sentence, sentence, 0)
    names = feature_names(WITH_PERCENT)
    values = dict(zip(names, featurize(_asked("percent"), view, WITH_PERCENT)))
    assert len(names) == len(FEATURES) + 4
    assert values["cue_percent"] == 1.0 and values["span_percent"] == 1.0 and values["type_percent"] == 1.0
    assert values["percent_after_focus"] == 1.0 and values["cue_number"] == 0.0 and values["type_number"] == 0.0
    assert sentence[slice(*answer_span(_asked("percent"), sentence, WITH_PERCENT) or (0, 0))] == "36.49%"
    shipped = dict(zip(FEATURES, featurize(_asked("number"), view)))
    with_number = dict(zip(names, featurize(_asked("number"), view, WITH_PERCENT)))
    assert all(with_number[name] == value for name, value in shipped.items())
    assert with_number["percent_after_focus"] == 0.0 and with_number["type_percent"] == 0.0


def test_target_anchors_are_the_focus_ends_else_the_topic_ends() -> None:
    sentence = "公司毛利率为负主要系原材料价格上涨，毛利率为负的情况已改善。"
    assert Target(sentence, focus=("毛利率",), topic=("原材料",)).anchors == (5, 21)
    assert Target(sentence, focus=("净利润",), topic=("原材料",)).anchors == (13,)
    assert Target(sentence, focus=("净利润",)).anchors == ()


def test_a_registry_refuses_repeated_names_and_an_unknown_fallback() -> None:
    with pytest.raises(ConfigError, match="repeat"):
        AnswerTypes((*ANSWER_TYPES.types, ANSWER_TYPES.types[0]), fallback="fact")
    with pytest.raises(ConfigError, match="'other'"):
        AnswerTypes(ANSWER_TYPES.types, fallback="other")
