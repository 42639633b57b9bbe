"""Character classes and line patterns shared by normalisation, sentence splitting and sections."""

from __future__ import annotations

import re

CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u2014-\u2027\u2e80-\u2eff"
CJK_CHAR = re.compile(f"[{CJK}]")
SPACES = "[ \\t\u00a0\u2000-\u200b\u3000]"
SPACE_TOUCHING_CJK = re.compile(f"(?<=[{CJK}]){SPACES}+|{SPACES}+(?=[{CJK}])")
TERMINAL_PUNCT = "。！？!?；;…：:"
HEADING_MARKER = re.compile(
    r"^(问题\s*\d+|第[一二三四五六七八九十百]+[节章]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]"
    r"|【[^】]{1,12}】|(回复|答复)[:：])"
)
UNIT_LINE = re.compile(r"^\s*[（(]?单位\s*[:：]")
NUMBER_CELL = re.compile(r"^[-+]?[\d,]+(\.\d+)?%?$")


def display_width(text: str) -> int:
    """Width in half-width columns: CJK characters count 2."""
    return sum(2 if CJK_CHAR.match(ch) else 1 for ch in text)


SPACED_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")


def is_table_row(line: str) -> bool:
    """A tab-separated row, a row of space-aligned cells, or a row carrying several numeric cells."""
    body = line.strip()
    if SPACED_DATE.fullmatch(body) or (len(body) > 1 and all(CJK_CHAR.fullmatch(c) for c in body.split())):
        return False  # "2024 年 9 月 14 日", "董    事    会": a date and a letter-spaced word, not cells
    if "\t" in body or re.search(r"\S {3,}\S", body):
        return True
    cells = body.split()
    if len(cells) >= 3 and all(len(c) <= 6 for c in cells) and not any(p in body for p in TERMINAL_PUNCT + "，,"):
        return True
    numeric = sum(1 for c in cells if NUMBER_CELL.match(c))
    labels_short = all(len(c) <= 12 for c in cells if not NUMBER_CELL.match(c))
    return numeric >= 2 and labels_short and numeric * 2 >= len(cells) - 1


def remove_cjk_spaces(line: str) -> str:
    """'2024 年' -> '2024年'; spaces between Latin words stay."""
    return SPACE_TOUCHING_CJK.sub("", line)
