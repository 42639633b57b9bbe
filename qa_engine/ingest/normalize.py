"""Turn raw page texts into one canonical text: hard wraps repaired, page furniture dropped, pages recorded.

The filing's header ("证券代码：600111 证券简称：北方稀土 公告编号：2024-046") stays in the text, once, on a line of
its own: it states the stock code, which users ask about. PDFs print it again on later pages as a running header;
those copies are furniture and go. A copy that breaks into a sentence is kept after that paragraph instead."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from qa_engine.ingest.text_rules import (
    HEADING_MARKER,
    TERMINAL_PUNCT,
    UNIT_LINE,
    close_letter_spacing,
    display_width,
    is_table_row,
    remove_cjk_spaces,
    split_filing_header,
)

BARE_PAGE_NUMBER = re.compile(r"^\s*(-\s*\d{1,4}\s*-|\d{1,4}|第\s*\d+\s*页(\s*[/，,]?\s*共\s*\d+\s*页)?|\d+-\d+-\d+)\s*$")
STRAY_HTML = re.compile(r"</?(p|br|div|span|input|td|tr|table|tbody|th|b|i|u|font)\b[^<>]{0,120}/?>", re.IGNORECASE)
REPEAT_MIN = 4
WRAP_FRACTION = 0.8


@dataclass(frozen=True)
class Line:
    text: str
    page: int  # 1-based
    table: bool
    header: bool = False  # the filing's header line: never joined to its neighbours


@dataclass(frozen=True)
class Canonical:
    text: str
    page_starts: tuple[int, ...]


def normalize_pages(pages: tuple[str, ...] | list[str]) -> Canonical:
    """Returns the canonical text of a filing and the offset at which each page starts."""
    lines = _clean_lines(pages)
    wrap_width = _wrap_width(lines)
    return _join_paragraphs(lines, wrap_width)


def _clean_lines(pages: tuple[str, ...] | list[str]) -> list[Line | None]:
    """Lines with furniture removed; None marks a blank line. Bare page numbers mark page ends."""
    raw = [(i + 1, ln) for i, page in enumerate(pages) for ln in page.split("\n")]
    furniture = _repeated_furniture([ln for _, ln in raw])
    out: list[Line | None] = []
    page_shift = 0
    header_kept = False
    for page, ln in raw:
        text = STRAY_HTML.sub("", ln).strip()
        if not text:
            out.append(None)
            continue
        header = split_filing_header(text)
        if header is not None:
            if not header_kept:  # later copies are running page headers
                out.append(Line(text=header.text, page=page + page_shift, table=False, header=True))
                header_kept = True
            text = header.rest
            if not text:
                continue
        if text in furniture:
            continue
        if BARE_PAGE_NUMBER.match(text):
            if len(pages) == 1:
                page_shift = _page_after_footer(text, page_shift)
            continue
        out.append(_make_line(text, page + page_shift))
    return out


def _page_after_footer(marker: str, current_shift: int) -> int:
    """In a text file, a bare page number between pages names the page that follows it."""
    digits = re.findall(r"\d+", marker)
    number = int(digits[0]) if digits else 0
    return number - 1 if 1 < number - current_shift <= 50 else current_shift


def _make_line(text: str, page: int) -> Line:
    table = is_table_row(text)
    if table:
        text = close_letter_spacing(re.sub(r"\s*\t\s*|\s{3,}", "\t", text))
    else:
        text = remove_cjk_spaces(re.sub(r"[\s\u2000-\u200b]{2,}", " ", text))
    return Line(text=text, page=page, table=table)


def _repeated_furniture(lines: list[str]) -> set[str]:
    """Lines repeated on many pages (running headers/footers) that are neither prose nor tables."""
    counts = Counter(ln.strip() for ln in lines if len(ln.strip()) >= 10)
    return {
        ln
        for ln, n in counts.items()
        if n >= REPEAT_MIN
        and not is_table_row(ln)
        and not UNIT_LINE.match(ln)
        and ln[-1] not in TERMINAL_PUNCT + "，,、"
    }


def _wrap_width(lines: list[Line | None]) -> int:
    """The column at which the PDF wrapped prose lines (a high percentile of line widths)."""
    widths = sorted(display_width(ln.text) for ln in lines if ln and not ln.table and not ln.header)
    if not widths:
        return 0
    return widths[int(len(widths) * 0.75)]


def _continues(prev: Line, nxt: Line, wrap_width: int) -> bool:
    """True when `nxt` is the rest of the sentence that the hard-wrapped `prev` broke off."""
    if prev.table or nxt.table or prev.header or nxt.header or prev.text[-1] in TERMINAL_PUNCT:
        return False
    if UNIT_LINE.match(nxt.text) or HEADING_MARKER.match(nxt.text):
        return False
    return display_width(prev.text) >= WRAP_FRACTION * wrap_width


class _TextBuilder:
    """The canonical text as it is assembled, with the offset at which each page starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.page_starts: dict[int, int] = {1: 0}

    def add(self, separator: str, line: Line) -> None:
        self.parts.append(separator)
        self.offset += len(separator)
        if line.page > max(self.page_starts):
            _open_page(self.page_starts, line.page, self.offset)
        self.parts.append(line.text)
        self.offset += len(line.text)

    def canonical(self) -> Canonical:
        starts = tuple(self.page_starts[p] for p in sorted(self.page_starts))
        return Canonical(text="".join(self.parts), page_starts=starts)


def _join_paragraphs(lines: list[Line | None], wrap_width: int) -> Canonical:
    out = _TextBuilder()
    prev: Line | None = None
    held: Line | None = None  # a header met inside the text waits for the end of the paragraph it broke into
    for line in lines:
        if line is None:
            continue
        if line.header and prev is not None:
            held = line
            continue
        joined = prev is not None and _continues(prev, line, wrap_width)
        if held is not None and not joined:
            out.add("\n", held)
            held = None
        out.add("" if prev is None else _joiner(prev, line) if joined else "\n", line)
        prev = line
    if held is not None:
        out.add("\n", held)
    return out.canonical()


def _open_page(page_starts: dict[int, int], page: int, offset: int) -> None:
    """Starts `page` at `offset`; skipped pages (no marker seen) go to the text before."""
    last = max(page_starts)
    for skipped in range(last + 1, page):
        page_starts[skipped] = page_starts[last]
    page_starts[page] = offset


def _joiner(prev: Line, nxt: Line) -> str:
    """No space between CJK halves of a wrapped sentence; one space between Latin words."""
    a, b = prev.text[-1], nxt.text[0]
    return " " if a.isascii() and a.isalnum() and b.isascii() and b.isalnum() else ""
