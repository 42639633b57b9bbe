"""Word lists shipped as data: `resources/<name>.tsv`, one word (or regular-expression fragment) per row with the
tags that say where it is used, so each list is written once and every rule that needs it takes its tag.

    # comment
    word<TAB>tag,tag[<TAB>tail]

`tail` is a pattern kept with the word where a rule asks for it: what may follow it in a name (事务所 →
"(特殊普通合伙)"), or what must not (证券 not before 报, 以下 not before 简称). Rows keep
their file order: where one word is a prefix of another, the longer one is listed first. A list is read once;
a malformed row raises ConfigError naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from qa_engine.errors import ConfigError


@dataclass(frozen=True)
class Word:
    text: str  # a word, or a regular-expression fragment
    tags: frozenset[str]
    line: int
    tail: str = ""  # a pattern kept with the word where a rule asks for it


@dataclass(frozen=True)
class WordList:
    name: str
    words: tuple[Word, ...]

    def tagged(self, *tags: str) -> tuple[Word, ...]:
        """The rows carrying every one of `tags`, in file order."""
        return tuple(w for w in self.words if w.tags.issuperset(tags))

    def texts(self, *tags: str) -> tuple[str, ...]:
        return tuple(w.text for w in self.tagged(*tags))

    def alternation(self, *tags: str, with_tails: bool = False) -> str:
        """The rows carrying `tags` as one regex alternation ("a|b|c"), in file order."""
        return "|".join(w.text + (w.tail if with_tails else "") for w in self.tagged(*tags))


def parse_word_list(name: str, text: str, known_tags: Iterable[str] | None = None) -> WordList:
    """The rows of `text`, read as the file `name`; ConfigError on a row that is not `word<TAB>tags[<TAB>tail]`,
    names a tag outside `known_tags` (when given), or is not a valid pattern."""
    known = frozenset(known_tags) if known_tags is not None else None
    words = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            words.append(_word(line, number, known, name))
    return WordList(name, tuple(words))


REGEX_SYNTAX = frozenset("()[]{}?*+|^$\\.")  # the characters that can make a fragment an invalid pattern
# the kinds of number a question may hint at, each with its units, in the order the hints are tried
UNIT_GROUPS = ("percent", "headcount", "duration", "price", "tonnage", "money")
# Each shipped list with the tags its rows may carry; None: any tag (the question patterns' answer types,
# checked against the registry in read/answer_types.py)
KNOWN_TAGS: dict[str, frozenset[str] | None] = {
    "asked_counts.tsv": frozenset({"asked", "stated", "shares", "headcount"}),
    "asked_scope.tsv": frozenset({"asked", "named", "first_quarter", "half_year", "third_quarter", "revenue",
                                  "net_profit", "gross_margin", "earnings_per_share", "cash_flow", "debt_ratio",
                                  "research", "goodwill", "dividend"}),
    "causal_cues.tsv": frozenset({"lead", "connective", "trailing", "consequence", "strong", "not_topic"}),
    "organisation_suffixes.tsv": frozenset({"company", "signer", "entity_cue", "name_end", "generic"}),
    "polar_words.tsv": frozenset({"polar", "fallback", "strong"}),
    "question_patterns.tsv": None,
    "english_question_words.tsv": frozenset({"s_verb", "quantity_noun", "entity_noun"}),
    "question_stopwords.tsv": frozenset({"stop"}),
    "question_hints.tsv": frozenset({"person", "individual", "name", "method", "code", *UNIT_GROUPS}),
    "units.tsv": frozenset({"amount", "range", "duration", *UNIT_GROUPS}),
    "person_roles.tsv": frozenset({"role"}),
    "inquiry_words.tsv": frozenset({"question_opener", "reply"}),
    "span_bounds.tsv": frozenset({"name_lead", "list_lead", "list_end", "before_number", "after_number", "method_lead"}),
}


@cache
def load_word_list(name: str) -> WordList:
    """The shipped list `resources/<name>`, read once."""
    if name not in KNOWN_TAGS:
        raise ConfigError(f"unknown word list {name!r}: one of {sorted(KNOWN_TAGS)}")
    text = resources.files("qa_engine.resources").joinpath(name).read_text(encoding="utf-8")
    return parse_word_list(name, text, KNOWN_TAGS[name])


def _word(line: str, number: int, known: frozenset[str] | None, name: str) -> Word:
    where = f"{name}:{number}"
    cells = line.split("\t")
    if len(cells) not in (2, 3) or not cells[0] or not cells[1]:
        raise ConfigError(f"{where}: expected 'word<TAB>tags[<TAB>tail]', got {line!r}")
    tags = frozenset(t.strip() for t in cells[1].split(","))
    if "" in tags:
        raise ConfigError(f"{where}: empty tag in {cells[1]!r}")
    if known is not None and (unknown := sorted(tags - known)):
        raise ConfigError(f"{where}: unknown tags {unknown}: use {sorted(known)}")
    word = Word(cells[0], tags, number, cells[2] if len(cells) == 3 else "")
    if REGEX_SYNTAX & set(word.text + word.tail):  # a plain word is a valid pattern: compiling 500 cost 9 ms
        try:
            re.compile(word.text + word.tail)
        except re.error as exc:
            raise ConfigError(f"{where}: {word.text + word.tail!r} is not a valid pattern ({exc})") from exc
    return word
