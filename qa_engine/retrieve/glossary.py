"""Offline query expansion: English→Chinese finance glossary, company aliases and Chinese shorthand→filing
wording (定增→向特定对象发行), longest match first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\-.&]*")
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class PhraseTable:
    """Lower-cased phrase → values, matched longest first on word boundaries (Latin) or as substrings (CJK)."""

    entries: dict[str, tuple[str, ...]]

    @cached_property
    def _lengths(self) -> dict[str, tuple[int, ...]]:
        """First character → the lengths of the phrases starting with it, longest first.

        A dictionary scan instead of one regex alternation: compiling the alternation of 2,300 phrases took 0.3 s
        per table at every start, and it matches the same phrases (tests/test_retrieve_glossary.py)."""
        lengths: dict[str, set[int]] = {}
        for phrase in self.entries:
            lengths.setdefault(phrase[0], set()).add(len(phrase))
        return {first: tuple(sorted(sizes, reverse=True)) for first, sizes in lengths.items()}

    def find(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """(matched phrase, values) for non-overlapping matches, scanning left to right."""
        text = text.lower()
        lengths, entries = self._lengths, self.entries
        found: list[tuple[str, tuple[str, ...]]] = []
        i = 0
        while i < len(text):
            phrase = next((text[i : i + n] for n in lengths.get(text[i], ()) if _matches(text, i, n, entries)), None)
            if phrase is None:
                i += 1
                continue
            found.append((phrase, entries[phrase]))
            i += len(phrase)
        return found

    def values_in(self, text: str) -> list[str]:
        """The values of every phrase found in `text`, each once, in order of appearance."""
        return list(dict.fromkeys(value for _, values in self.find(text) for value in values))

    def merged(self, other: dict[str, tuple[str, ...]]) -> PhraseTable:
        combined = dict(self.entries)
        for key, values in other.items():
            combined[key] = tuple(dict.fromkeys(combined.get(key, ()) + values))
        return PhraseTable(combined)


def _matches(text: str, start: int, size: int, entries: dict[str, tuple[str, ...]]) -> bool:
    """Return True when text[start:start+size] is a phrase, and a Latin one stands as whole words there."""
    phrase = text[start : start + size]
    if len(phrase) != size or phrase not in entries:
        return False
    if not phrase.isascii():
        return True
    return not (start > 0 and _word_char(text[start - 1])) and not (
        start + size < len(text) and _word_char(text[start + size]))


def _word_char(char: str) -> bool:
    return "a" <= char <= "z" or "0" <= char <= "9"


def read_table(text: str) -> dict[str, tuple[str, ...]]:
    """Parses 'phrase<TAB>value1|value2' lines; '#' starts a comment."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "\t" not in line:
            continue
        key, values = line.split("\t", 1)
        parts = tuple(v.strip() for v in values.split("|") if v.strip())
        if key.strip() and parts:
            table[key.strip().lower()] = tuple(dict.fromkeys(table.get(key.strip().lower(), ()) + parts))
    return table


@lru_cache(maxsize=16)
def word_list(name: str) -> frozenset[str]:
    """The words of a one-word-per-line resource file, `#` lines being comments."""
    lines = (line.strip() for line in _resource(name).splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _resource(name: str) -> str:
    path = resources.files("qa_engine.resources").joinpath(name)
    return path.read_text(encoding="utf-8") if path.is_file() else ""


@lru_cache(maxsize=8)
def load_glossary(user_file: Path | None = None) -> PhraseTable:
    table = PhraseTable(read_table(_resource("glossary_en_zh.tsv")))
    return table.merged(read_table(user_file.read_text(encoding="utf-8"))) if user_file else table


@lru_cache(maxsize=8)
def load_aliases(user_file: Path | None = None) -> PhraseTable:
    table = PhraseTable(read_table(_resource("company_aliases.tsv")))
    return table.merged(read_table(user_file.read_text(encoding="utf-8"))) if user_file else table


@lru_cache(maxsize=8)
def load_synonyms(user_file: Path | None = None) -> PhraseTable:
    table = PhraseTable(read_table(_resource("synonyms_zh.tsv")))
    return table.merged(read_table(user_file.read_text(encoding="utf-8"))) if user_file else table


def is_english(text: str) -> bool:
    latin = sum(len(w) for w in LATIN_WORD.findall(text))
    cjk = sum(len(r) for r in CJK_RUN.findall(text))
    return latin > cjk * 2


Match = tuple[str, tuple[str, ...]]  # a phrase found in a text and its values (PhraseTable.find)


def translate_to_chinese(text: str, found: Sequence[Match]) -> str:
    """Chinese search text for an English question: the values of its glossary matches (`found`, from
    `PhraseTable.find(text)`), plus CJK and numbers kept as they are."""
    kept = CJK_RUN.findall(text) + re.findall(r"\d[\d,.]*%?", text)
    return " ".join(dict.fromkeys([value for _, values in found for value in values] + kept))


def uncovered_words(text: str, found: Sequence[Match]) -> list[str]:
    """The Latin words of `text` (lower case, bare) that none of its glossary matches `found` covers, each once."""
    covered = {bare_word(word) for phrase, _ in found for word in LATIN_WORD.findall(phrase)}
    words = (bare_word(w) for w in LATIN_WORD.findall(text.lower()))
    return [w for w in dict.fromkeys(words) if w and w not in covered]


def bare_word(word: str) -> str:
    """A word without trailing punctuation or possessive ("grirem's" → grirem, "co." → co)."""
    return word.rstrip(".'-&").removesuffix("'s").removesuffix("’s")


def expand_shorthand(text: str, synonyms: PhraseTable) -> str:
    """The filing wording of the Chinese shorthand in `text`, space-separated ("" when there is none)."""
    return " ".join(synonyms.values_in(text))
