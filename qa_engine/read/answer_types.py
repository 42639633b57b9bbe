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
from functools import cached_property

from qa_engine.errors import ConfigError
from qa_engine.lazy_regex import LazyPattern, Pattern, lazy
from qa_engine.read import cues, spans
from qa_engine.resources.wordlists import WordList, load_word_list

Span = tuple[int, int]


@dataclass(frozen=True)
class Target:
    """What an answer type knows of the question while it looks at one sentence."""

    sentence: str
    focus: tuple[str, ...] = ()  # the terms next to the question word: what exactly is asked
    topic: tuple[str, ...] = ()  # the terms that say what is asked
    hint_text: str = ""  # the question and its terms, where unit and role hints are looked for
    named: tuple[str, ...] = ()  # terms that only name a company: never the answer

    @cached_property
    def anchors(self) -> tuple[int, ...]:
        """Where the asked-about terms end in the sentence: the focus terms, else the topic terms (found only for
        the types whose spans look for them)."""
        for terms in (self.focus, self.topic):
            ends = tuple(m.end() for t in terms for m in re.finditer(re.escape(t), self.sentence))
            if ends:
                return ends
        return ()


@dataclass(frozen=True)
class TypeFeature:
    """A feature only one answer type computes; 0 for questions of every other type."""

    name: str
    value: Callable[[str, Target], float]


@dataclass(frozen=True)
class AnswerType:
    name: str
    question: Pattern | None  # how a question asks for it; None for the fallback type
    priority: int  # detection order: of the types whose pattern matches, the lowest priority wins
    cue: Callable[[str], float]  # 0..1: how strongly a sentence carries this kind of answer
    span: Callable[[str, Target], Span | None]  # the minimal answer in a sentence, when the type has one
    features: tuple[TypeFeature, ...] = ()


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cache key for its feature names
class AnswerTypes:
    """The registry: answer types in feature order, and the one asked when no question pattern matches."""

    types: tuple[AnswerType, ...]
    fallback: str
    _by_name: dict[str, AnswerType] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {t.name: t for t in self.types}
        if len(by_name) != len(self.types):
            raise ConfigError(f"answer type names repeat: {[t.name for t in self.types]}")
        if self.fallback not in by_name:
            raise ConfigError(f"fallback answer type {self.fallback!r} is not one of {sorted(by_name)}")
        object.__setattr__(self, "_by_name", by_name)

    def __iter__(self) -> Iterator[AnswerType]:
        return iter(self.types)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.types)

    def find(self, name: str) -> AnswerType | None:
        return self._by_name.get(name)

    def detection_order(self) -> tuple[tuple[str, Pattern], ...]:
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


LANGUAGES = ("zh", "en")
QUESTION_PATTERNS = "question_patterns.tsv"
ENGLISH_WORDS = "english_question_words.tsv"
WORD_CLASS = re.compile(r"\{\{(\w+)\}\}")


def question_pattern(patterns: WordList, word_classes: WordList, name: str) -> LazyPattern:
    """The pattern of the questions that ask for answer type `name`: its Chinese rows, then its English ones,
    with each {{word class}} spelled out."""
    rows = [patterns.alternation(name, lang) for lang in LANGUAGES]
    return lazy(WORD_CLASS.sub(lambda m: _word_class(word_classes, m.group(1)), "|".join(rows)), re.IGNORECASE)


def _word_class(word_classes: WordList, name: str) -> str:
    if not word_classes.tagged(name):
        raise ConfigError(f"{{{{{name}}}}} in a question pattern: {word_classes.name} has no row tagged {name!r}")
    return word_classes.alternation(name)


def _shipped_pattern(name: str) -> LazyPattern:
    return question_pattern(load_word_list(QUESTION_PATTERNS), load_word_list(ENGLISH_WORDS), name)


def check_question_tags(patterns: WordList, registry: AnswerTypes) -> None:
    """Raises ConfigError for a question pattern row whose tags are not one answer type and one language."""
    for word in patterns.words:
        types, langs = word.tags - set(LANGUAGES), word.tags & set(LANGUAGES)
        if len(types) != 1 or len(langs) != 1 or not registry.find(next(iter(types))):
            raise ConfigError(f"{patterns.name}:{word.line}: tag one answer type of {list(registry.names)} "
                              f"and one language of {list(LANGUAGES)}, not {sorted(word.tags)}")


ANSWER_TYPES = AnswerTypes(
    types=(
        AnswerType(
            "why", _shipped_pattern("why"), priority=0,  # "哪些原因" is a why-question, not a list
            cue=cues.why_cue, span=lambda s, t: cues.why_span(s, t.anchors),
            features=(TypeFeature("cause_adjacency", lambda s, t: cues.cause_adjacency(s, t.topic)),),
        ),
        AnswerType(
            "number", _shipped_pattern("number"), priority=3,
            cue=cues.number_cue, span=lambda s, t: spans.number_span(s, t.anchors, t.hint_text),
        ),
        AnswerType(
            "date", _shipped_pattern("date"), priority=2,
            cue=cues.date_cue, span=lambda s, t: spans.date_span(s, t.anchors),
        ),
        AnswerType(
            "entity", _shipped_pattern("entity"), priority=4,
            cue=cues.entity_cue, span=lambda s, t: spans.entity_span(s, t.anchors, t.hint_text, t.named),
        ),
        AnswerType(
            "list", _shipped_pattern("list"), priority=1,  # "which countries" is a list before it is an entity
            cue=cues.list_cue, span=lambda s, t: spans.list_span(s),
        ),
        AnswerType(
            "yesno", _shipped_pattern("yesno"), priority=5,
            cue=cues.yesno_cue, span=lambda s, t: cues.yesno_span(s, t.anchors),
        ),
        # any other question: no pattern, a neutral cue, the whole sentence as the answer
        AnswerType("fact", None, priority=6, cue=lambda s: 0.5, span=lambda s, t: None),
    ),
    fallback="fact",
)
check_question_tags(load_word_list(QUESTION_PATTERNS), ANSWER_TYPES)
