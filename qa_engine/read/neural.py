"""The neural reader: the heuristic reader's top sentences re-scored by a fine-tuned multilingual encoder.

score(sentence) = heuristic logit + scale · cos(E("query: " question), E("passage: " sentence)) / temperature

The encoder (multilingual-e5-small with a LoRA adapter trained on the gold set's train split) adds what word
overlap cannot see, English questions over Chinese text above all, while the heuristic logit keeps what the
feature model already knows (it starts no worse). Confidence is calibrated on the dev split.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.errors import ConfigError, QAEngineError
from qa_engine.models import Document
from qa_engine.read.analysis import QuestionAnalysis
from qa_engine.read.base import Extraction, Passage
from qa_engine.read.calibration import Calibration, Signals, best_and_lead, gate_applies
from qa_engine.read.context import passage_text
from qa_engine.read.encoder import PrefixedEncoder
from qa_engine.read.heuristic import Candidate, HeuristicReader, ScoredCandidates, chunk_sentences
from qa_engine.read.passage_vectors import CachedPassageEncoder, FillReport, fill_passage_vectors
from qa_engine.read.served_encoder import EncoderSpec, locate_encoder, shared_encoder
from qa_engine.retrieve.glossary import is_english
from qa_engine.settings import Settings

logger = logging.getLogger(__name__)

HEAD_FILE = "head.json"
SHIPPED = "neural_reader"  # qa_engine/resources/neural_reader/: adapter + head.json


@dataclass(frozen=True)
class RerankHead:
    """The trained scalars around the encoder, its calibration and its abstention threshold."""

    base_model: str
    scale: float
    temperature: float
    top_n: int
    max_tokens: int
    calibration: Calibration
    abstain_threshold: float
    # which questions get confidence 0 when no passage covers their topic (calibration.OFF_TOPIC_GATES); for the
    # others the calibration may weigh how much of the topic is missing
    off_topic_gate: str = "all"
    passage_context: str = "none"  # read/context.py: what the encoder reads of a candidate besides the sentence

    @classmethod
    def load(cls, folder: Path) -> RerankHead:
        path = folder / HEAD_FILE
        if not path.exists():
            raise ConfigError(f"no {HEAD_FILE} in the neural reader folder {folder.name}: "
                              "train it with `python -m qa_engine.eval.train_neural`")
        data = json.loads(path.read_text("utf-8"))
        return cls(str(data["base_model"]), float(data["scale"]), float(data["temperature"]), int(data["top_n"]),
                   int(data["max_tokens"]), Calibration.from_dict(data["calibration"]),
                   float(data["abstain_threshold"]), _gate(data.get("off_topic_gate", "all")),
                   str(data.get("passage_context", "none")))

    def combine(self, logits: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        return logits + self.scale * cosines / self.temperature


def _gate(value: object) -> str:
    """head.json's gate: one of calibration.OFF_TOPIC_GATES (older heads wrote true / false)."""
    if isinstance(value, bool):
        return "all" if value else "none"
    return str(value)


def shipped_folder() -> Path:
    """Return the folder of the adapter and head shipped inside the package."""
    return Path(str(resources.files("qa_engine.resources").joinpath(SHIPPED)))


class NeuralReader:
    """Reranks the heuristic reader's best `top_n` sentences; the encoder is loaded on first use."""

    name = "neural"

    def __init__(self, folder: Path | None = None, settings: Any = None,
                 heuristic: HeuristicReader | None = None) -> None:
        self._folder = folder or shipped_folder()
        self._settings = settings
        self._heuristic = heuristic or HeuristicReader()
        self.head = RerankHead.load(self._folder)
        self._encoder: PrefixedEncoder | None = None
        self._loading = threading.Lock()  # a warm-up thread and the first question load the encoder once
        self._preload: threading.Thread | None = None

    @property
    def abstain_threshold(self) -> float:
        return self.head.abstain_threshold

    @property
    def encoder(self) -> PrefixedEncoder:
        with self._loading:
            if self._encoder is None:
                self._encoder = self._load_encoder()
            return self._encoder

    def _load_encoder(self) -> PrefixedEncoder:
        return shared_encoder(self._spec)

    @cached_property
    def _spec(self) -> EncoderSpec:
        """Which encoder serves this reader (its base model resolved once: a first question needs it twice)."""
        from qa_engine.model_paths import resolve_model_path

        settings = self._settings or Settings()
        base = resolve_model_path(self.head.base_model, settings)
        return EncoderSpec(Path(base).resolve(), self._folder.resolve(), self.head.max_tokens,
                           settings.model_cache_dir.expanduser(), settings.neural_runtime,
                           settings.reader_vector_cache_mb)

    def start_loading(self) -> None:
        """Begin loading the encoder in a thread unless it is loaded, so that a first question's analysis and
        retrieval run meanwhile: the encoder's files are found here, and the thread loads them (onnxruntime's
        session and the tokenizer release the GIL; jieba's dictionary, loaded by the question, holds it)."""
        if self._encoder is not None or self._preload is not None:
            return
        locate_encoder(self._spec)  # its errors are the question's
        # not a daemon: exiting while onnxruntime builds its session aborts the process (a question that read
        # nothing exits at once); the interpreter waits for the load instead
        self._preload = threading.Thread(target=self._load_quietly, name="neural-reader-load")
        self._preload.start()

    def _load_quietly(self) -> None:
        try:
            self.encoder  # noqa: B018 - loads it
        except (QAEngineError, OSError, ImportError, RuntimeError, ValueError) as exc:  # the question loads the
            # encoder again and reports the error
            logger.debug("loading the neural reader in the background failed: %s", exc)

    def warm_up(self) -> None:
        """Load the encoder now (it takes a few seconds) rather than on the first question."""
        self.encoder.encode_queries(["warm up"])

    def precompute(self, documents: Iterable[tuple[Document, Sequence[tuple[int, int]]]],
                   on_progress: Callable[[int, int], None] | None = None) -> FillReport:
        """Encode now every sentence these documents' chunks (their offsets) can offer as a candidate, so that a
        question about them costs one encoder pass; sentences already in the vector table are skipped."""
        encoder = self.encoder
        if not isinstance(encoder, CachedPassageEncoder):
            raise ConfigError("the neural reader keeps no passage vectors: QA_READER_VECTOR_CACHE_MB is 0, or its "
                              "encoder has no folder in the model cache (run `qa-engine models prepare neural-reader`)")
        return fill_passage_vectors(encoder, self.candidate_texts(documents), on_progress)

    def candidate_texts(self, documents: Iterable[tuple[Document, Sequence[tuple[int, int]]]]) -> Iterator[str]:
        """What the encoder reads of every sentence these documents' chunks (their offsets) can offer as a
        candidate."""
        for document, spans in documents:
            for start, sentence in chunk_sentences(document.text, spans):
                yield passage_text(sentence, document.text, start, self.head.passage_context)

    def read(self, analysis: QuestionAnalysis, passages: Sequence[Passage]) -> Extraction | None:
        scored = self._heuristic.score(analysis, passages)
        if scored is None:
            return None
        top, combined = self.rerank(analysis.question, scored)
        best, margin = best_and_lead(combined)
        signals = confidence_signals(analysis.question, scored, top[best], float(combined[best]), margin)
        if (gate_applies(self.head.off_topic_gate, scored.off_topic, bool(signals.english))
                or scored.withheld_by_rule(top[best])):
            return scored.extract(top[best], 0.0)
        return scored.extract(top[best], self.head.calibration.confidence(signals))

    def rerank(self, question: str, scored: ScoredCandidates) -> tuple[list[int], np.ndarray]:
        """Return the heuristic's top candidates and their combined scores (same order)."""
        top = scored.top(self.head.top_n)
        sentences = [candidate_text(scored.candidates[i], self.head.passage_context) for i in top]
        query = self.encoder.encode_queries([question])[0]
        cosines = self.encoder.encode_passages(sentences) @ query
        return top, self.head.combine(scored.logits[top], cosines)


def candidate_text(candidate: Candidate, context: str) -> str:
    """What the encoder reads of a candidate sentence (read/context.py)."""
    return passage_text(candidate.view.sentence, candidate.passage.document.text, candidate.span.start, context)


def confidence_signals(question: str, scored: ScoredCandidates, chosen: int, best: float, margin: float) -> Signals:
    """What the calibration reads: the chosen sentence's combined score, its lead, its heuristic logit, how
    much of the topic the passages miss, and the question's language."""
    return Signals(best, margin, float(scored.logits[chosen]), scored.missing_topic, float(is_english(question)))
