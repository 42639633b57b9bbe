"""What kind of answer a question asks for: why, number, date, entity, list, yes-no (else "fact").

Each type is a Chinese and an English pattern; the first type whose pattern matches wins, in the order of
QTYPE_PATTERNS ("哪些原因" is a why-question, "which countries" a list before it is an entity).
"""

from __future__ import annotations

import re

# English verbs ending in -s that follow "which <noun>" ("which broker serves…"): not plural nouns
_S_VERBS = (r"(?:serves|makes|does|has|holds|owns|runs|provides|acts|counts|uses|sits|links|leads|buys|sells|pays|supplies"
            r"|produces|manages|operates|controls|plans|expects|says|reports|needs|means|takes|gives|is|was)")
_PLURAL_NOUN = r"(?!" + _S_VERBS + r"\b)[a-z][\w-]*(?:ies|[^su\W]s)\b"
_QUANTITY_NOUN = (r"revenues?|profits?|margin|prices?|capacity|stake|quota|volume|output|ratio|rate|roe|reserves|amount"
                  r"|percentage|share|value|total|costs?|coverage|weight|income|cap|balance|headcount|size")
_ENTITY_NOUN = (r"company|firm|entity|bank|institution|institute|auditor|sponsor|broker|subsidiary|group|customer|supplier"
                r"|shareholder|controller|individual|person|meeting|committee|department|regulator|exchange|process|method"
                r"|platform|project|body|agency|authority|law firm|accounting firm|counsel")

_ZH = {
    "why": r"为什么|为何|为啥|凭什么|原因|理由|何故|缘由|怎么会|什么因素",
    "list": r"哪些|有哪几|哪[几两三四五六七八九十]个?(?!个?月)[\u4e00-\u9fff]|列举|包括什么|包含什么",
    "date": r"何时|什么时候|哪一?天|哪一?年|哪个月|哪几个月|几月|日期|时间是",
    "number": r"多少|几[个家名人次年]|多大|多高|多长|多久|金额|比例|比率|占比|百分之",
    "entity": r"谁|哪家|哪个|哪位|哪次|哪一?条|哪项|什么公司|什么机构|什么名字|叫什么|全称|名称|什么方法|什么工艺",
    "yesno": r"是否|有没有|是不是|会不会|能否|可否|吗[？?]?$",
}
_EN = {
    "why": (r"\bwhy\b|\breasons?\b|\bcause[sd]?\b|\bwhat (drove|caused|led|explains)\b|\bhow come\b|\bhow (can|could)\b"
            r"|\bhow (was|were|is|are|did) [^?]{1,80}\bable to\b"),
    "list": (r"\bwhich (\w+ )?(are|were)\b|\bwhich ((?!" + _S_VERBS + r"\b)[\w-]+ ){0,3}?" + _PLURAL_NOUN
             + r"|\bwhat (\w+ ){0,2}?(types|kinds|measures|methods|steps|products|risks)\b|^(list|name)\b|\bwho (are|were)\b"
             r"|\bwhat are\b|\bwhat were\b"),
    "date": r"\bwhen\b|\bwhat (date|day|year|time|month)\b|\bon which date\b|\bat what point\b|\bin which (year|month|quarter)\b",
    "number": r"\bhow (much|many|large|big|high|long|far)\b|\bwhat\b[^?]{0,80}?\b(" + _QUANTITY_NOUN + r")\b|\bpercentage\b",
    "entity": (r"\bwho\b|\bwhich\b|\bwhat (\w+[- ]){0,2}?(" + _ENTITY_NOUN + r")\b|\baddress\b|\bwhat is the name\b"
               r"|\bname of\b"),
    # a yes/no verb first, or after a leading clause ("Apart from the oxide price, does …")
    "yesno": r"^([^,?]{1,80},\s*)?(is|are|does|did|do|was|were|has|have|had|can|will|could|should)\b",
}
QTYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(f"{_ZH[name]}|{_EN[name]}", re.IGNORECASE))
    for name in ("why", "list", "date", "number", "entity", "yesno")
)


def detect_qtype(question: str) -> str:
    found = question_cue(question)
    return found[0] if found else "fact"


def question_cue(question: str) -> tuple[str, str] | None:
    """The question's type and the words that show it ("为什么", "how much"), by the first pattern that matches."""
    for name, pattern in QTYPE_PATTERNS:
        match = pattern.search(question.strip())
        if match:
            return name, match.group()
    return None
