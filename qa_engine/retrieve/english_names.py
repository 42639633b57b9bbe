"""The short forms an English question uses for a company whose filing gives only its full English name.

"Tsingtao Brewery Company Limited" is asked about as "Tsingtao Brewery" or "Tsingtao", "Shanghai Milkground
Food Tech Co., Ltd." as "Milkground", "China CITIC Bank Corporation Limited" as "China CITIC Bank" or "CITIC
Bank". Each full name yields: the name without its legal form and bracketed parts; that again without a leading
place name; and every word no other company's name shares that is neither a place nor an everyday word (a
word like "Spring" or "Founder" names a company only together with the rest of its name).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from qa_engine.retrieve.glossary import word_list

_BRACKETED = re.compile(r"\s*[(（][^)）]*[)）]")
_LEGAL_FORM = re.compile(
    r"(?:[\s,]+(?:co\.?|company|corporation|corp\.?|inc\.?|ltd\.?|limited|plc|holdings?|group|joint stock|"
    r"stock|share|shares|incorporated|llc))+\.?\s*$")
_WORD = re.compile(r"[a-z][a-z0-9&'.-]*[a-z0-9]|[a-z]")

PLACES = word_list("english_place_names.txt")

EVERYDAY = word_list("english_name_common_words.txt")


def legal_free(name: str) -> str:
    """The lower-cased name without bracketed parts and its trailing legal form."""
    name = _BRACKETED.sub("", name.lower()).strip()
    previous = None
    while previous != name:
        previous, name = name, _LEGAL_FORM.sub("", name).strip(" ,.")
    return " ".join(name.split())


def _words(name: str) -> list[str]:
    return _WORD.findall(name)


def english_aliases(names: Iterable[str]) -> dict[str, set[str]]:
    """Full English name → the short forms that name it (lower-cased), for every name in `names`."""
    cores = {full: legal_free(full) for full in names if full.strip()}
    counts = Counter(word for core in set(cores.values()) for word in set(_words(core)))
    return {full: _aliases_of(core, counts) for full, core in cores.items()}


def _distinctive(word: str) -> bool:
    parts = word.split("-")
    common = word in EVERYDAY or all(p in PLACES or p in EVERYDAY for p in parts)
    return len(word) >= 4 and not common


def _without_leading_places(core: str) -> str:
    head, _, rest = core.partition(" ")
    while rest and head in PLACES:
        core = rest
        head, _, rest = core.partition(" ")
    return core


def _aliases_of(core: str, counts: Counter[str]) -> set[str]:
    words = _words(core)
    aliases = {core} if len(words) >= 2 else set()
    unplaced = _without_leading_places(core)
    if unplaced != core and len(_words(unplaced)) >= 2:
        aliases.add(unplaced)
    aliases.update(w for w in words if (counts[w] == 1 or len(words) == 1) and _distinctive(w))
    return {a for a in aliases if len(a) >= 4}
