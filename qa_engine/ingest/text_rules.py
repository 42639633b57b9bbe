"""Character classes and line patterns shared by normalisation, sentence splitting and sections."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from qa_engine.lazy_regex import lazy

CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u2014-\u2027\u2e80-\u2eff"
CJK_CHAR = lazy(f"[{CJK}]")
SPACES = "[ \\t\u00a0\u2000-\u200b\u3000]"
SPACE_TOUCHING_CJK = lazy(f"(?<=[{CJK}]){SPACES}+|{SPACES}+(?=[{CJK}])")
TERMINAL_PUNCT = "。！？!?；;…：:"
HEADING_MARKER = lazy(
    r"^(问题\s*\d+|第[一二三四五六七八九十百]+[节章]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]"
    r"|【[^】]{1,12}】|(回复|答复)[:：])"
)
UNIT_LINE = re.compile(r"^\s*[（(]?单位\s*[:：]")
NUMBER_CELL = re.compile(r"^[-+]?[\d,]+(\.\d+)?%?$")
# a space-separated line whose words carry sentence punctuation is prose unless it holds many figures
PROSE_PUNCT = re.compile(r"[。，；;,]")
PROSE_MAX_NUMBERS = 4
WIDE_GAP = re.compile("\\S[\u2002\u3000]{3,}\\S")  # cells set apart by runs of en or ideographic spaces


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
    if is_wrapped_prose(body):
        return False
    labels = [c for c in cells if not NUMBER_CELL.match(c)]
    numeric = len(cells) - len(labels)
    return numeric >= 2 and all(len(c) <= 12 for c in labels) and numeric * 2 >= len(cells) - 1


def is_wrapped_prose(body: str) -> bool:
    """A line of a sentence that quotes a few figures ("7,208.65 万元,上一年度为 8,271.60 万元。"), a spaced date
    counting as one word, not three figures ("截止 2023 年 12 月 31 日,公司担保余")."""
    cells = SPACED_DATE.sub(lambda date: "".join(date.group().split()), body).split()
    labels = [c for c in cells if not NUMBER_CELL.match(c)]
    return (len(cells) - len(labels) < PROSE_MAX_NUMBERS and not WIDE_GAP.search(body)
            and any(PROSE_PUNCT.search(c) for c in labels))


LETTER_SPACE = lazy(f"(?<=[{CJK}]){SPACES}(?=[{CJK}])")


def close_letter_spacing(row: str) -> str:
    """'董事 | 曲 伟 | 工作原因' -> '董事 | 曲伟 | 工作原因': in a row whose cells the pipes set apart, a space between
    two CJK characters spaces a word out (a two-character name to the width of three), it does not part cells."""
    if "|" not in row:
        return row
    return "|".join(LETTER_SPACE.sub("", cell) for cell in row.split("|"))


def remove_cjk_spaces(line: str) -> str:
    """'2024 年' -> '2024年'; spaces between Latin words stay."""
    return SPACE_TOUCHING_CJK.sub("", line)


# The header an exchange filing opens with: "证券代码：600111 证券简称：北方稀土 公告编号：2024-046" (also 股票/公司
# 代码, 简称 before 代码, no spaces at all, bond codes after it). PDFs repeat it on later pages as a running header.
HEADER_LABEL = r"(?:证券|股票|公司|A股|B股|债券|优先股)(?:代码|简称)|公告编[号码]|公告号|编号"
HEADER_FIELD = re.compile(rf"({HEADER_LABEL})\s*([:：])\s*")
CODE_LABEL = re.compile(r"(?:证券|股票|公司|A股)代码")
LAST_VALUE = {  # the last field's value when the filing's text runs on after it on the same line
    "代码": re.compile(r"\d[\d/]*"),
    "简称": re.compile(r"\S+"),
    "号": re.compile(r"(?:临\s*)?[0-9A-Za-z][0-9A-Za-z\-—－_]*"),
}
HEADER_ONLY_TAIL = 20  # a last value longer than this is the start of the text, not a value


@dataclass(frozen=True)
class FilingHeader:
    """A filing's header line, parsed: its fields in order, the header as one clean line, and the text that
    followed it on the same line (a filing published as one line)."""

    fields: tuple[tuple[str, str], ...]
    text: str
    rest: str

    def value(self, *labels: str) -> str:
        """Return the value of the first field whose label ends with one of `labels` ('代码', '简称')."""
        return next((v for label, v in self.fields if label.endswith(labels)), "")


def split_filing_header(line: str) -> FilingHeader | None:
    """Return the header that `line` starts with (a 证券代码 field and others), or None when it starts with none."""
    body = line.strip()
    found = list(HEADER_FIELD.finditer(body))
    if not found or found[0].start() != 0 or not any(CODE_LABEL.fullmatch(m.group(1)) for m in found):
        return None
    fields = [(m.group(1), m.group(2), body[m.end() : nxt.start()]) for m, nxt in pairwise(found)]
    last = found[-1]
    value, rest = _last_value(last.group(1), body[last.end() :])
    fields.append((last.group(1), last.group(2), value))
    clean = tuple((label, " ".join(v.split())) for label, _, v in fields)
    text = " ".join(f"{label}{colon}{' '.join(v.split())}" for label, colon, v in fields)
    return FilingHeader(fields=clean, text=text, rest=rest.strip())


def _last_value(label: str, tail: str) -> tuple[str, str]:
    """Return (value, the text after it) for the header's last field."""
    tail = tail.strip()
    if len(tail) <= HEADER_ONLY_TAIL:
        return tail, ""
    kind = "代码" if label.endswith("代码") else "简称" if label.endswith("简称") else "号"
    match = LAST_VALUE[kind].match(tail)
    return (match.group(0), tail[match.end() :]) if match else ("", tail)


def table_header_at(text: str, offset: int) -> tuple[str, str] | None:
    """Return (unit line or "", header row) of the table whose row holds `offset` in a canonical text, or None
    when that line is not a table row: what a reader needs to make sense of one row of numbers."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    if not is_table_row(text[start : end if end >= 0 else len(text)]):
        return None
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        if not is_table_row(text[previous : start - 1]):
            break
        start = previous
    header_end = text.find("\n", start)
    header = text[start : header_end if header_end >= 0 else len(text)]
    before = text[text.rfind("\n", 0, max(0, start - 1)) + 1 : max(0, start - 1)]
    return (before if start > 0 and UNIT_LINE.match(before) else ""), header
