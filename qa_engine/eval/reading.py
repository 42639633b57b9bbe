"""Scoring a reader: any object with `ask(question) -> Answer` (or such a callable) against the gold set."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from qa_engine.errors import QAEngineError
from qa_engine.eval.corpus import Corpus, DocumentSource, as_corpus
from qa_engine.eval.gold import GoldItem
from qa_engine.eval.metrics import (
    CONFIDENT,
    Score,
    abstention_scores,
    expected_calibration_error,
    latency_summary,
    rate,
    ratio,
)
from qa_engine.eval.text import contains_any, exact_match, max_f1
from qa_engine.models import Answer, Citation


@runtime_checkable
class AsksQuestions(Protocol):
    """What the harness needs from a reader; `qa_engine.Engine` satisfies it."""

    def ask(self, question: str) -> Answer: ...


ReaderLike = AsksQuestions | Callable[[str], Answer]


@dataclass(frozen=True)
class AnswerJudgement:
    """How one answer scores against its gold item."""

    item: GoldItem
    prediction: str | None
    sentence: str | None
    exact: float
    f1: float
    hit: bool
    abstained: bool
    citations: int
    verbatim_citations: int
    citation_has_gold: bool
    timings: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    confidence: float = 0.0
    top_hit: bool = False  # the reader's best sentence holds a gold span, whether or not it abstained

    @property
    def confidently_wrong(self) -> bool:
        """Shown at >= CONFIDENT confidence and wrong: an answer to an unanswerable item, or a miss."""
        return not self.abstained and self.confidence >= CONFIDENT and not self.hit

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.item.qid, "type": self.item.qtype, "lang": self.item.lang,
            "answerable": self.item.answerable, "prediction": self.prediction, "exact": self.exact,
            "f1": round(self.f1, 4), "hit": self.hit, "abstained": self.abstained,
            "citations": self.citations, "verbatim_citations": self.verbatim_citations,
            "citation_has_gold": self.citation_has_gold, "error": self.error, "split": self.item.split,
            "doc": self.item.doc, "confidence": self.confidence, "top_hit": self.top_hit,
        }


@dataclass(frozen=True)
class ReaderEval:
    """A reader's scores over the gold items, with the per-item judgements."""

    scores: dict[str, Score]
    judgements: tuple[AnswerJudgement, ...]
    latency: dict[str, dict[str, float]]
    threshold: float | None = None  # the abstention threshold the harness applied, when it applied one


def is_verbatim(citation: Citation, corpus: Corpus) -> bool:
    """Return whether a citation's quote is exactly its document's canonical text[start:end]."""
    text = corpus.texts.get(citation.doc_id)
    return text is not None and text[citation.start : citation.end] == citation.quote


def judge_answer(item: GoldItem, answer: Answer, corpus: Corpus, threshold: float | None = None) -> AnswerJudgement:
    """Return the scores of one answer against its gold item.

    With `threshold`, the answer is one asked without abstention (the reader's best span) and the item counts
    as abstained below the threshold, exactly as `ask` would have: so one pass gives both the answer `ask`
    shows and whether the reader's best sentence held the answer before abstaining (`top_hit`).
    """
    top_hit = contains_any(answer.text, item.answers) or contains_any(answer.sentence, item.answers)
    abstained = answer.text is None or (threshold is not None and answer.confidence < threshold)
    shown = () if abstained else answer.citations
    gold_doc_id = corpus.doc_id_of(item.doc)
    on_gold_doc = [c for c in shown if item.doc is None or c.doc_id == gold_doc_id]
    prediction = None if abstained else answer.text
    return AnswerJudgement(
        item=item,
        prediction=prediction,
        sentence=None if abstained else answer.sentence,
        exact=exact_match(prediction, item.answers),
        f1=max_f1(prediction, item.answers),
        hit=top_hit and not abstained,
        abstained=abstained,
        citations=len(shown),
        verbatim_citations=sum(is_verbatim(c, corpus) for c in shown),
        citation_has_gold=any(contains_any(c.quote, item.answers) for c in on_gold_doc),
        timings=dict(answer.timings),
        confidence=float(answer.confidence),
        top_hit=top_hit,
    )


def failed_answer(item: GoldItem, error: Exception) -> AnswerJudgement:
    """Return the judgement of a question the reader raised on: scored as an abstention."""
    return AnswerJudgement(
        item=item, prediction=None, sentence=None, exact=0.0, f1=0.0, hit=False, abstained=True,
        citations=0, verbatim_citations=0, citation_has_gold=False, error=f"{type(error).__name__}: {error}",
    )


def ask(reader: ReaderLike, question: str) -> Answer:
    """Return the reader's answer, whether it is an object with `.ask` or a plain callable."""
    if isinstance(reader, AsksQuestions):
        return reader.ask(question)
    return reader(question)


def judge_item(reader: ReaderLike, item: GoldItem, corpus: Corpus, threshold: float | None = None) -> AnswerJudgement:
    """Return the judgement of one gold item; engine errors count as abstentions and are recorded."""
    try:
        return judge_answer(item, ask(reader, item.question), corpus, threshold)
    except QAEngineError as exc:
        return failed_answer(item, exc)


def score_answers(judgements: Sequence[AnswerJudgement]) -> dict[str, Score]:
    """Return EM, F1, answer hit, citation and abstention rates of judged answers."""
    answerable = [j for j in judgements if j.item.answerable]
    answered = [j for j in answerable if not j.abstained]
    scores: dict[str, Score] = {
        "exact_match": rate([j.exact for j in answerable]),
        "f1": rate([j.f1 for j in answerable]),
        "answer_hit": rate([j.hit for j in answerable]),
        "citation_verbatim": ratio(sum(j.verbatim_citations for j in judgements), sum(j.citations for j in judgements)),
        "citation_contains_gold": rate([j.citation_has_gold for j in answered]),
        "sentence_hit": rate([j.top_hit for j in answerable]),
        "wrong_at_70": rate([j.confidently_wrong for j in answerable]),
        "unanswerable_answered_at_70": rate([j.confidently_wrong for j in judgements if not j.item.answerable]),
        "calibration_error": expected_calibration_error(
            [j.confidence for j in judgements if j.error is None],
            [j.top_hit for j in judgements if j.error is None]),
    }
    scores.update(abstention_scores([j.abstained for j in judgements], [not j.item.answerable for j in judgements]))
    return scores


def evaluate_reader(reader: ReaderLike, gold: Sequence[GoldItem], documents: Corpus | DocumentSource,
                    threshold: float | None = None) -> ReaderEval:
    """Return the reader scores of `reader` on every gold item (unanswerable ones score abstention).

    `documents` is a `Corpus` or anything with `documents()` / `document(doc_id)`, such as an `Engine`.
    `threshold`: the reader answers without abstaining and the harness abstains below it (see `judge_answer`).
    """
    corpus = as_corpus(documents)
    judgements = tuple(judge_item(reader, item, corpus, threshold) for item in gold)
    return ReaderEval(
        scores=score_answers(judgements),
        judgements=judgements,
        latency=latency_summary([dict(j.timings) for j in judgements if j.error is None]),
        threshold=threshold,
    )
