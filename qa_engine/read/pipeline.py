"""One question → Answer: resolve follow-ups, retrieve, read, abstain or cite."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from qa_engine.index.snapshot import Snapshot
from qa_engine.models import Answer, Citation, Hit, Turn
from qa_engine.read.analysis import QuestionAnalysis, analyse_question
from qa_engine.read.base import Extraction, Passage, Reader
from qa_engine.read.followup import asked_years, resolve_followup, without_premise
from qa_engine.read.heuristic import calibrated_threshold
from qa_engine.retrieve.query import QueryPlan
from qa_engine.settings import Settings


@dataclass(frozen=True)
class Stopwatch:
    started: float

    def ms_since(self, mark: float) -> float:
        return round((time.perf_counter() - mark) * 1000, 3)


@dataclass(frozen=True)
class Reading:
    """What the reader sees for one question: the resolved question, its analysis and the ranked passages
    (those of the named company's filings when the question names one and they were retrieved)."""

    resolved: str
    plan: QueryPlan
    analysis: QuestionAnalysis
    hits: list[Hit]
    passages: list[Passage]


def prepare_reading(
    question: str,
    history: list[Turn],
    search: Callable[[QueryPlan, int], list[Hit]],
    planner: Callable[[str], QueryPlan],
    snapshot: Snapshot,
    k: int,
) -> Reading:
    companies = lambda text: _company_names(snapshot, planner(text))
    resolved = resolve_followup(question, history, companies) if history else question
    plan = planner(resolved)
    analysis = analyse_question(plan, snapshot.tokenizer, snapshot.idf, snapshot.term_idf.__contains__,
                                frozenset(snapshot.manifest.company_words))
    hits = search(plan, k)
    passages = [Passage(h, snapshot.documents[h.doc_id], i) for i, h in enumerate(hits)]
    return Reading(resolved, plan, analysis, hits, _about_named_company(plan, passages))


def _about_named_company(plan: QueryPlan, passages: list[Passage]) -> list[Passage]:
    """The passages from the filings of the company the question names, when there are any: "北方稀土的…" is
    not answered from another company's filing that happens to mention 北方稀土."""
    named = [p for p in passages if p.document.doc_id in plan.named_docs]
    return named or passages


def answer_question(
    question: str,
    history: list[Turn],
    search: Callable[[QueryPlan, int], list[Hit]],
    planner: Callable[[str], QueryPlan],
    reader: Reader,
    snapshot: Snapshot,
    settings: Settings,
    k: int,
    started: float,
) -> Answer:
    timings: dict[str, float] = {}
    clock = Stopwatch(started)
    mark = time.perf_counter()
    reading = prepare_reading(question, history, search, planner, snapshot, k)
    timings["retrieve_ms"] = clock.ms_since(mark)
    mark = time.perf_counter()
    extraction = reader.read(reading.analysis, reading.passages)
    years = asked_years(question, reading.resolved)
    if years and not _states_year(snapshot, extraction, years):
        # "那2023年呢？" after "为什么2024年毛利率为负": the premise may not hold for 2023; read what the filing
        # says about the topic in 2023, and abstain rather than answer with another year's sentence
        reading = prepare_reading(without_premise(reading.resolved), [], search, planner, snapshot, k)
        extraction = reader.read(reading.analysis, reading.passages)
        extraction = extraction if _states_year(snapshot, extraction, years) else None
    timings["read_ms"] = clock.ms_since(mark)
    timings["total_ms"] = clock.ms_since(started)
    resolved = reading.resolved
    found = extraction is not None and extraction.score >= abstain_threshold(settings, reader)
    return Answer(
        question=question, qtype=reading.analysis.qtype, hits=tuple(reading.hits), timings=timings,
        lang=reading.plan.lang, resolved_question=resolved if resolved != question else None,
        confidence=round(extraction.score if extraction is not None else 0.0, 4),
        text=_answer_text(snapshot, extraction) if found and extraction else None,
        citations=(_citation(snapshot, extraction),) if found and extraction else (),
        sentence=_sentence(snapshot, extraction) if found and extraction else None,
        answer_start=extraction.answer_start if found and extraction else None,
        answer_end=extraction.answer_end if found and extraction else None,
    )


def abstain_threshold(settings: Settings, reader: Reader | None = None) -> float:
    """QA_ABSTAIN_THRESHOLD when set, else the reader's own calibrated threshold (the heuristic reader's for a
    reader that brings none)."""
    if settings.abstain_threshold is not None:
        return settings.abstain_threshold
    own = getattr(reader, "abstain_threshold", None)
    return float(own) if own is not None else calibrated_threshold()


def _states_year(snapshot: Snapshot, extraction: Extraction | None, years: tuple[str, ...]) -> bool:
    """Return True when the extracted sentence is about one of `years`."""
    return extraction is not None and any(y in _sentence(snapshot, extraction) for y in years)


def _company_names(snapshot: Snapshot, plan: QueryPlan) -> list[str]:
    names = [snapshot.documents[d].meta.short_name or snapshot.documents[d].meta.company for d in sorted(plan.named_docs)]
    return list(dict.fromkeys(n for n in names if n))


def _answer_text(snapshot: Snapshot, ex: Extraction) -> str:
    return snapshot.documents[ex.doc_id].text[ex.answer_start : ex.answer_end]


def _sentence(snapshot: Snapshot, ex: Extraction) -> str:
    return snapshot.documents[ex.doc_id].text[ex.sentence_start : ex.sentence_end]


def _citation(snapshot: Snapshot, ex: Extraction) -> Citation:
    """Quotes the whole answer sentence: exactly the stored canonical text at [start:end]."""
    doc = snapshot.documents[ex.doc_id]
    return Citation(
        doc_id=doc.doc_id, title=doc.meta.label() or doc.source, company=doc.meta.short_name or doc.meta.company,
        page=doc.page_at(ex.sentence_start), section=ex.hit.section, start=ex.sentence_start, end=ex.sentence_end,
        quote=doc.text[ex.sentence_start : ex.sentence_end],
    )
