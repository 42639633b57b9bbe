"""The extractive-QA reader with a tiny local BertForQuestionAnswering: offsets, sentences, scores, Engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Engine, Settings
from qa_engine.errors import ConfigError
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.base import Extraction, Passage, Reader
from qa_engine.read.factory import make_reader
from qa_engine.read.transformers_reader import TransformersReader, enclosing_sentence
from tests.helpers.filings import document_for

WHY_QUESTION = "为什么有研新材2024年稀土材料毛利率为负？"


@pytest.fixture(scope="module")
def reader(tiny_qa_model: Path) -> TransformersReader:
    return TransformersReader(str(tiny_qa_model))


@pytest.fixture(scope="module")
def qa_engine(built_index: Path, tiny_qa_model: Path):  # type: ignore[no-untyped-def]
    settings = Settings(index_dir=built_index, reader=str(tiny_qa_model), abstain_threshold=0.0)
    with Engine.open(built_index, settings) as opened:
        yield opened


@pytest.fixture(scope="module")
def read_call(qa_engine) -> tuple[QuestionAnalysis, list[Passage]]:  # type: ignore[no-untyped-def]
    """The (analysis, passages) the engine hands its reader for WHY_QUESTION, recorded on the way."""
    calls: list[tuple[QuestionAnalysis, list[Passage]]] = []
    original = TransformersReader.read

    def recording(self, analysis, passages):  # type: ignore[no-untyped-def]
        calls.append((analysis, list(passages)))
        return original(self, analysis, passages)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransformersReader, "read", recording)
        qa_engine.ask(WHY_QUESTION)
    assert len(calls) == 1 and calls[0][1]
    return calls[0]


def test_is_a_reader(reader: TransformersReader) -> None:
    assert isinstance(reader, Reader)


def test_reads_real_passages_into_a_consistent_extraction(read_call, reader: TransformersReader) -> None:
    analysis, passages = read_call
    assert analysis.question == WHY_QUESTION
    extraction = reader.read(analysis, passages)
    assert isinstance(extraction, Extraction)
    passage = next(p for p in passages if p.hit == extraction.hit)
    assert extraction.doc_id == passage.document.doc_id
    assert passage.hit.start <= extraction.sentence_start <= extraction.answer_start
    assert extraction.answer_start < extraction.answer_end <= extraction.sentence_end <= passage.hit.end
    answer = passage.document.text[extraction.answer_start : extraction.answer_end]
    assert answer == answer.strip() and answer
    assert extraction.answer_end - extraction.answer_start <= 64 * 4  # max_answer_len tokens, a few chars each
    assert 0.0 <= extraction.score <= 1.0


def test_best_spans_slide_over_long_passages(engine, reader: TransformersReader) -> None:
    text = document_for(engine, "002").text
    long_context = text[:3000]  # many windows of 384 tokens with 128 overlap
    short_context = text[5000:5200]
    spans = reader.best_spans(WHY_QUESTION, [long_context, short_context, ""])
    assert spans[2] is None
    for span, context in zip(spans[:2], (long_context, short_context)):
        assert span is not None
        assert 0 <= span.start < span.end <= len(context)
        assert 0.0 < span.probability <= 1.0


def test_no_passages_no_extraction(read_call, reader: TransformersReader) -> None:
    assert reader.read(read_call[0], []) is None
    assert reader.best_spans(WHY_QUESTION, []) == []


def test_over_long_question_is_clipped_not_an_error(engine, reader: TransformersReader) -> None:
    context = document_for(engine, "002").text[:1000]
    [span] = reader.best_spans("为什么有研新材的稀土材料毛利率为负？" * 40, [context])
    assert span is not None and 0 <= span.start < span.end <= len(context)


def test_stale_hit_is_never_cited(read_call, reader: TransformersReader) -> None:
    """A hit whose text no longer matches its document at its offsets yields no extraction from it."""
    from dataclasses import replace

    analysis, passages = read_call
    passage = passages[0]
    shifted = replace(passage.hit, start=passage.hit.start + 1, end=passage.hit.end + 1)
    assert reader.read(analysis, [Passage(shifted, passage.document, 0)]) is None


def test_score_follows_term_coverage(read_call, reader: TransformersReader) -> None:
    """Score = coverage × (0.6 + 0.4 p): within [0.6, 1.0] × the answer sentence's term coverage."""
    from qa_engine.read.heuristic import term_coverage

    analysis, passages = read_call
    extraction = reader.read(analysis, passages)
    assert extraction is not None
    document = next(p.document for p in passages if p.hit == extraction.hit)
    coverage = term_coverage(analysis, document.text[extraction.sentence_start : extraction.sentence_end])
    assert 0.6 * coverage <= extraction.score <= coverage + 1e-9


def test_enclosing_sentence() -> None:
    text = "前一句。本句包含答案的内容，还有后半句。下一句。"
    start = text.index("答案")
    span = enclosing_sentence(text, 0, len(text), start, start + 2)
    assert text[span.start : span.end] == "本句包含答案的内容，还有后半句。"
    across = enclosing_sentence(text, 0, len(text), text.index("后半句"), text.index("下一句") + 2)
    assert text[across.start : across.end] == "本句包含答案的内容，还有后半句。下一句。"


@pytest.mark.parametrize("kwargs", [{"max_answer_len": 0}, {"doc_stride": 384}, {"doc_stride": -1}])
def test_bad_parameters_are_config_errors(tiny_qa_model: Path, kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match=str(next(iter(kwargs.values())))):
        TransformersReader(str(tiny_qa_model), **kwargs)


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load extractive-QA reader"):
        TransformersReader(str(tmp_path / "no-such-model"))


def test_factory_builds_it_from_settings(tiny_qa_model: Path) -> None:
    assert isinstance(make_reader(Settings(reader=str(tiny_qa_model))), TransformersReader)


@pytest.mark.parametrize("question", [WHY_QUESTION, "北方稀土2024年半年度业绩说明会的公告是哪天发布的？"])
def test_engine_answers_with_verbatim_citations(qa_engine, question: str) -> None:
    answer = qa_engine.ask(question)
    assert answer.found and answer.text and answer.sentence and answer.citations
    assert answer.text in answer.sentence
    for citation in answer.citations:
        document = qa_engine.document(citation.doc_id)
        assert document.text[citation.start : citation.end] == citation.quote == answer.sentence
        assert citation.page == document.page_at(citation.start)
    assert 0.0 <= answer.confidence <= 1.0


def test_engine_abstains_below_the_threshold(built_index: Path, tiny_qa_model: Path) -> None:
    settings = Settings(index_dir=built_index, reader=str(tiny_qa_model), abstain_threshold=1.0)
    with Engine.open(built_index, settings) as engine:
        answer = engine.ask(WHY_QUESTION)
        assert answer.text is None and answer.citations == () and answer.confidence < 1.0
