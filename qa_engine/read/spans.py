"""The minimal answer inside a chosen sentence: the number, date, organisation, person or list that sits
closest after what the question asks about (its focus terms), with the unit the question implies."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa_engine.read.cues import DATE, ENUMERATION, NUMBER_WITH_UNIT

Span = tuple[int, int]

DATE_RANGE = re.compile(f"(?:{DATE.pattern})(?:至|到|-|—|～|~)(?:{DATE.pattern})")
ORG_SUFFIX = (r"股份有限公司|有限责任公司|有限公司|事务所(?:[(（]特殊普通合伙[)）])?|集团(?:[(（][^()（）]{1,6}[)）])?(?:公司)?"
              r"|证券|银行|委员会|国资委|研究院|设计院|交易所")
ORGANISATION = re.compile(r"[\u4e00-\u9fffA-Za-z0-9()（）·]{2,40}?(?:" + ORG_SUFFIX + ")")
# Words that end a lead-in rather than start a name: "即与上海洗霸科技股份有限公司" → 上海洗霸科技股份有限公司
LEAD_IN = re.compile(r".*(?:控股子公司|全资子公司|子公司|控股股东|关联方|供应商|客户|认购对象|发行对象|股东|为|与|向|由|即|系|是|给|将|对|在|从|及|和|的)")
ROLE = r"董事长|总经理|总裁|董事会秘书|财务总监|财务负责人|独立董事|监事会主席|法定代表人|自然人|实际控制人"
PERSON = re.compile(r"(?:" + ROLE + r")[：:为是]?\s*(?P<name>[\u4e00-\u9fff]{2,3}?)(?=先生|女士|[，,、。；;（(\s]|同时|在|$)")
ASKS_PERSON = re.compile(r"谁|哪位|姓名|\bwho\b|\bwhich (individual|person)\b|" + ROLE, re.IGNORECASE)
LIST_ITEM_END = re.compile(r"等|方面|领域|的|以及")
LIST_LEAD_IN = re.compile(r".*(?:包括|包含|主要有|分别为|分别是|主要为|为|是|有|在|即|如|对|从|的)")

UNIT_HINTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"比例|比率|占比|百分|增速|增幅|降幅|涨幅|毛利率|收益率|覆盖率|增长率|权重|percent|stake|ratio|rate\b|margin|weight|share of", re.IGNORECASE),
     ("%", "％")),
    (re.compile(r"多少人|人数|员工|employees|headcount|staff", re.IGNORECASE), ("人", "名")),
    (re.compile(r"多长|多久|期限|锁定期|how long|lock-up", re.IGNORECASE), ("个月", "年")),
    (re.compile(r"价格|单价|price", re.IGNORECASE), ("元/吨", "万元/吨", "元/股", "元")),
    (re.compile(r"产量|产能|指标|吨|capacity|output|quota|tonnes", re.IGNORECASE), ("吨", "万吨")),
    (re.compile(r"金额|总额|多少钱|收入|利润|资金|amount|revenue|profit|value|cash", re.IGNORECASE), ("元", "万元", "亿元", "千元")),
)


def number_span(sentence: str, anchors: Sequence[int], question: str) -> Span | None:
    """The number with a unit nearest after the focus, preferring the unit the question implies."""
    matches = [(m.start(), m.end()) for m in NUMBER_WITH_UNIT.finditer(sentence)]
    units = next((u for pattern, u in UNIT_HINTS if pattern.search(question)), ())
    preferred = [s for s in matches if sentence[s[0] : s[1]].endswith(units)] if units else []
    return nearest(preferred or matches, anchors)


def date_span(sentence: str, anchors: Sequence[int]) -> Span | None:
    """A date range ("2015年6月17日至2024年6月17日") or the date nearest after the focus."""
    ranges = [(m.start(), m.end()) for m in DATE_RANGE.finditer(sentence)]
    full = [(m.start(), m.end()) for m in DATE.finditer(sentence) if "月" in m.group() or "-" in m.group()]
    return nearest(ranges or full or [(m.start(), m.end()) for m in DATE.finditer(sentence)], anchors)


def entity_span(sentence: str, anchors: Sequence[int], question: str, exclude: Sequence[str] = ()) -> Span | None:
    """A person after a role word when the question asks who; otherwise the organisation nearest the focus,
    never one the question itself names."""
    people = [(m.start("name"), m.end("name")) for m in PERSON.finditer(sentence)] if ASKS_PERSON.search(question) else []
    orgs = [s for s in _organisations(sentence) if not any(sentence[s[0] : s[1]] in name for name in exclude)]
    if people and (re.search(ROLE, question) or not orgs):
        return nearest(people, anchors)
    return nearest(orgs, anchors)


def list_span(sentence: str) -> Span | None:
    """The longest 、-enumeration, trimmed to its items: lead-in words before the first and the tail after the
    last ("…在抛光、储氢、催化等方面…" → 抛光、储氢、催化)."""
    matches = list(ENUMERATION.finditer(sentence))
    if not matches:
        return None
    best = max(matches, key=lambda m: m.end() - m.start())
    items = best.group().split("、")
    width = max(len(i) for i in items[1:-1]) + 2
    first, last = items[0], items[-1]
    lead = LIST_LEAD_IN.match(first)
    # after a lead-in word the whole first item is kept; without one, no more than the other items' width
    keep = len(first) - lead.end() if lead and lead.end() < len(first) else min(len(first), width)
    start = best.start() + len(first) - keep
    cut = LIST_ITEM_END.search(last)
    end = best.end() - len(last) + min(cut.start() if cut and cut.start() > 0 else len(last), width)
    return start, end


def nearest(spans: Sequence[Span], anchors: Sequence[int]) -> Span | None:
    """The span closest after an anchor (a focus term's end); one before an anchor costs double."""
    if not spans:
        return None
    if not anchors:
        return spans[0]

    def cost(span: Span) -> int:
        return min(span[0] - a if span[0] >= a else 2 * (a - span[1]) + 1 for a in anchors)

    return min(spans, key=cost)


def _organisations(sentence: str) -> list[Span]:
    out = []
    for match in ORGANISATION.finditer(sentence):
        start, text = match.start(), match.group()
        lead = LEAD_IN.match(text)
        if lead and len(text) - lead.end() >= 4 and re.search(f"(?:{ORG_SUFFIX})$", text[lead.end():]):
            start, text = start + lead.end(), text[lead.end():]
        if text.count("（") + text.count("(") == text.count("）") + text.count(")"):
            out.append((start, start + len(text)))
    return out
