"""Answer-type cues: how strongly a sentence carries the answer to a why / number / date / list / entity / yes-no
question, and where in it the answer to a why or yes-no question sits."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa_engine.lazy_regex import lazy
from qa_engine.resources.wordlists import load_word_list

CAUSAL = load_word_list("causal_cues.tsv")
POLAR_WORDS = load_word_list("polar_words.tsv")
UNITS = load_word_list("units.tsv")

CAUSE_CUE = re.compile(CAUSAL.alternation("lead"))
TRAILING_CAUSE = re.compile(CAUSAL.alternation("trailing"))
STRONG_CAUSE = re.compile(CAUSAL.alternation("strong"))
CONNECTIVE = re.compile(CAUSAL.alternation("connective"))
CONSEQUENCE = re.compile(CAUSAL.alternation("consequence"))
CLAUSE_BREAKS = "，,；;"
CLAUSE = re.compile(r"[^，,。；;]+")
MIN_CAUSE_CHARS = 4
NUMBER_WITH_UNIT = lazy(
    r"(?<![\d.,=])-?\d[\d,]*(?:\.\d+)?\s*(?:" + UNITS.alternation("amount") + r")(?:左右)?"
    r"|(?<![\d.,=])\d{1,2}(?:\.\d+)?\s*(?:" + UNITS.alternation("duration") + r")(?![\d度末初])(?:左右)?"
)
DATE = re.compile(
    r"\d{4}年\d{1,2}月(?:\d{1,2}日|[上中下]旬|初|末|底)?|\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{4}年(?:第?[一二三四]季度|[上下]半年|末|度|初|底)?|\d{1,2}月\d{1,2}日"
    r"|(?<![\d年\-—~至])\d{1,2}月(?:[上中下]旬|初|末|底|份)?(?![\d日])|明年|今年|去年|年内|年底"
)
ENUMERATION = re.compile(r"[^，,。；;：:、等]{1,30}(?:、[^，,。；;：:、等]{1,30})+")
POLAR = re.compile(POLAR_WORDS.alternation("polar"))
YESNO_CUE = re.compile(POLAR_WORDS.alternation("fallback"))
STRONG_POLAR = re.compile(POLAR_WORDS.alternation("strong"))
LIST_MARKER = lazy(r"^\s*(?:[-—●•·]+\s*)?(?:[一二三四五六七八九十]+、|\d+[.、．]|[(（][一二三四五六七八九十\d]+[)）])?\s*")
ENTITY = lazy(r"[\u4e00-\u9fff（）()]{2,30}?(?:" + load_word_list("organisation_suffixes.tsv").alternation("entity_cue") + ")")


def why_span(sentence: str, anchors: Sequence[int] = ()) -> tuple[int, int] | None:
    """The causal clause: from the causal cue that most closely follows what is asked about (the end offsets
    `anchors` of its terms) to the end of the sentence, or the clause that ends in 所致/导致."""
    end = len(sentence.rstrip("。；;"))
    found = list(CAUSE_CUE.finditer(sentence))
    after = [(min(m.start() - a for a in anchors if a <= m.start()), m) for m in found if any(a <= m.start() for a in anchors)]
    leading = [min(after, key=lambda pair: pair[0])[1]] if after else found
    if leading and end > leading[0].start():
        return _cause_only(sentence, leading[0], end)
    trailing = TRAILING_CAUSE.search(sentence)
    if trailing:
        start = _clause_start(sentence, trailing.start())
        if start == trailing.start():  # "…单价无法覆盖单位成本，导致毛利率为负": the cause is the clause before
            start = _clause_start(sentence, max(0, start - 1))
        stop = trailing.end() if trailing.group() == "所致" else _clause_end(sentence, trailing.end())
        return start, stop
    return None


def _cause_only(sentence: str, cue: re.Match[str], end: int) -> tuple[int, int]:
    """The cause without its connective ("主要系…") and without the consequence or next point that follows it
    ("…所致", "…导致毛利率为负", "；在建工程…"); the whole clause when trimming would leave too little."""
    connective = CONNECTIVE.match(cue.group())
    start = cue.start() + (connective.end() if connective else 0)
    stop = CONSEQUENCE.search(sentence, start)
    stop_at = stop.start() if stop else end
    if stop_at - start < MIN_CAUSE_CHARS:
        return cue.start(), end
    return start, len(sentence[:stop_at].rstrip("，,、 "))


def _clause_start(sentence: str, position: int) -> int:
    return max(sentence.rfind(p, 0, position) for p in CLAUSE_BREAKS) + 1


def _clause_end(sentence: str, position: int) -> int:
    ends = [i for i in (sentence.find(p, position) for p in CLAUSE_BREAKS + "。") if i >= 0]
    return min(ends) if ends else len(sentence)


def yesno_span(sentence: str, anchors: Sequence[int] = ()) -> tuple[int, int] | None:
    """The clause that settles a yes-no question: one with a polar verb (不存在, 属于, 尚需, 能够, 未…), the one
    holding or nearest after what is asked about, without its list marker ("2.", "-四、")."""
    parts = list(CLAUSE.finditer(sentence))
    clauses = [m for m in parts if POLAR.search(m.group())] or [m for m in parts if YESNO_CUE.search(m.group())]
    if not clauses:
        return None
    holding = [c for c in clauses if any(c.start() <= a <= c.end() for a in anchors)]
    following = [c for c in clauses if anchors and c.start() >= min(anchors)]
    best = (holding or following or clauses)[0]
    marker = LIST_MARKER.match(best.group())
    return best.start() + (marker.end() if marker else 0), best.end()


def why_cue(sentence: str) -> float:
    """1 for a plain causal word (主要系, 由于, 所致, 原因…), 0.4 for a weaker cue (系, 受…影响), else 0."""
    return 1.0 if STRONG_CAUSE.search(sentence) else 0.4 if CAUSE_CUE.search(sentence) else 0.0


def number_cue(sentence: str) -> float:
    return 1.0 if NUMBER_WITH_UNIT.search(sentence) else 0.0


def date_cue(sentence: str) -> float:
    """1 for a month or a day, 0.3 for a coarser date (a year, 年底), else 0."""
    return 1.0 if re.search(r"\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日", sentence) else 0.3 if DATE.search(sentence) else 0.0


def list_cue(sentence: str) -> float:
    return min(1.0, sentence.count("、") / 3)


def entity_cue(sentence: str) -> float:
    return 1.0 if ENTITY.search(sentence) else 0.3


def yesno_cue(sentence: str) -> float:
    return 1.0 if STRONG_POLAR.search(sentence) else 0.3


def cause_adjacency(sentence: str, topic: Sequence[str]) -> float:
    """1 when a causal cue directly follows (…毛利率为负主要是…) or precedes (…导致毛利率为负) what is asked
    about; lower the more words sit between, as when the cause explains another clause in between."""
    ends = [m.end() for t in topic for m in re.finditer(re.escape(t), sentence)]
    starts = [m.start() for t in topic for m in re.finditer(re.escape(t), sentence)]
    gaps = [c.start() - e for c in CAUSE_CUE.finditer(sentence) for e in ends if e <= c.start()]
    gaps += [s - c.end() for c in TRAILING_CAUSE.finditer(sentence) for s in starts if s >= c.end()]
    return 1.0 / (1.0 + min(gaps) / 4.0) if gaps else 0.0
