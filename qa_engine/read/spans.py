"""The minimal answer inside a chosen sentence: the number, date, organisation, person or list that sits
closest after what the question asks about (its focus terms), with the unit the question implies."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa_engine.lazy_regex import Pattern, lazy
from qa_engine.read.cues import DATE, ENUMERATION, NUMBER_WITH_UNIT, UNITS
from qa_engine.resources.wordlists import UNIT_GROUPS, load_word_list

Offsets = tuple[int, int]  # [start, end) inside one sentence (ingest.sentences.Span is in a document)

DATE_RANGE = lazy(f"(?:{DATE.pattern})(?:至|到|-|—|～|~)(?:{DATE.pattern})")
ORGANISATION_WORDS = load_word_list("organisation_suffixes.tsv")
BOUNDS = load_word_list("span_bounds.tsv")
ORG_SUFFIX = ORGANISATION_WORDS.alternation("name_end", with_tails=True)
ORGANISATION = lazy(r"[\u4e00-\u9fffA-Za-z0-9()（）·]{2,40}?(?:" + ORG_SUFFIX + ")")
# Words that end a lead-in rather than start a name: "即与上海洗霸科技股份有限公司" → 上海洗霸科技股份有限公司
LEAD_WORD = re.compile(BOUNDS.alternation("name_lead"))
# what is left when a lead-in word was really part of the name ("信永中和|会计师事务所")
GENERIC_NAME = re.compile("^(?:" + ORGANISATION_WORDS.alternation("generic") + ")?(?:" + ORG_SUFFIX + ")$")
HINTS = load_word_list("question_hints.tsv")
ROLE = load_word_list("person_roles.tsv").alternation("role")
PERSON = lazy(r"(?:" + ROLE + r")(?:、(?:" + ROLE + r"))*[：:为是]?\s*(?P<name>[\u4e00-\u9fff]{2,3}?)"
                    r"(?=先生|女士|[，,、。；;（(\s]|同时|在|$)")
ASKS_PERSON = lazy(HINTS.alternation("person") + "|" + ROLE, re.IGNORECASE)
ASKS_INDIVIDUAL = lazy(HINTS.alternation("individual") + "|" + ROLE, re.IGNORECASE)
ASKS_NAME = re.compile(HINTS.alternation("name"), re.IGNORECASE)
QUOTED_NAME = lazy(r"[“\"《](?P<name>[^”\"《》]{2,60})[”\"》]")
ASKS_METHOD = re.compile(HINTS.alternation("method"), re.IGNORECASE)
METHOD = lazy("(?:" + BOUNDS.alternation("method_lead") + r")(?P<name>[\u4e00-\u9fff]{1,8}?法)(?=[对进计摊确核,，。；;]|$)")
# what ends the last item ("…稀土铝镁合金等方面", "…汀稀投资七个平台", "…生命周期阶段") and starts the first one
LIST_ITEM_END = re.compile(BOUNDS.alternation("list_end"))
LIST_LEAD_IN = re.compile(BOUNDS.alternation("list_lead"))
MAX_LAST_ITEM = 40

# Ranges, qualifiers and codes: "3.35亿元到5.76亿元", "-1.6亿元至-2亿元", "200%-230%", "约98%", "不超过人民币150亿元",
# "430亿元以上"; "600111" when the stock code is asked.
_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_UNIT = r"(?:" + UNITS.alternation("range") + ")?"
_RANGE_JOIN = r"\s*(?:至|到|~|～|-|—|－)\s*"
RANGE_START = lazy(rf"(?<![\d.,]){_NUMBER}{_UNIT}{_RANGE_JOIN}$")
RANGE_END = re.compile(rf"{_RANGE_JOIN}{_NUMBER}{_UNIT}(?![\d.])")
QUALIFIER_BEFORE = re.compile("(?:" + BOUNDS.alternation("before_number") + ")(?:人民币)?$")
QUALIFIER_AFTER = re.compile("(?:" + BOUNDS.alternation("after_number", with_tails=True) + ")?(?:[(（]含[)）])?")
ASKS_CODE = re.compile(HINTS.alternation("code"), re.IGNORECASE)
STOCK_CODE = re.compile(r"(?<![\d.,])\d{6}(?![\d.,%])")

UNIT_HINTS: tuple[tuple[Pattern, tuple[str, ...]], ...] = tuple(
    (lazy(HINTS.alternation(group), re.IGNORECASE), UNITS.texts(group)) for group in UNIT_GROUPS
)


def number_span(sentence: str, anchors: Sequence[int], question: str) -> Offsets | None:
    """The number with a unit nearest after the focus, preferring the unit the question implies, kept whole:
    a range ("1.2亿元至1.5亿元") and its qualifier ("约", "不超过", "以上"); a stock code when a code is asked."""
    if ASKS_CODE.search(question) and (codes := [(m.start(), m.end()) for m in STOCK_CODE.finditer(sentence)]):
        return nearest(codes, anchors)
    matches = [(m.start(), m.end()) for m in NUMBER_WITH_UNIT.finditer(sentence)]
    units = next((u for pattern, u in UNIT_HINTS if pattern.search(question)), ())
    preferred = [s for s in matches if sentence[s[0] : s[1]].endswith(units)] if units else []
    found = nearest(preferred or matches, anchors)
    return _whole_number(sentence, found) if found else None


def _whole_number(sentence: str, span: Offsets) -> Offsets:
    """`span` widened to the range it is one end of, and to the qualifier before or after it."""
    start, end = span
    if before := RANGE_START.search(sentence[:start]):
        start = before.start()
    elif after := RANGE_END.match(sentence, end):
        end = after.end()
    if qualifier := QUALIFIER_BEFORE.search(sentence[:start]):
        start = qualifier.start()
    if qualifier := QUALIFIER_AFTER.match(sentence, end):
        end = qualifier.end()
    return start, end


def date_span(sentence: str, anchors: Sequence[int]) -> Offsets | None:
    """A date range ("2015年6月17日至2024年6月17日") or the date nearest after the focus."""
    ranges = [(m.start(), m.end()) for m in DATE_RANGE.finditer(sentence)]
    full = [(m.start(), m.end()) for m in DATE.finditer(sentence) if "月" in m.group() or "-" in m.group()]
    return nearest(ranges or full or [(m.start(), m.end()) for m in DATE.finditer(sentence)], anchors)


def entity_span(sentence: str, anchors: Sequence[int], question: str, exclude: Sequence[str] = ()) -> Offsets | None:
    """The name the question asks for: a quoted name when it asks for a full name, a method ("产量法") when it
    asks how something is done, a person after a role word when it asks for an individual; otherwise the person
    or organisation nearest the focus (never one the question itself names), or a table row's label."""
    if ASKS_NAME.search(question) and (quoted := _named(QUOTED_NAME, sentence)):
        return nearest(quoted, anchors)
    if ASKS_METHOD.search(question) and (methods := _named(METHOD, sentence)):
        return nearest(methods, anchors)
    people = _named(PERSON, sentence) if ASKS_PERSON.search(question) else []
    if people and ASKS_INDIVIDUAL.search(question):
        return nearest(people, anchors)
    orgs = [s for s in _organisations(sentence) if not any(sentence[s[0] : s[1]] in name for name in exclude)]
    return nearest(sorted(people + orgs), anchors) or _row_label(sentence)


def _named(pattern: Pattern, sentence: str) -> list[Offsets]:
    return [(m.start("name"), m.end("name")) for m in pattern.finditer(sentence)]


def _row_label(sentence: str) -> Offsets | None:
    """The first cell of a table row ("源通新材料\t子公司\t…")."""
    if "\t" not in sentence:
        return None
    end = sentence.index("\t")
    return (0, end) if end > 0 else None


def list_span(sentence: str) -> Offsets | None:
    """The longest 、-enumeration, trimmed to its items: lead-in words before the first ("通过实施总量控制" →
    实施总量控制) and the tail after the last ("稀土铝镁合金等方面" → 稀土铝镁合金)."""
    matches = list(ENUMERATION.finditer(sentence))
    if not matches:
        return None
    best = max(matches, key=lambda m: m.end() - m.start())
    items = best.group().split("、")
    middle = sorted(len(i) for i in items[1:-1]) or [len(items[-1])]
    typical = middle[len(middle) // 2]
    first, last = items[0], items[-1]
    start = best.start() + _first_item_start(first, typical)
    cut = LIST_ITEM_END.search(last, 1)
    # without an end word, a last item up to about twice the typical length is taken whole
    keep = cut.start() if cut and cut.start() <= MAX_LAST_ITEM else len(last) if len(last) <= 2 * typical + 2 else typical + 2
    return start, best.end() - len(last) + keep


def _first_item_start(first: str, typical: int) -> int:
    """After the last lead-in word; without one, where an item of typical length would start."""
    leads = [m.end() for m in LIST_LEAD_IN.finditer(first) if m.end() < len(first)]
    return leads[-1] if leads else max(0, len(first) - typical)


def nearest(spans: Sequence[Offsets], anchors: Sequence[int]) -> Offsets | None:
    """The span closest after an anchor (a focus term's end); one before an anchor costs double."""
    if not spans:
        return None
    if not anchors:
        return spans[0]

    def cost(span: Offsets) -> int:
        return min(span[0] - a if span[0] >= a else 2 * (a - span[1]) + 1 for a in anchors)

    return min(spans, key=cost)


def _organisations(sentence: str) -> list[Offsets]:
    out = []
    for match in ORGANISATION.finditer(sentence):
        start, text = match.start(), match.group()
        cut = _lead_in_end(text)
        start, text = start + cut, text[cut:]
        if text.count("（") + text.count("(") == text.count("）") + text.count(")"):
            out.append((start, start + len(text)))
    return out


def _lead_in_end(text: str) -> int:
    """Where the name starts: after the last lead-in word that leaves a whole, specific name."""
    for word in reversed(list(LEAD_WORD.finditer(text))):
        rest = text[word.end() :]
        if len(rest) >= 4 and re.search(f"(?:{ORG_SUFFIX})$", rest) and not GENERIC_NAME.match(rest):
            return word.end()
    return 0
