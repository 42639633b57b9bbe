"""The answer stage: an extraction at or above the threshold becomes a cited Answer; below it, or when nothing was
extracted, a not-found Answer that keeps the confidence, the hits and the timings."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from qa_engine import Engine, Settings
from qa_engine.answer import abstain_threshold, assemble_answer
from qa_engine.models import Document
from qa_engine.read.heuristic import HeuristicReader
from qa_engine.read.pipeline import ReadOutcome

WHY_QUESTION = "为什么有研新材2024年稀土材料毛利率为负？"


@pytest.fixture(scope="module")
def outcome(engine: Engine) -> ReadOutcome:
    reading = engine.prepare(WHY_QUESTION)
    extraction = HeuristicReader().read(reading.analysis, reading.passages)
    assert extraction is not None
    return ReadOutcome(WHY_QUESTION, reading, extraction, {"retrieve_ms": 1.5, "read_ms": 2.5})


@pytest.fixture(scope="module")
def documents(engine: Engine) -> dict[str, Document]:
    return {info.doc_id: engine.document(info.doc_id) for info in engine.documents()}


def test_at_the_threshold_the_answer_quotes_and_cites_the_extraction(outcome: ReadOutcome,
                                                                     documents: dict[str, Document]) -> None:
    extraction = outcome.extraction
    assert extraction is not None
    answer = assemble_answer(outcome, extraction.score, documents, time.perf_counter())
    text = documents[extraction.doc_id].text
    assert answer.found and answer.text == text[extraction.answer_start : extraction.answer_end]
    assert answer.sentence == text[extraction.sentence_start : extraction.sentence_end]
    (citation,) = answer.citations
    assert citation.quote == answer.sentence and citation.doc_id == extraction.doc_id
    assert (citation.start, citation.end) == (extraction.sentence_start, extraction.sentence_end)
    assert citation.page == documents[extraction.doc_id].page_at(extraction.sentence_start)
    assert (answer.answer_start, answer.answer_end) == (extraction.answer_start, extraction.answer_end)
    assert answer.confidence == round(extraction.score, 4) and answer.qtype == "why"
    assert list(answer.timings)[:2] == ["retrieve_ms", "read_ms"] and answer.timings["total_ms"] >= 0
    assert answer.hits == tuple(outcome.reading.hits) and answer.resolved_question is None


def test_below_the_threshold_the_answer_is_not_found_but_keeps_its_confidence(
        outcome: ReadOutcome, documents: dict[str, Document]) -> None:
    extraction = outcome.extraction
    assert extraction is not None
    answer = assemble_answer(outcome, extraction.score + 1e-6, documents, time.perf_counter())
    assert not answer.found and answer.text is None and answer.sentence is None and answer.citations == ()
    assert answer.answer_start is None and answer.answer_end is None
    assert answer.confidence == round(extraction.score, 4) and answer.hits == tuple(outcome.reading.hits)


def test_nothing_extracted_is_not_found_at_confidence_zero(outcome: ReadOutcome,
                                                          documents: dict[str, Document]) -> None:
    answer = assemble_answer(replace(outcome, extraction=None), 0.0, documents, time.perf_counter())
    assert not answer.found and answer.confidence == 0.0 and answer.citations == ()


def test_the_threshold_is_the_readers_own_unless_configured() -> None:
    reader = HeuristicReader()
    assert abstain_threshold(Settings(), reader) == reader.abstain_threshold
    assert abstain_threshold(Settings(abstain_threshold=0.9), reader) == 0.9
