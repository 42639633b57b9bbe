"""Sentence-aligned chunks sized in jieba words, with whole-sentence overlap and exact offsets.

Each sentence is segmented once: its word count sizes the chunks and its search terms, joined, are the chunk's
(`Chunk.tokens`, which BM25 and the embedder reuse), so overlapping sentences are not cut again."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from qa_engine.chunk.tokenizer import FinanceTokenizer, safe_junction
from qa_engine.ingest.sections import SectionMap, detect_heading
from qa_engine.ingest.sentences import Span, split_clauses, split_sentences
from qa_engine.ingest.text_rules import UNIT_LINE, is_table_row
from qa_engine.models import Chunk, Document


@dataclass(frozen=True)
class Piece:
    """A sentence (or clause of an over-long sentence) with its size in words and its search terms."""

    span: Span
    words: int
    heading: bool
    table_header: str
    terms: tuple[str, ...]


def chunk_document(
    doc: Document, sections: SectionMap, tokenizer: FinanceTokenizer, max_words: int, overlap: int
) -> list[Chunk]:
    """Chunks covering the document in order; `doc.text[c.start:c.end] == c.text` for each."""
    pieces = _pieces(doc.text, tokenizer, max_words)
    groups = _group(pieces, max_words, overlap)
    header_terms: dict[str, tuple[str, ...]] = {}
    return [_make_chunk(doc, sections, tokenizer, group, header_terms) for group in groups]


def chunk_id_for(doc_id: str, start: int, end: int, text: str) -> str:
    return hashlib.sha1(f"{doc_id}|{start}|{end}|{text}".encode()).hexdigest()[:16]


def _pieces(text: str, tokenizer: FinanceTokenizer, max_words: int) -> list[Piece]:
    headers = _table_headers(text)
    pieces: list[Piece] = []
    for sentence in split_sentences(text):
        line_start = text.rfind("\n", 0, sentence.start) + 1
        heading = sentence.start == line_start and detect_heading(text[sentence.start : sentence.end]) is not None
        header = headers.get(line_start, "")
        for span, words, terms in _fit(text, sentence, tokenizer, max_words):
            pieces.append(Piece(span, words, heading, header, terms))
            heading = False
    return pieces


Fitted = tuple[Span, int, tuple[str, ...]]


def _fit(text: str, sentence: Span, tokenizer: FinanceTokenizer, max_words: int) -> list[Fitted]:
    """(span, word count, search terms) for the sentence, or for its clauses when it alone is over the chunk size."""
    words, terms = tokenizer.count_and_terms(text[sentence.start : sentence.end])
    if words <= max_words:
        return [(sentence, words, tuple(terms))]
    return [_fitted(text, clause, tokenizer) for clause in split_clauses(text, sentence)]


def _fitted(text: str, span: Span, tokenizer: FinanceTokenizer) -> Fitted:
    words, terms = tokenizer.count_and_terms(text[span.start : span.end])
    return span, words, tuple(terms)


def _table_headers(text: str) -> dict[int, str]:
    """For each table row after the first of its table: the unit line and header row to repeat."""
    headers: dict[int, str] = {}
    offset = 0
    header = ""
    previous = ""
    for line in text.split("\n"):
        if is_table_row(line):
            if not header:
                header = f"{previous}\n{line}" if UNIT_LINE.match(previous) else line
            else:
                headers[offset] = header
        else:
            header = ""
        previous = line
        offset += len(line) + 1
    return headers


def _group(pieces: list[Piece], max_words: int, overlap: int) -> list[list[Piece]]:
    groups: list[list[Piece]] = []
    current: list[Piece] = []
    size = 0
    for piece in pieces:
        if current and (size + piece.words > max_words or piece.heading):
            groups.append(current)
            current = _overlap_tail(current, overlap, max_words) if not piece.heading else []
            size = sum(p.words for p in current)
        current.append(piece)
        size += piece.words
    if current:
        groups.append(current)
    return groups


def _overlap_tail(group: list[Piece], overlap: int, max_words: int) -> list[Piece]:
    """The last `overlap` sentences, if they leave room for new text."""
    tail = group[-overlap:] if overlap else []
    return tail if sum(p.words for p in tail) <= max_words // 2 and len(tail) < len(group) else []


def _make_chunk(doc: Document, sections: SectionMap, tokenizer: FinanceTokenizer, group: list[Piece],
                header_terms: dict[str, tuple[str, ...]]) -> Chunk:
    start, end = group[0].span.start, group[-1].span.end
    text = doc.text[start:end]
    context = next((p.table_header for p in group if p.table_header), "")
    if context and text.startswith(context.split("\n")[-1]):
        context = ""
    terms = _joined_terms(doc.text, group)
    if terms is None:
        terms = tuple(tokenizer.search_terms(text))
    if context:
        if context not in header_terms:
            header_terms[context] = tuple(tokenizer.search_terms(context))
        terms = header_terms[context] + terms  # context and text are joined by a line break: a safe junction
    return Chunk(
        chunk_id=chunk_id_for(doc.doc_id, start, end, text),
        doc_id=doc.doc_id,
        text=text,
        start=start,
        end=end,
        section=sections.path_at(start),
        page_start=doc.page_at(start),
        page_end=doc.page_at(max(start, end - 1)),
        context=context,
        tokens=terms,
    )


def _joined_terms(text: str, group: list[Piece]) -> tuple[str, ...] | None:
    """The search terms of the group's text, joined from its pieces' (only whitespace lies between pieces);
    None where two pieces touch at characters jieba or a number could join (then the text is cut whole)."""
    terms: tuple[str, ...] = ()
    previous: Piece | None = None
    for piece in group:
        if previous is not None:
            gap = text[previous.span.end : piece.span.start]
            if gap.strip() or (not gap and not safe_junction(text[previous.span.end - 1], text[piece.span.start])):
                return None
        terms += piece.terms
        previous = piece
    return terms
