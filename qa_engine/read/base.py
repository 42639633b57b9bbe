"""The Reader protocol and the values it reads and returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from qa_engine.models import Document, Hit
from qa_engine.read.analysis import QuestionAnalysis


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its document (so offsets can be checked) and its retrieval rank (0 = best)."""

    hit: Hit
    document: Document
    rank: int


@dataclass(frozen=True)
class Extraction:
    """A reader's answer: the minimal span and the sentence around it, as offsets into `doc_id`'s text."""

    doc_id: str
    answer_start: int
    answer_end: int
    sentence_start: int
    sentence_end: int
    score: float  # calibrated to [0, 1]; the answer stage abstains below the reader's abstain_threshold
    hit: Hit


@runtime_checkable
class Reader(Protocol):
    @property
    def abstain_threshold(self) -> float:
        """The score below which an extraction is withheld, calibrated for this reader's scores."""
        ...

    def read(self, analysis: QuestionAnalysis, passages: Sequence[Passage]) -> Extraction | None: ...
