"""Question analysis: type, period, named companies and the content terms an answer must cover."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.read.qtypes import QTYPE_PATTERNS, detect_qtype
from qa_engine.resources.wordlists import load_word_list
from qa_engine.retrieve.query import QueryPlan

# a year written as a year (2024年, FY2023, 2024.12.31), not the digits of 20000万元, 2,024 or 2024.56万元
YEAR = re.compile(r"(?<![\d,.])(20\d{2}|19\d{2})(?!\d|,\d|\.\d++(?!\.\d))")
QUESTION_WORDS = frozenset(load_word_list("question_stopwords.tsv").texts("stop"))


@dataclass(frozen=True)
class QuestionAnalysis:
    question: str
    lang: str
    qtype: str
    years: tuple[str, ...]
    terms: tuple[str, ...]  # Chinese content terms (English questions go through the glossary first)
    named_docs: frozenset[str]
    weights: tuple[float, ...] = ()  # one per term: corpus idf
    company_terms: frozenset[str] = frozenset()  # terms that only name a company
    focus: tuple[str, ...] = ()  # the terms next to the question word: what exactly is asked ("锁定期多长" → 锁定期)


FOCUS_WINDOW = 6


def analyse_question(plan: QueryPlan, tokenizer: FinanceTokenizer, idf: Callable[[str], float],
                     known: Callable[[str], bool], company_words: frozenset[str] = frozenset()) -> QuestionAnalysis:
    """Content terms weighted by idf; glossary expansions the corpus never uses are dropped."""
    original = set(tokenizer.search_terms(plan.original))
    terms = [t for t in tokenizer.search_terms(plan.reader_text) if t not in QUESTION_WORDS and not t.isascii()]
    terms = [t for t in dict.fromkeys(terms) if t in original or known(t)]
    years = tuple(dict.fromkeys(YEAR.findall(plan.original)))
    terms += [y for y in years if y not in terms]
    return QuestionAnalysis(
        question=plan.original, lang=plan.lang, qtype=detect_qtype(plan.original), years=years,
        terms=tuple(terms), named_docs=plan.named_docs, weights=tuple(idf(t) for t in terms),
        company_terms=frozenset(t for t in terms if t in company_words),
        focus=_focus_terms(plan.original, terms, set(years) | company_words),
    )


def _focus_terms(question: str, terms: list[str], exclude: set[str]) -> tuple[str, ...]:
    """Content terms within a few characters of the question word (Chinese questions only)."""
    for _, pattern in QTYPE_PATTERNS:
        match = pattern.search(question)
        if match and not match.group().isascii():
            window = question[max(0, match.start() - FOCUS_WINDOW) : match.end() + FOCUS_WINDOW]
            return tuple(t for t in terms if t in window and t not in exclude)
    return ()
