"""What kind of answer a question asks for: the first answer type in `read/answer_types.py` whose question
pattern matches, else the fallback ("fact")."""

from __future__ import annotations

from qa_engine.lazy_regex import Pattern
from qa_engine.read.answer_types import ANSWER_TYPES

QTYPE_PATTERNS: tuple[tuple[str, Pattern], ...] = ANSWER_TYPES.detection_order()


def detect_qtype(question: str) -> str:
    return ANSWER_TYPES.detect(question)


def question_cue(question: str) -> tuple[str, str] | None:
    """The question's type and the words that show it ("为什么", "how much"), by the first pattern that matches."""
    return ANSWER_TYPES.question_cue(question)
