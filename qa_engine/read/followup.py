"""Resolve follow-up questions against earlier turns: carry company, period and topic, offline and deterministic.

"那2023年呢？" after "为什么有研新材2024年稀土材料毛利率为负？" → "为什么有研新材2023年稀土材料毛利率为负？"
"它的存货为什么增加？" → "有研新材的存货为什么增加？"; "And in 2023?" after "Why was GRINM's gross margin negative
in 2024?" → "Why was GRINM's gross margin negative in 2023?"; "and what about inventory?" → "Why GRINM inventory 2024"

A year swapped into an earlier question carries that question's premise ("为负", "negative"), which the filing may
contradict for the new year: `without_premise` gives the question to read instead, and the answer must be about
the year asked (`asked_years`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from qa_engine.lazy_regex import lazy
from qa_engine.models import Turn
from qa_engine.read.analysis import YEAR
from qa_engine.read.qtypes import question_cue
from qa_engine.retrieve.glossary import is_english

PRONOUN = lazy(r"它的|它们的|该公司的?|这家公司的?|其(?=[\u4e00-\u9fff])|它|\b(its|it|this company|the company|they|their)\b", re.IGNORECASE)
FRAGMENT = re.compile(r"^(那么?|还有|and what about\b|and how about\b|what about\b|how about\b|what of\b|and\b)|呢[？?]?$", re.IGNORECASE)
FRAGMENT_MAX_CHARS = 14
# "And in 2023?", "what about for FY2023 then?": words around a year that do not name a new topic
EN_FILLER = re.compile(r"\b(?:in|for|of|during|the|year|fy|then|fiscal)\b", re.IGNORECASE)
# An English company mention: capitalised words ("GRINM's" → GRINM, "China Northern Rare Earth")
EN_NAME = re.compile(r"[A-Z][\w&.\-]*(?:\s+(?:[A-Z(][\w&.\-()]*|of|and|&))*")
ZH_PREMISE = re.compile(r"(?:大幅|明显|持续|出现)?(?:为负|为正|转负|转正|亏损|盈利|下降|下滑|上升|增加|增长|减少|降低|提升|提高"
                        r"|波动|变动|变化)(?=[？?。！!\s]*$)")
EN_PREMISE = re.compile(r"\s*\b(?:negative|positive|lower|higher|down|up|declin\w*|dropp?\w*|f[ae]ll\w*|rise|rose|risen"
                        r"|increas\w*|decreas\w*|grow\w*|grew|loss-making|unprofitable)\b", re.IGNORECASE)


def resolve_followup(question: str, history: Sequence[Turn], companies_in: Callable[[str], list[str]]) -> str:
    """The question made self-contained using the earlier user turns; unchanged when it already is."""
    previous = _context_question(history, companies_in)
    return question if previous is None else _resolve_against(question, previous, companies_in)


def _context_question(history: Sequence[Turn], companies_in: Callable[[str], list[str]]) -> str | None:
    """The last user question, itself resolved against the turns before it ("那2023年呢？" then "它的存货呢？")."""
    context = None
    for turn in history:
        if turn.role == "user" and turn.content.strip():
            text = turn.content.strip()
            context = text if context is None else _resolve_against(text, context, companies_in)
    return context


def asked_years(question: str, resolved: str) -> tuple[str, ...]:
    """The years a follow-up itself names ("那2023年呢？" → 2023) when resolution rewrote it: its answer must be
    about them, never a sentence about the earlier year only."""
    return tuple(dict.fromkeys(YEAR.findall(question))) if resolved != question else ()


def without_premise(question: str) -> str:
    """The question without the claim it makes about its topic ("为什么2023年毛利率为负" → "为什么2023年毛利率"),
    so what the filing says about the topic is read, whatever it says."""
    if is_english(question):
        return " ".join(EN_PREMISE.sub("", question).split())
    return ZH_PREMISE.sub("", question)


def _resolve_against(question: str, previous: str, companies_in: Callable[[str], list[str]]) -> str:
    company = _english_name(previous, companies_in) if is_english(question) and is_english(previous) else None
    company = company or next(iter(companies_in(previous)), None)
    if _is_fragment(question):
        return _merge_fragment(question, previous, company)
    resolved = question
    if company and not companies_in(question):
        resolved = PRONOUN.sub(company, resolved, count=1) if PRONOUN.search(resolved) else f"{company} {resolved}"
    if not YEAR.search(resolved):
        years = YEAR.findall(previous)
        if years:
            resolved = f"{resolved} {years[-1]}"
    return resolved


def _is_fragment(question: str) -> bool:
    core = re.sub(r"[\s？?。.!！]", "", question)
    return bool(FRAGMENT.search(question.strip())) and (len(core) <= FRAGMENT_MAX_CHARS or question.isascii())


def _merge_fragment(question: str, previous: str, company: str | None) -> str:
    """A year-only fragment swaps the year in the previous question; a topic fragment ("那存货呢？") asks the
    previous question's kind of question about the new topic, for the same company and year."""
    body = FRAGMENT.sub("", question.strip()).strip(" ？?。.")
    years = YEAR.findall(body)
    rest = EN_FILLER.sub("", YEAR.sub("", body).replace("年", "")).strip(" ，,的")
    if years and not rest:
        return YEAR.sub(years[0], previous, count=1) if YEAR.search(previous) else f"{previous} {years[0]}"
    year = years[0] if years else next(iter(YEAR.findall(previous)[-1:]), "")
    return " ".join(part for part in (_question_word(previous), company, rest, year) if part)


def _question_word(question: str) -> str:
    """What kind of question the previous turn asked: its question word ("为什么", "how much")."""
    found = question_cue(question)
    return found[1] if found else ""


def _english_name(question: str, companies_in: Callable[[str], list[str]]) -> str | None:
    """How an English question names its company ("GRINM"), so an English follow-up stays English."""
    names = [m.group().strip() for m in EN_NAME.finditer(question)]
    return next((n for n in sorted(names, key=len, reverse=True) if companies_in(n)), None)
