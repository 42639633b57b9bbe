"""An extractive-QA reader: any Hugging Face `*ForQuestionAnswering` model (hub id or local folder) reads the
retrieved passages; its best span is checked against the document text and widened to the enclosing sentence.

transformers 5 removed the `question-answering` pipeline, so this does the pipeline's steps itself: the fast
tokenizer cuts each passage into overlapping windows (`doc_stride` tokens of overlap) with character offsets,
and the span probability is softmax(start) × softmax(end) over the passage tokens, at most `max_answer_len` long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_engine.errors import ConfigError
from qa_engine.ingest.sentences import Span, split_sentences
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.base import Extraction, Passage
from qa_engine.read.heuristic import calibrated_threshold, term_coverage
from qa_engine.settings import Settings

# score = coverage × (COVERAGE_FLOOR + MODEL_WEIGHT × p): the answer sentence must cover the question's terms,
# and the model's span probability p scales it. No threshold is calibrated for an arbitrary model: it borrows the
# heuristic reader's (its scores share the [0, 1] confidence scale).
COVERAGE_FLOOR = 0.6
MODEL_WEIGHT = 0.4
MAX_QUESTION_TOKENS = 64
WINDOW_BATCH = 16


@dataclass(frozen=True)
class ModelSpan:
    """The model's best span in one passage: character offsets into the passage text, and its probability."""

    start: int
    end: int
    probability: float


class TransformersReader:
    """Loads the model on construction (never downloads when HF_HUB_OFFLINE=1); CPU inference."""

    name = "transformers"

    def __init__(self, model_name_or_path: str, max_answer_len: int = 64, doc_stride: int = 128,
                 max_seq_len: int = 384, settings: Settings | None = None) -> None:
        if max_answer_len < 1:
            raise ConfigError(f"max_answer_len must be at least 1, got {max_answer_len}")
        if not 0 <= doc_stride <= max_seq_len - MAX_QUESTION_TOKENS - 16:
            raise ConfigError(
                f"doc_stride {doc_stride} leaves no room in max_seq_len {max_seq_len}: "
                f"use 0 <= doc_stride <= max_seq_len - {MAX_QUESTION_TOKENS + 16}"
            )
        self.model_id = model_name_or_path
        self.max_answer_len = max_answer_len
        self.doc_stride = doc_stride
        self.max_seq_len = max_seq_len
        self.settings = settings or Settings()
        self._tokenizer: Any = None  # a transformers fast tokenizer, set by warm_up()
        self._model: Any = None
        self.warm_up()

    def warm_up(self) -> None:
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        from qa_engine.model_paths import resolve_model_path

        try:
            folder = str(resolve_model_path(self.model_id, self.settings))
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForQuestionAnswering.from_pretrained(folder)
        except (ConfigError, OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"cannot load extractive-QA reader {self.model_id!r}: {exc}. Set QA_READER to a local folder of a "
                "*ForQuestionAnswering model, a pre-downloaded hub id, or 'heuristic'"
            ) from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError(f"reader {self.model_id!r} has no fast tokenizer: answer offsets need one")
        self._tokenizer, self._model = tokenizer, model.eval()

    @property
    def abstain_threshold(self) -> float:
        return calibrated_threshold()

    def read(self, analysis: QuestionAnalysis, passages: Sequence[Passage]) -> Extraction | None:
        if not passages:
            return None
        spans = self.best_spans(analysis.question, [p.hit.text for p in passages])
        candidates = [
            (extraction, p.rank)
            for p, span in zip(passages, spans)
            if span is not None and (extraction := self._extraction(analysis, p, span)) is not None
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda pair: (pair[0].score, -pair[1]))[0]

    def best_spans(self, question: str, contexts: Sequence[str]) -> list[ModelSpan | None]:
        """The model's most probable answer span in each context (None where it found none)."""
        if not contexts:
            return []
        encoded = self._tokenizer(
            [self._clip_question(question)] * len(contexts), list(contexts), truncation="only_second",
            max_length=self.max_seq_len, stride=self.doc_stride, return_overflowing_tokens=True,
            return_offsets_mapping=True, padding="longest", return_tensors="pt",
        )
        start_logits, end_logits = self._logits(encoded)
        best: list[ModelSpan | None] = [None] * len(contexts)
        for w, sample in enumerate(encoded["overflow_to_sample_mapping"].tolist()):
            in_context = np.array([s == 1 for s in encoded.sequence_ids(w)])
            span = _window_best(start_logits[w], end_logits[w], in_context, encoded["offset_mapping"][w].tolist(),
                                self.max_answer_len)
            current = best[sample]
            if span is not None and (current is None or span.probability > current.probability):
                best[sample] = span
        return best

    def _logits(self, encoded: Any) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of every window, run in batches of WINDOW_BATCH."""
        import torch

        inputs = {k: encoded[k] for k in self._tokenizer.model_input_names if k in encoded}
        starts, ends = [], []
        with torch.inference_mode():
            for i in range(0, len(encoded["input_ids"]), WINDOW_BATCH):
                out = self._model(**{k: v[i : i + WINDOW_BATCH] for k, v in inputs.items()})
                starts.append(out.start_logits.float().numpy())
                ends.append(out.end_logits.float().numpy())
        return np.concatenate(starts), np.concatenate(ends)

    def _clip_question(self, question: str) -> str:
        """The question cut to MAX_QUESTION_TOKENS tokens, so that every window keeps room for the passage."""
        offsets = self._tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return question if len(offsets) <= MAX_QUESTION_TOKENS else question[: offsets[MAX_QUESTION_TOKENS - 1][1]]

    def _extraction(self, analysis: QuestionAnalysis, passage: Passage, span: ModelSpan) -> Extraction | None:
        hit, text = passage.hit, passage.document.text
        local = _trimmed(hit.text, span.start, span.end)
        if local is None:
            return None
        start, end = hit.start + local[0], hit.start + local[1]
        if text[start:end] != hit.text[local[0] : local[1]]:
            return None  # the hit no longer matches its document: never cite text the filing does not hold
        sentence = enclosing_sentence(text, hit.start, hit.end, start, end)
        coverage = term_coverage(analysis, text[sentence.start : sentence.end])
        return Extraction(
            doc_id=passage.document.doc_id, answer_start=start, answer_end=end, sentence_start=sentence.start,
            sentence_end=sentence.end, score=min(1.0, coverage * (COVERAGE_FLOOR + MODEL_WEIGHT * span.probability)),
            hit=hit,
        )


def _window_best(start_logits: np.ndarray, end_logits: np.ndarray, in_context: np.ndarray,
                 offsets: list[list[int]], max_answer_len: int) -> ModelSpan | None:
    """The most probable span of one window, over its passage tokens only."""
    if not in_context.any():
        return None
    p_start, p_end = _masked_softmax(start_logits, in_context), _masked_softmax(end_logits, in_context)
    scores = np.tril(np.triu(np.outer(p_start, p_end)), max_answer_len - 1)
    first, last = divmod(int(scores.argmax()), scores.shape[1])
    if scores[first, last] <= 0:
        return None
    return ModelSpan(start=offsets[first][0], end=offsets[last][1], probability=float(scores[first, last]))


def _masked_softmax(logits: np.ndarray, keep: np.ndarray) -> np.ndarray:
    shifted = np.where(keep, logits - logits[keep].max(), -np.inf)
    weights: np.ndarray = np.exp(shifted)
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def _trimmed(text: str, start: int, end: int) -> Span | None:
    """The span without surrounding whitespace, or None when nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def enclosing_sentence(text: str, lo: int, hi: int, start: int, end: int) -> Span:
    """The sentence(s) of text[lo:hi] that hold the answer text[start:end], as one span."""
    sentences = [s for s in split_sentences(text, lo, hi) if s.end > start and s.start < end]
    if not sentences:
        return Span(start, end)
    return Span(min(sentences[0].start, start), max(sentences[-1].end, end))
