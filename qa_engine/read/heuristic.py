"""The offline default reader: scores every sentence of the top passages with a small learned linear model
over named features (term coverage, answer-type cues, years, retrieval rank, ...), then cuts the minimal
answer span (causal clause, number with unit, date, list) out of the best sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from qa_engine.errors import ConfigError
from qa_engine.ingest.sentences import FULL_STOP, Span, split_sentences
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.base import Extraction, Passage
from qa_engine.read.blocks import block_at
from qa_engine.read.calibration import Calibration, Signals, best_and_lead
from qa_engine.read.features import FEATURES, Asked, SentenceView, answer_span, coverage, featurize
from qa_engine.read.unstated import withheld_by_rule

MIN_SENTENCE_CHARS = 4
# Above this idf share of the question's topic missing from every passage, the filings do not cover what is
# asked ("火星基地的氦三储量"): on the gold set no answerable question the reader got right goes past 0.6.
MAX_MISSING_TOPIC = 0.6
MISSING_TOPIC = FEATURES.index("missing_topic")
WEIGHTS_FILE = "reader_weights.json"


@dataclass(frozen=True)
class SentenceModel:
    """Logistic scorer: P(sentence answers the question) = sigmoid(weights · features + bias)."""

    weights: np.ndarray
    bias: float
    abstain_threshold: float  # at most 10% of the calibration questions' answers withheld
    calibration: Calibration | None = None  # fit on the dev split; None: the logistic probability itself

    @classmethod
    def load(cls, path: Path | None = None) -> SentenceModel:
        raw = path.read_text("utf-8") if path else resources.files("qa_engine.resources").joinpath(WEIGHTS_FILE).read_text("utf-8")
        data = json.loads(raw)
        named = dict(zip(data["features"], data["weights"]))
        missing = [f for f in FEATURES if f not in named]
        if missing:
            raise ConfigError(f"reader weights lack features {missing}: retrain with `python -m qa_engine.eval.train_reader`")
        calibration = Calibration.from_dict(data["calibration"]) if data.get("calibration") else None
        return cls(np.array([named[f] for f in FEATURES], dtype=np.float64), float(data["bias"]),
                   float(data["abstain_threshold"]), calibration)

    def logit(self, features: np.ndarray) -> np.ndarray:
        logits: np.ndarray = features @ self.weights + self.bias
        return logits

    def probability(self, features: np.ndarray) -> np.ndarray:
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-self.logit(features)))
        return probabilities

    def confidence(self, best: float, margin: float) -> float:
        """The probability that the best sentence holds the answer, from its logit and its lead."""
        if self.calibration is None:
            return float(1.0 / (1.0 + np.exp(-best)))
        return self.calibration.confidence(Signals(best, margin, best))


@lru_cache(maxsize=1)
def calibrated_threshold() -> float:
    """The abstention threshold shipped with the default reader's weights."""
    return SentenceModel.load().abstain_threshold


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    span: Span
    view: SentenceView


@dataclass(frozen=True)
class ScoredCandidates:
    """Every candidate sentence of one question with the heuristic model's logit; what a reranking reader reads."""

    asked: Asked
    candidates: list[Candidate]
    logits: np.ndarray
    missing_topic: float  # the least idf share of the question's topic a passage leaves unmentioned

    @property
    def off_topic(self) -> bool:
        """No passage mentions enough of what the question is about."""
        return topic_uncovered(self.missing_topic)

    def best_and_margin(self) -> tuple[int, float]:
        """Return the best candidate's index and its logit's lead over the runner-up."""
        return best_and_lead(self.logits)

    def top(self, n: int) -> list[int]:
        """Return the indexes of the n best candidates by logit, best first."""
        return [int(i) for i in np.argsort(-self.logits, kind="stable")[:n]]

    def withheld_by_rule(self, index: int) -> bool:
        """Whether a rule withholds candidate `index` (read/unstated.py): its filing is another company's than the
        one the question names, or never names a year, period or metric asked; or its sentence states no count
        asked for."""
        analysis, candidate = self.asked.analysis, self.candidates[index]
        return withheld_by_rule(analysis.question, analysis.years, analysis.named_docs, candidate.passage.document,
                                candidate.view.sentence)

    def extract(self, index: int, score: float) -> Extraction:
        """Return the answer span of candidate `index` with `score` as its confidence."""
        return _extract(self.asked, self.candidates[index], score)


class HeuristicReader:
    """Needs no downloaded weights; deterministic; a few milliseconds per question."""

    name = "heuristic"

    def __init__(self, model: SentenceModel | None = None) -> None:
        self._model = model

    @property
    def model(self) -> SentenceModel:
        """Loaded on first use, so a reader can be constructed while its weights are being retrained."""
        if self._model is None:
            self._model = SentenceModel.load()
        return self._model

    @property
    def abstain_threshold(self) -> float:
        return self.model.abstain_threshold

    def score(self, analysis: QuestionAnalysis, passages: Sequence[Passage]) -> ScoredCandidates | None:
        """Return every candidate sentence with its logit, or None when the passages hold no sentence."""
        candidates = list(candidate_sentences(passages))
        if not candidates:
            return None
        asked = Asked.of(analysis)
        features = feature_matrix(asked, candidates)
        return ScoredCandidates(asked, candidates, self.model.logit(features), least_missing_topic(features))

    def read(self, analysis: QuestionAnalysis, passages: Sequence[Passage]) -> Extraction | None:
        scored = self.score(analysis, passages)
        if scored is None:
            return None
        best, margin = scored.best_and_margin()
        confidence = 0.0 if withholds(scored, best) else self.model.confidence(float(scored.logits[best]), margin)
        return scored.extract(best, confidence)


def withholds(scored: ScoredCandidates, best: int) -> bool:
    """Whether the heuristic reader answers with candidate `best` at confidence 0, whatever its calibration: no
    passage covers the question's topic, or a rule withholds it (read/unstated.py)."""
    return scored.off_topic or scored.withheld_by_rule(best)


def least_missing_topic(features: np.ndarray) -> float:
    """The least share of the question's topic a candidate's passage leaves unmentioned."""
    return float(features[:, MISSING_TOPIC].min())


def topic_uncovered(missing_topic: float) -> bool:
    """No passage mentions enough of what the question is about (`missing_topic`: the least missing share)."""
    return missing_topic > MAX_MISSING_TOPIC


def off_topic(features: np.ndarray) -> bool:
    """No passage mentions enough of what the question is about."""
    return topic_uncovered(least_missing_topic(features))


def candidate_sentences(passages: Sequence[Passage]) -> Iterator[Candidate]:
    """Every sentence of every passage once (chunks overlap), with its best retrieval rank."""
    seen: set[tuple[str, int]] = set()
    for passage in passages:
        text = passage.document.text
        spans = split_sentences(text, passage.hit.start, passage.hit.end, FULL_STOP)
        chunk = text[passage.hit.start : passage.hit.end]
        for i, span in enumerate(spans):
            key = (passage.document.doc_id, span.start)
            if key in seen or not is_candidate(span):
                continue
            seen.add(key)
            around = text[spans[max(0, i - 1)].start : spans[min(len(spans) - 1, i + 1)].end]
            view = SentenceView(text[span.start : span.end], around, chunk, passage.rank, block_at(text, span.start))
            yield Candidate(passage, span, view)


def is_candidate(span: Span) -> bool:
    """Whether a sentence is long enough to be read as an answer."""
    return span.end - span.start >= MIN_SENTENCE_CHARS


def chunk_sentences(text: str, spans: Sequence[tuple[int, int]]) -> Iterator[tuple[int, str]]:
    """The (offset, sentence) of every candidate sentence `candidate_sentences` could make of these chunks of
    `text`, chunk by chunk (a sentence in two overlapping chunks comes twice)."""
    for start, end in spans:
        for span in split_sentences(text, start, end, FULL_STOP):
            if is_candidate(span):
                yield span.start, text[span.start : span.end]


def feature_matrix(asked: Asked, candidates: Sequence[Candidate]) -> np.ndarray:
    return np.vstack([featurize(asked, c.view) for c in candidates])


def term_coverage(analysis: QuestionAnalysis, sentence: str) -> float:
    """Idf-weighted share of the question's content terms found in the sentence."""
    return coverage(analysis.terms, analysis.weights, sentence)


def _extract(asked: Asked, best: Candidate, score: float) -> Extraction:
    local = answer_span(asked, best.view.sentence) or (0, len(best.view.sentence))
    return Extraction(
        doc_id=best.passage.document.doc_id,
        answer_start=best.span.start + local[0],
        answer_end=best.span.start + local[1],
        sentence_start=best.span.start,
        sentence_end=best.span.end,
        score=score,
        hit=best.passage.hit,
    )
