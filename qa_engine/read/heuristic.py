"""The offline default reader: scores sentences of the top passages by term coverage, answer-type cues and
retrieval rank, then cuts the minimal answer span (causal clause, number with unit, date, list) out of the best."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa_engine.ingest.sections import detect_heading
from qa_engine.ingest.sentences import Span, split_sentences
from qa_engine.read import cues
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.base import Extraction, Passage

COVERAGE_WEIGHT = 0.6
CUE_WEIGHT = 0.25
RANK_WEIGHT = 0.15
MAX_SENTENCE_CHARS = 400
HEADING_CHARS = 60
QUOTED_QUESTION = re.compile(r"[？?]$|^(问题\s*\d+|请发行人|请保荐|请申报会计师|请会计师|请律师)")


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    span: Span
    coverage: float
    score: float


class HeuristicReader:
    """Needs no model weights; deterministic; a few milliseconds per question."""

    name = "heuristic"

    def read(self, analysis: QuestionAnalysis, passages: Sequence[Passage]) -> Extraction | None:
        candidates = [c for p in passages for c in self._candidates(analysis, p)]
        if not candidates:
            return None
        best = max(candidates, key=lambda c: c.score)
        return self._extract(analysis, best)

    def _candidates(self, analysis: QuestionAnalysis, passage: Passage) -> list[Candidate]:
        text = passage.document.text
        out = []
        for span in split_sentences(text, passage.hit.start, passage.hit.end):
            sentence = text[span.start : span.end]
            if len(sentence) < 4:
                continue
            coverage = term_coverage(analysis, sentence)
            rank_score = 1.0 / (1.0 + passage.rank)
            score = (COVERAGE_WEIGHT * coverage + CUE_WEIGHT * cues.cue_strength(analysis.qtype, sentence)
                     + RANK_WEIGHT * rank_score) * _shape_factor(sentence)
            out.append(Candidate(passage, span, coverage, score))
        return out

    def _extract(self, analysis: QuestionAnalysis, best: Candidate) -> Extraction:
        text = best.passage.document.text
        sentence = text[best.span.start : best.span.end]
        local = _answer_span(analysis, sentence) or (0, len(sentence))
        return Extraction(
            doc_id=best.passage.document.doc_id,
            answer_start=best.span.start + local[0],
            answer_end=best.span.start + local[1],
            sentence_start=best.span.start,
            sentence_end=best.span.end,
            score=min(1.0, best.coverage * (0.7 + 0.3 * cues.cue_strength(analysis.qtype, sentence))),
            hit=best.passage.hit,
        )


def term_coverage(analysis: QuestionAnalysis, sentence: str) -> float:
    """Idf-weighted share of the question's content terms found in the sentence."""
    if not analysis.terms:
        return 0.0
    weights = analysis.weights or tuple(math.log(1 + len(t)) for t in analysis.terms)
    found = sum(w for t, w in zip(analysis.terms, weights) if t in sentence)
    return found / sum(weights)


def _shape_factor(sentence: str) -> float:
    """Questions quoted from the inquiry letter and bare headings restate the question; they never answer it."""
    if QUOTED_QUESTION.search(sentence):
        return 0.35
    if len(sentence) <= HEADING_CHARS and detect_heading(sentence) is not None:
        return 0.5
    return 1.0 if len(sentence) <= MAX_SENTENCE_CHARS else 0.85


def _answer_span(analysis: QuestionAnalysis, sentence: str) -> tuple[int, int] | None:
    anchors = [sentence.find(t) for t in analysis.terms if t in sentence and t not in analysis.years]
    if analysis.qtype == "why":
        return cues.why_span(sentence, min(anchors) if anchors else 0)
    if analysis.qtype == "number":
        return cues.number_span(sentence, anchors)
    if analysis.qtype == "date":
        return cues.date_span(sentence)
    if analysis.qtype == "list":
        return cues.list_span(sentence)
    if analysis.qtype == "entity":
        return cues.entity_span(sentence)
    if analysis.qtype == "yesno":
        return cues.yesno_span(sentence)
    return None
