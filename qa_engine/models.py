"""Frozen dataclasses passed between stages: Document, Chunk, Hit, Citation, Answer, Filters."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from qa_engine.errors import InvalidQueryError


@dataclass(frozen=True)
class DocumentMeta:
    """What a citation shows about a filing."""

    company: str = ""
    short_name: str = ""
    stock_code: str = ""
    exchange: str = ""
    doc_type: str = ""
    title: str = ""
    date: str = ""  # ISO yyyy-mm-dd or yyyy-mm
    english_name: str = ""

    def label(self) -> str:
        """Human label: '有研新材 · 向特定对象发行股票审核问询函回复'."""
        parts = [self.short_name or self.company, self.title or self.doc_type]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class Document:
    """One filing as canonical text; `page_starts[i]` is the offset where page i+1 begins."""

    doc_id: str
    source: str  # file name as ingested (its path below an ingested folder)
    text: str
    meta: DocumentMeta
    page_starts: tuple[int, ...] = (0,)
    content_hash: str = ""
    origin: str = ""  # the resolved path it was ingested from: its identity (`source` may repeat across folders)

    def page_at(self, offset: int) -> int:
        """1-based page number containing `offset`. Pages that share a start (a text file whose first pages
        carry no page number) cannot be told apart, so the first of them is given."""
        starts = self.page_starts
        if not starts:
            return 1
        last = bisect.bisect_right(starts, offset) - 1
        return bisect.bisect_left(starts, starts[max(0, last)]) + 1


@dataclass(frozen=True)
class DocumentCard:
    """What listing and filtering need of a filing, without its text: kept in memory for every document."""

    doc_id: str
    source: str
    meta: DocumentMeta
    page_starts: tuple[int, ...]
    content_hash: str
    origin: str
    chars: int
    chunks: int

    @classmethod
    def of(cls, doc: Document, chunks: int) -> DocumentCard:
        return cls(doc.doc_id, doc.source, doc.meta, doc.page_starts, doc.content_hash, doc.origin, len(doc.text),
                   chunks)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A sentence-aligned slice of a document: `doc.text[start:end] == text`."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    section: str = ""
    page_start: int = 1
    page_end: int = 1
    context: str = ""  # table header (+ unit line) repeated for chunks that hold table rows
    tokens: tuple[str, ...] = ()

    def indexed_text(self) -> str:
        """What retrieval sees: the table header context, then the verbatim text."""
        return f"{self.context}\n{self.text}" if self.context else self.text


class ChunkTerms(NamedTuple):
    """What an index generation needs of a chunk: its id, its document and its search terms (`Chunk` has them too)."""

    chunk_id: str
    doc_id: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score and the document metadata a citation needs."""

    chunk_id: str
    doc_id: str
    title: str
    company: str
    page: int
    section: str
    start: int
    end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Citation:
    """A verifiable quote: `quote == document.text[start:end]`."""

    doc_id: str
    title: str
    company: str
    page: int
    section: str
    start: int
    end: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Answer:
    """What `Engine.ask` returns: the answer span (or None when not found) with citations."""

    question: str
    text: str | None
    confidence: float
    qtype: str
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    sentence: str | None = None
    resolved_question: str | None = None
    lang: str = "zh"
    answer_start: int | None = None  # offsets of `text` in the cited document
    answer_end: int | None = None

    @property
    def found(self) -> bool:
        return self.text is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "resolved_question": self.resolved_question,
            "text": self.text,
            "sentence": self.sentence,
            "found": self.found,
            "confidence": self.confidence,
            "qtype": self.qtype,
            "lang": self.lang,
            "answer_start": self.answer_start,
            "answer_end": self.answer_end,
            "citations": [c.to_dict() for c in self.citations],
            "hits": [h.to_dict() for h in self.hits],
            "timings": dict(self.timings),
        }


@dataclass(frozen=True)
class Filters:
    """Metadata filters; every set field must match. `company` matches name, short name or code."""

    company: str | None = None
    doc_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    doc_ids: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Filters | None:
        if not data:
            return None
        doc_ids = data.get("doc_ids") or ([data["doc_id"]] if data.get("doc_id") else [])
        return cls(
            company=data.get("company") or None,
            doc_type=data.get("doc_type") or None,
            date_from=_parse_date(data.get("date_from")),
            date_to=_parse_date(data.get("date_to")),
            doc_ids=tuple(doc_ids),
        )

    def is_empty(self) -> bool:
        return not (self.company or self.doc_type or self.date_from or self.date_to or self.doc_ids)


def _parse_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    return date.fromisoformat(text)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, used to resolve follow-up questions."""

    role: str  # "user" | "assistant"
    content: str


def as_turns(history: Iterable[Turn | Answer | str]) -> list[Turn]:
    """A conversation as Turns: an earlier `Answer` stands for its question and its answer, a plain string
    for a question the user asked."""
    turns: list[Turn] = []
    for item in history:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, Answer):
            turns += [Turn("user", item.question), Turn("assistant", item.text or "")]
        elif isinstance(item, str):
            turns.append(Turn("user", item))
        else:
            raise InvalidQueryError(f"history items must be Turn, Answer or str, not {type(item).__name__}")
    return turns
