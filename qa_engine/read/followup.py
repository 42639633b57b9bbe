"""Resolve follow-up questions against earlier turns: carry company, period and topic, offline and deterministic.

"那2023年呢？" after "为什么有研新材2024年稀土材料毛利率为负？" → "为什么有研新材2023年稀土材料毛利率为负？"
"它的存货为什么增加？" → "有研新材的存货为什么增加？"; "and what about inventory?" → "有研新材 2024 inventory"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from qa_engine.models import Turn
from qa_engine.read.analysis import YEAR

PRONOUN = re.compile(r"它的|它们的|该公司的?|这家公司的?|其(?=[\u4e00-\u9fff])|它|\b(its|it|this company|the company|they|their)\b", re.IGNORECASE)
FRAGMENT = re.compile(r"^(那么?|那|还有|and\b|what about\b|how about\b|and what about\b|what of\b)|呢[？?]?$", re.IGNORECASE)
FRAGMENT_MAX_CHARS = 14


def resolve_followup(question: str, history: Sequence[Turn], companies_in: Callable[[str], list[str]]) -> str:
    """The question made self-contained using the last user turn; unchanged when it already is."""
    previous = _last_user_question(history)
    if previous is None:
        return question
    company = next(iter(companies_in(previous)), None)
    named_now = companies_in(question)
    if _is_fragment(question):
        return _merge_fragment(question, previous)
    resolved = question
    if company and not named_now:
        resolved = PRONOUN.sub(company, resolved, count=1) if PRONOUN.search(resolved) else f"{company} {resolved}"
    if not YEAR.search(resolved):
        years = YEAR.findall(previous)
        if years:
            resolved = f"{resolved} {years[-1]}"
    return resolved


def _last_user_question(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user" and turn.content.strip():
            return turn.content.strip()
    return None


def _is_fragment(question: str) -> bool:
    core = re.sub(r"[\s？?。.!！]", "", question)
    return bool(FRAGMENT.search(question.strip())) and (len(core) <= FRAGMENT_MAX_CHARS or question.isascii())


def _merge_fragment(question: str, previous: str) -> str:
    """A year-only fragment swaps the year in the previous question; otherwise topic words are added to it."""
    body = FRAGMENT.sub("", question.strip()).strip(" ？?。.")
    years = YEAR.findall(body)
    rest = YEAR.sub("", body).replace("年", "").strip(" ，,的")
    if years and not rest:
        return YEAR.sub(years[0], previous, count=1) if YEAR.search(previous) else f"{previous} {years[0]}"
    kept = " ".join(YEAR.findall(previous)[-1:] if not years else years)
    return f"{_subject_of(previous)} {rest} {kept}".strip()


def _subject_of(previous: str) -> str:
    """The company-ish head of the previous question (named companies are found again downstream)."""
    return previous.rstrip("？?。.")
