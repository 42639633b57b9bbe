"""The answer types a question can ask for (why, number, date, entity, list, yes-no, else fact), each the
reader's unit: how a question asks for it (Chinese and English patterns), how strongly a sentence carries it
(its cue), where in a sentence the answer sits (its span extractor) and any feature of its own.

Adding a type is adding one `AnswerType` to `ANSWER_TYPES` (and its rows in `resources/question_patterns.tsv`):
question-type detection, the feature names and the feature vector all follow from the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from qa_engine.read import cues, spans

Span = tuple[int, int]


@dataclass(frozen=True)
class Target:
    """What an answer type knows of the question while it looks at one sentence."""

    anchors: tuple[int, ...] = ()  # where the asked-about terms end in the sentence
    hint_text: str = ""  # the question and its terms, where unit and role hints are looked for
    topic: tuple[str, ...] = ()  # the terms that say what is asked
    named: tuple[str, ...] = ()  # terms that only name a company: never the answer


@dataclass(frozen=True)
class TypeFeature:
    """A feature only one answer type computes; 0 for questions of every other type."""

    name: str
    value: Callable[[str, Target], float]


@dataclass(frozen=True)
class AnswerType:
    name: str
    question: re.Pattern[str] | None  # how a question asks for it; None for the fallback type
    priority: int  # detection order: of the types whose pattern matches, the lowest priority wins
    cue: Callable[[str], float]  # 0..1: how strongly a sentence carries this kind of answer
    span: Callable[[str, Target], Span | None]  # the minimal answer in a sentence, when the type has one
    features: tuple[TypeFeature, ...] = ()


@dataclass(frozen=True)
class AnswerTypes:
    """The registry: answer types in feature order, and the one asked when no question pattern matches."""

    types: tuple[AnswerType, ...]
    fallback: str
    _by_name: dict[str, AnswerType] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {t.name: t for t in self.types}
        if len(by_name) != len(self.types):
            raise ValueError(f"answer type names repeat: {[t.name for t in self.types]}")
        if self.fallback not in by_name:
            raise ValueError(f"fallback answer type {self.fallback!r} is not one of {sorted(by_name)}")
        object.__setattr__(self, "_by_name", by_name)

    def __iter__(self) -> Iterator[AnswerType]:
        return iter(self.types)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.types)

    def find(self, name: str) -> AnswerType | None:
        return self._by_name.get(name)

    def detection_order(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """Each type's question pattern, in the order they are tried."""
        asked = sorted((t for t in self.types if t.question is not None), key=lambda t: t.priority)
        return tuple((t.name, t.question) for t in asked if t.question is not None)

    def question_cue(self, question: str) -> tuple[str, str] | None:
        """The question's type and the words that show it ("为什么", "how much"), by the first pattern that matches."""
        for name, pattern in self.detection_order():
            match = pattern.search(question.strip())
            if match:
                return name, match.group()
        return None

    def detect(self, question: str) -> str:
        """The type of answer the question asks for; the fallback when no pattern matches."""
        found = self.question_cue(question)
        return found[0] if found else self.fallback

    def type_features(self) -> tuple[str, ...]:
        return tuple(f.name for t in self.types for f in t.features)


def _question(zh: str, en: str) -> re.Pattern[str]:
    return re.compile(f"{zh}|{en}", re.IGNORECASE)


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


def _pattern(name: str) -> re.Pattern[str]:
    return _question(_ZH[name], _EN[name])


ANSWER_TYPES = AnswerTypes(
    types=(
        # "哪些原因" is a why-question: why is tried first
        AnswerType("why", _pattern("why"), 0, cues.why_cue, lambda s, t: cues.why_span(s, t.anchors),
                   (TypeFeature("cause_adjacency", lambda s, t: cues.cause_adjacency(s, t.topic)),)),
        AnswerType("number", _pattern("number"), 3, cues.number_cue,
                   lambda s, t: spans.number_span(s, t.anchors, t.hint_text)),
        AnswerType("date", _pattern("date"), 2, cues.date_cue, lambda s, t: spans.date_span(s, t.anchors)),
        AnswerType("entity", _pattern("entity"), 4, cues.entity_cue,
                   lambda s, t: spans.entity_span(s, t.anchors, t.hint_text, t.named)),
        # "which countries" is a list before it is an entity
        AnswerType("list", _pattern("list"), 1, cues.list_cue, lambda s, t: spans.list_span(s)),
        AnswerType("yesno", _pattern("yesno"), 5, cues.yesno_cue, lambda s, t: cues.yesno_span(s, t.anchors)),
        AnswerType("fact", None, 6, lambda s: 0.5, lambda s, t: None),
    ),
    fallback="fact",
)
