"""The phrase tables find exactly what one longest-first regex alternation finds (their former implementation)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from qa_engine.retrieve.glossary import PhraseTable, load_aliases, load_glossary, load_synonyms

ROOT = Path(__file__).resolve().parents[1]


def regex_finder(table: PhraseTable):  # type: ignore[no-untyped-def]
    def one(phrase: str) -> str:
        if phrase.isascii():
            return r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])"
        return re.escape(phrase)

    pattern = re.compile("|".join(one(p) for p in sorted(table.entries, key=len, reverse=True)))
    return lambda text: [(m.group(), table.entries[m.group()]) for m in pattern.finditer(text.lower())]


def questions() -> list[str]:
    texts = []
    for path in sorted((ROOT / "eval" / "gold").glob("*.jsonl")):
        texts += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


@pytest.mark.parametrize("load", [load_glossary, load_aliases, load_synonyms])
def test_find_matches_the_regex_alternation(load) -> None:  # type: ignore[no-untyped-def]
    table = load()
    regex_find = regex_finder(table)
    rng = random.Random(0)
    phrases = list(table.entries)
    made = [" ".join(rng.sample(phrases, 3)) + rng.choice(["", "s", "x", " 2024", "的"]) for _ in range(300)]
    glued = ["".join(rng.sample(phrases, 2)) for _ in range(100)]  # Latin phrases glued: no word boundary
    texts = questions() + made + glued + ["", "A", "GROSS MARGIN", "gross margins", "net-profit", "定增募资"]
    for text in texts:
        assert table.find(text) == regex_find(text), text


def test_longest_phrase_wins_and_latin_needs_word_boundaries() -> None:
    table = PhraseTable({"gross margin": ("毛利率",), "gross": ("总",), "定增": ("向特定对象发行",), "ab": ("x",)})
    assert table.find("Gross margin fell") == [("gross margin", ("毛利率",))]
    assert table.find("grossly") == []
    assert table.find("cab ab") == [("ab", ("x",))]
    assert table.values_in("定增和gross") == ["向特定对象发行", "总"]
