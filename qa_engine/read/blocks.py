"""Where a sentence sits in an inquiry reply or Q&A record: in a quoted question, an answer, the verification
procedure or the verification opinion. Answers come from the answer blocks; the other blocks mostly restate
the question ("请发行人说明…是否存在…", "查阅…核实…是否…")."""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

BLOCKS = ("question", "reply", "procedure", "opinion")
_ORDINAL = r"(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、)?\s*"
MARKER = re.compile(
    r"(?m)^[ \t\u3000]*(?:"
    r"(?P<question>问题\s*\d+)"
    r"|(?P<reply>【?(?:回复|答复)】?\s*[:：]?|" + _ORDINAL + r"(?:发行人|公司)说明)"
    r"|(?P<procedure>" + _ORDINAL + r"核查(?:程序|过程|方式))"
    r"|(?P<opinion>" + _ORDINAL + r"核查意见)"
    r")"
)


@lru_cache(maxsize=64)
def _markers(text: str) -> tuple[list[int], list[str]]:
    """Start offsets and kinds of every block marker in a document (cached per document text)."""
    starts, kinds = [], []
    for match in MARKER.finditer(text):
        starts.append(match.start())
        kinds.append(match.lastgroup or "")
    return starts, kinds


def block_at(text: str, offset: int) -> str | None:
    """The kind of block that `offset` lies in, or None before the first marker / in documents without any."""
    starts, kinds = _markers(text)
    i = bisect.bisect_right(starts, offset) - 1
    return kinds[i] if i >= 0 else None
