"""Question analysis: type, period, named companies and the content terms an answer must cover."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.retrieve.query import QueryPlan

# English verbs ending in -s that follow "which <noun>" ("which broker serves…"): not plural nouns
_S_VERBS = r"(?:serves|makes|does|has|holds|owns|runs|provides|acts|counts|uses|sits|links|leads|buys|sells|pays|supplies|produces|manages|operates|controls|plans|expects|says|reports|needs|means|takes|gives|is|was)"
_PLURAL_NOUN = r"(?!" + _S_VERBS + r"\b)[a-z][\w-]*(?:ies|[^su\W]s)\b"
_QUANTITY_NOUN = (r"revenues?|profits?|margin|prices?|capacity|stake|quota|volume|output|ratio|rate|roe|reserves|amount|percentage"
                  r"|share|value|total|costs?|coverage|weight|income|cap|balance|headcount|size")
_ENTITY_NOUN = (r"company|firm|entity|bank|institution|institute|auditor|sponsor|broker|subsidiary|group|customer|supplier"
                r"|shareholder|controller|individual|person|meeting|committee|department|regulator|exchange|process|method"
                r"|platform|project|body|agency|authority|law firm|accounting firm|counsel")

QTYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("why", re.compile(r"为什么|为何|为啥|凭什么|原因|理由|何故|缘由|怎么会|什么因素|\bwhy\b|\breasons?\b|\bcause[sd]?\b"
                       r"|\bwhat (drove|caused|led|explains)\b|\bhow come\b|\bhow (can|could)\b|\bhow (was|were|is|are|did) [^?]{1,80}\bable to\b",
                       re.IGNORECASE)),
    ("list", re.compile(r"哪些|有哪几|哪[几两三四五六七八九十]个?(?!个?月)[\u4e00-\u9fff]|列举|包括什么|包含什么"
                        r"|\bwhich (\w+ )?(are|were)\b|\bwhich ((?!" + _S_VERBS + r"\b)[\w-]+ ){0,3}?" + _PLURAL_NOUN + r"|\bwhat (\w+ ){0,2}?(types|kinds|measures|methods|steps|products|risks)\b"
                        r"|^(list|name)\b|\bwho (are|were)\b|\bwhat are\b|\bwhat were\b", re.IGNORECASE)),
    ("date", re.compile(r"何时|什么时候|哪一?天|哪一?年|哪个月|哪几个月|几月|日期|时间是|\bwhen\b|\bwhat (date|day|year|time|month)\b"
                        r"|\bon which date\b|\bat what point\b|\bin which (year|month|quarter)\b", re.IGNORECASE)),
    ("number", re.compile(r"多少|几[个家名人次年]|多大|多高|多长|多久|金额|比例|比率|占比|百分之|\bhow (much|many|large|big|high|long|far)\b"
                          r"|\bwhat\b[^?]{0,80}?\b(" + _QUANTITY_NOUN + r")\b|\bpercentage\b", re.IGNORECASE)),
    ("entity", re.compile(r"谁|哪家|哪个|哪位|哪次|哪一?条|哪项|什么公司|什么机构|什么名字|叫什么|全称|名称|什么方法|什么工艺"
                          r"|\bwho\b|\bwhich\b|\bwhat (\w+[- ]){0,2}?(" + _ENTITY_NOUN + r")\b|\baddress\b"
                          r"|\bwhat is the name\b|\bname of\b", re.IGNORECASE)),
    ("yesno", re.compile(r"是否|有没有|是不是|会不会|能否|可否|吗[？?]?$|^([^,?]{1,80},\s*)?(is|are|does|did|do|was|were|has|have|had|can|will|could|should)\b", re.IGNORECASE)),
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
