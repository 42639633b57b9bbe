"""The answer stage: an `Answer` with its citation from what the reader extracted, or a not-found `Answer` when
the reader found nothing or is less confident than its abstention threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from qa_engine.models import Answer, Citation, Document
from qa_engine.read.base import Extraction, Reader
from qa_engine.read.pipeline import ReadOutcome, ms_since
from qa_engine.settings import Settings


def abstain_threshold(settings: Settings, reader: Reader) -> float:
    """Return QA_ABSTAIN_THRESHOLD when set, else the reader's own calibrated threshold."""
    if settings.abstain_threshold is not None:
        return settings.abstain_threshold
    return reader.abstain_threshold


def assemble_answer(outcome: ReadOutcome, threshold: float, documents: Mapping[str, Document],
                    started: float) -> Answer:
    """Return the Answer to `outcome.question`; `started` is when answering it began (for total_ms)."""
    reading, extraction = outcome.reading, outcome.extraction
    not_found = Answer(
        question=outcome.question, text=None, confidence=round(extraction.score, 4) if extraction is not None else 0.0,
        qtype=reading.analysis.qtype, hits=tuple(reading.hits),
        timings={**outcome.timings, "total_ms": ms_since(started)}, lang=reading.plan.lang,
        resolved_question=reading.resolved if reading.resolved != outcome.question else None,
    )
    if extraction is None or extraction.score < threshold:
        return not_found
    document = documents[extraction.doc_id]
    return replace(
        not_found, text=document.text[extraction.answer_start : extraction.answer_end],
        sentence=document.text[extraction.sentence_start : extraction.sentence_end],
        citations=(cite(document, extraction),), answer_start=extraction.answer_start,
        answer_end=extraction.answer_end,
    )


def cite(document: Document, extraction: Extraction) -> Citation:
    """Return the citation of the whole answer sentence: exactly the stored canonical text at [start:end]."""
    start, end = extraction.sentence_start, extraction.sentence_end
    return Citation(
        doc_id=document.doc_id, title=document.meta.label() or document.source,
        company=document.meta.short_name or document.meta.company, page=document.page_at(start),
        section=extraction.hit.section, start=start, end=end, quote=document.text[start:end],
    )
