"""The segmenters agree (rjieba cuts as jieba does), and chunk terms joined from sentences equal a whole cut."""

from __future__ import annotations

import random

import pytest

from qa_engine.chunk.tokenizer import FinanceTokenizer, rjieba_available, safe_junction
from qa_engine.ingest.sentences import split_sentences
from qa_engine.models import Document

needs_rjieba = pytest.mark.skipif(not rjieba_available(), reason="rjieba is not installed")
QUERIES = ["为什么有研新材2024年稀土材料毛利率为负？", "Why was GRINM's rare-earth gross margin negative in 2024?",
           "REO品位每增减1%价格调整", "营业收入1,234.56万元，同比增长12.5%", "㐀龥 𠀀 稀土"]


@pytest.fixture(scope="module")
def sentences(engine) -> list[str]:  # type: ignore[no-untyped-def]
    docs: list[Document] = [engine.document(info.doc_id) for info in engine.documents()]
    return [d.text[s.start : s.end] for d in docs for s in split_sentences(d.text)]


@pytest.fixture(scope="module")
def company_words(engine) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tuple(engine._snapshot.manifest.company_words)


@needs_rjieba
def test_rjieba_cuts_every_sentence_and_query_as_jieba_does(sentences, company_words) -> None:
    jieba_cut = FinanceTokenizer(company_words, segmenter="jieba")
    rjieba_cut = FinanceTokenizer(company_words, segmenter="rjieba")
    texts = sentences + QUERIES
    assert [rjieba_cut.words(t) for t in texts] == [jieba_cut.words(t) for t in texts]
    assert [rjieba_cut.search_terms(t) for t in texts] == [jieba_cut.search_terms(t) for t in texts]


@pytest.mark.parametrize("segmenter", ["jieba", pytest.param("rjieba", marks=needs_rjieba)])
def test_count_and_terms_is_count_and_search_terms(sentences, company_words, segmenter) -> None:
    tokenizer = FinanceTokenizer(company_words, segmenter=segmenter)
    for text in sentences[::7] + QUERIES:
        assert tokenizer.count_and_terms(text) == (tokenizer.count(text), tokenizer.search_terms(text))


def test_terms_split_at_a_safe_junction_are_the_terms_of_the_whole(sentences, company_words) -> None:
    tokenizer = FinanceTokenizer(company_words, segmenter="jieba")
    rng = random.Random(0)
    text = "".join(sentences[:400]) + "".join(QUERIES)
    checked = 0
    for cut in rng.sample(range(1, len(text)), 600):
        left, right = text[max(0, cut - 40) : cut], text[cut : cut + 40]
        if safe_junction(left, right):
            checked += 1
            assert tokenizer.search_terms(left + right) == tokenizer.search_terms(left) + tokenizer.search_terms(right)
    assert checked > 50


def test_junctions_that_can_join_a_word_or_a_number_are_unsafe() -> None:
    assert not safe_junction("稀土", "材料")
    assert not safe_junction("营业收入1", ",234")
    assert not safe_junction("增长12", ".5%")
    assert not safe_junction("REO", "品位")
    assert safe_junction("毛利率为负。", "公司")
    assert safe_junction("毛利率", "，公司")
