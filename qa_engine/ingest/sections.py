"""Heading detection: every offset of a document gets a section path like '问题2 关于… › 一、… › （三）…'."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

SEPARATOR = " › "
MAX_HEADING_CHARS = 90
LABEL_CHARS = 40

# (level, pattern). Lower level = outer heading. 问题N / 第X节 open a new top-level section.
HEADING_LEVELS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(r"^(问题\s*\d+|第[一二三四五六七八九十百]+[节章])")),
    (1, re.compile(r"^[一二三四五六七八九十]+、")),
    (2, re.compile(r"^[（(][一二三四五六七八九十]+[)）]")),
    (3, re.compile(r"^\d{1,2}[、.．](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[)）]")),
)


@dataclass(frozen=True)
class Heading:
    start: int
    level: int
    label: str


@dataclass(frozen=True)
class SectionMap:
    """Section paths by offset: `path_at(offset)` is the path of the innermost heading before it."""

    starts: tuple[int, ...]
    paths: tuple[str, ...]

    def path_at(self, offset: int) -> str:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.paths[i] if i >= 0 else ""


def build_section_map(text: str) -> SectionMap:
    """Scans the canonical text line by line and records the section path in force after each heading."""
    stack: list[Heading] = []
    starts: list[int] = []
    paths: list[str] = []
    offset = 0
    for line in text.split("\n"):
        heading = detect_heading(line, offset)
        if heading is not None:
            stack = [h for h in stack if h.level < heading.level] + [heading]
            starts.append(offset)
            paths.append(SEPARATOR.join(h.label for h in stack))
        offset += len(line) + 1
    return SectionMap(tuple(starts), tuple(paths))


def detect_heading(line: str, offset: int = 0) -> Heading | None:
    """A Heading when `line` is a short numbered title (问题1：…, 一、…, （三）…, 1、…), else None."""
    body = line.strip()
    for level, pattern in HEADING_LEVELS:
        if not pattern.match(body):
            continue
        if level > 0 and (len(body) > MAX_HEADING_CHARS or body[-1] in "。，,；;：:"):
            return None
        return Heading(start=offset, level=level, label=_label(body))
    return None


def _label(body: str) -> str:
    body = re.sub(r"^(问题)\s*(\d+)\s*[:：]?\s*", r"\1\2 ", body).strip()
    return body if len(body) <= LABEL_CHARS else body[: LABEL_CHARS - 1] + "…"
