"""One question → what the reader extracted: resolve follow-ups, retrieve, read (the answer stage decides)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from qa_engine.index.snapshot import Snapshot
from qa_engine.models import Hit, Turn
from qa_engine.read.analysis import QuestionAnalysis, analyse_question
from qa_engine.read.base import Extraction, Passage, Reader
from qa_engine.read.followup import asked_years, resolve_followup, without_premise
from qa_engine.retrieve.query import QueryPlan


class Retriever(Protocol):
    """Plans and searches questions over one snapshot (the engine binds a question's filters to it)."""

    @property
    def snapshot(self) -> Snapshot: ...

    def plan(self, text: str) -> QueryPlan: ...

    def retrieve(self, plan: QueryPlan, k: int) -> list[Hit]:
        """The k best hits for `plan`, best first."""
        ...


@dataclass(frozen=True)
class Reading:
    """What the reader sees for one question: the resolved question, its analysis and the ranked passages
    (those of the named company's filings when the question names one and they were retrieved)."""

    resolved: str
    plan: QueryPlan
    analysis: QuestionAnalysis
    hits: list[Hit]
    passages: list[Passage]


@dataclass(frozen=True)
class ReadOutcome:
    """What reading one question gave: what the reader saw, what it extracted (None: nothing) and the timings."""

    question: str
    reading: Reading
    extraction: Extraction | None
    timings: dict[str, float]  # retrieve_ms, read_ms


def prepare_reading(question: str, history: list[Turn], retriever: Retriever, k: int) -> Reading:
    snapshot = retriever.snapshot
    resolved = resolve_followup(question, history, lambda text: _company_names(snapshot, retriever.plan(text))) \
        if history else question
    plan = retriever.plan(resolved)
    analysis = analyse_question(plan, snapshot.tokenizer, snapshot.idf, snapshot.term_idf.__contains__,
                                frozenset(snapshot.manifest.company_words))
    hits = retriever.retrieve(plan, k)
    documents = [snapshot.documents.get(h.doc_id) for h in hits]  # None: removed by a write since the search
    passages = [Passage(h, doc, i) for i, (h, doc) in enumerate(zip(hits, documents, strict=True)) if doc is not None]
    return Reading(resolved, plan, analysis, hits, _about_named_company(plan, passages))


def _about_named_company(plan: QueryPlan, passages: list[Passage]) -> list[Passage]:
    """The passages from the filings of the company the question names, when there are any: "北方稀土的…" is
    not answered from another company's filing that happens to mention 北方稀土."""
    named = [p for p in passages if p.document.doc_id in plan.named_docs]
    return named or passages


def read_question(question: str, history: list[Turn], retriever: Retriever, reader: Reader, k: int) -> ReadOutcome:
    """Return what `reader` extracts for `question` from the k passages retrieved for it."""
    mark = time.perf_counter()
    start_loading = getattr(reader, "start_loading", None)  # a reader with a model to load may start it now
    if callable(start_loading):
        start_loading()
    reading = prepare_reading(question, history, retriever, k)
    timings = {"retrieve_ms": ms_since(mark)}
    mark = time.perf_counter()
    extraction = reader.read(reading.analysis, reading.passages)
    years = asked_years(question, reading.resolved)
    if years and not _states_year(retriever.snapshot, extraction, years):
        # "那2023年呢？" after "为什么2024年毛利率为负": the premise may not hold for 2023; read what the filing
        # says about the topic in 2023, and abstain rather than answer with another year's sentence
        reading = prepare_reading(without_premise(reading.resolved), [], retriever, k)
        extraction = reader.read(reading.analysis, reading.passages)
        extraction = extraction if _states_year(retriever.snapshot, extraction, years) else None
    timings["read_ms"] = ms_since(mark)
    return ReadOutcome(question, reading, extraction, timings)


def ms_since(mark: float) -> float:
    return round((time.perf_counter() - mark) * 1000, 3)


def _states_year(snapshot: Snapshot, extraction: Extraction | None, years: tuple[str, ...]) -> bool:
    """Return True when the extracted sentence is about one of `years`."""
    if extraction is None:
        return False
    sentence = snapshot.documents[extraction.doc_id].text[extraction.sentence_start : extraction.sentence_end]
    return any(y in sentence for y in years)


def _company_names(snapshot: Snapshot, plan: QueryPlan) -> list[str]:
    names = [snapshot.cards[d].meta.short_name or snapshot.cards[d].meta.company for d in sorted(plan.named_docs)]
    return list(dict.fromkeys(n for n in names if n))
