"""Question analysis: type, period, named companies and the content terms an answer must cover."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.retrieve.query import QueryPlan

QTYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("why", re.compile(r"为什么|为何|原因|何故|缘由|怎么会|\bwhy\b|\breasons?\b|\bcause[sd]?\b|\bwhat (drove|caused|led)", re.IGNORECASE)),
    ("list", re.compile(r"哪些|有哪几|列举|包括什么|包含什么|\bwhich (\w+ )?(are|were)\b|\blist\b|\bwhat are\b|\bwhat were\b", re.IGNORECASE)),
    ("date", re.compile(r"何时|什么时候|哪一?天|哪一?年|哪个月|日期|时间是|\bwhen\b|\bwhat (date|day|year|time)\b|\bon which date\b", re.IGNORECASE)),
    ("number", re.compile(r"多少|几[个家名人次年]|多大|多高|多长|多久|金额|比例|比率|占比|百分之|规模|\bhow (much|many|large|big|high|long)\b"
                          r"|\bwhat (was|is|were|are) the (\w+ ){0,4}(amount|ratio|rate|margin|price|number|percentage|share|value|revenue|profit|total)\b"
                          r"|\bpercentage\b", re.IGNORECASE)),
    ("entity", re.compile(r"谁|哪家|哪个|哪位|什么公司|什么机构|名称|\bwho\b|\bwhich (company|firm|entity|bank|institution|auditor|sponsor)\b"
                          r"|\bwhat is the name\b|\bname of\b", re.IGNORECASE)),
    ("yesno", re.compile(r"是否|有没有|是不是|会不会|能否|可否|吗[？?]?$|^(is|are|does|did|do|was|were|has|have|had|can|will|could|should)\b", re.IGNORECASE)),
)
YEAR = re.compile(r"(20\d{2}|19\d{2})")
QUESTION_WORDS = frozenset(
    ["为什么", "为何", "原因", "多少", "哪些", "何时", "什么", "时候", "是否", "谁", "哪家", "哪个", "怎么", "如何", "请问", "情况", "主要", "有", "没有", "是不是", "why", "what", "how", "when", "which", "who", "whom", "whose", "is", "are", "was", "were", "did", "does", "do", "the", "a", "an", "of", "in", "for", "on", "to", "and", "or", "its", "it", "reason", "reasons", "cause", "much", "many", "there", "has", "have", "had", "be", "been", "will", "would", "can", "could", "should", "吗", "呢"]
)


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


def detect_qtype(question: str) -> str:
    for name, pattern in QTYPE_PATTERNS:
        if pattern.search(question.strip()):
            return name
    return "fact"


def analyse_question(plan: QueryPlan, tokenizer: FinanceTokenizer, idf: Callable[[str], float],
                     known: Callable[[str], bool], company_words: frozenset[str] = frozenset()) -> QuestionAnalysis:
    """Content terms weighted by idf; glossary expansions the corpus never uses are dropped."""
    original = set(tokenizer.search_terms(plan.original))
    terms = [t for t in tokenizer.search_terms(plan.search_text) if t not in QUESTION_WORDS and not t.isascii()]
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
