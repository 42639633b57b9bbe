"""Chinese-aware sentence splitting over canonical text, as offset spans."""

from __future__ import annotations

import re
from typing import NamedTuple

# A sentence ends at 。！？；… (plus closing quotes/brackets), at '; ' / '. ' before an upper-case
# Latin letter, or at a line break. Decimals (1.5) and list markers ((一), 1、) never end one.
SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’」』)）\"]*|\.(?=\s+[A-Z])|\n")
FULL_STOP = re.compile(r"[。！？!?…]+[”’」』)）\"]*|\.(?=\s+[A-Z])|\n")  # ；/; join clauses of one sentence


class Span(NamedTuple):
    """Character offsets [start, end) into a text; a tuple, so `start, end = span` reads it too."""

    start: int
    end: int


def split_sentences(text: str, start: int = 0, end: int | None = None, boundary: re.Pattern[str] = SENTENCE_END) -> list[Span]:
    """Sentence spans of text[start:end], trimmed of surrounding whitespace, in order; `boundary=FULL_STOP` keeps
    semicolon-joined clauses together."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in boundary.finditer(text, start, end):
        _append_trimmed(text, cursor, match.end(), spans)
        cursor = match.end()
    _append_trimmed(text, cursor, end, spans)
    return spans


def split_clauses(text: str, span: Span) -> list[Span]:
    """Comma-level clauses of one sentence (，, 、 excluded: they join list items)."""
    clauses: list[Span] = []
    cursor = span.start
    for match in re.finditer(r"[，,：:]", text[span.start : span.end]):
        stop = span.start + match.end()
        _append_trimmed(text, cursor, stop, clauses)
        cursor = stop
    _append_trimmed(text, cursor, span.end, clauses)
    return clauses


def _append_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Span(start, end))
