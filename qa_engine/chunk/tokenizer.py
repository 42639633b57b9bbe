"""jieba tokenisation with the shipped finance dictionary, shared by chunking, BM25 and the reader."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)

PUNCT_OR_SPACE = re.compile(r"^[\s\W_]+$", re.UNICODE)
THOUSANDS_SEPARATOR = re.compile(r"(?<=\d),(?=\d{3})")
DECIMAL = re.compile(r"\d+\.\d+")  # jieba would cut 3.00 into 3 / . / 00


def _resource_text(name: str) -> str:
    return resources.files("qa_engine.resources").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(w.strip() for w in _resource_text("stopwords.txt").splitlines() if w.strip())


class FinanceTokenizer:
    """A private jieba instance (finance dictionary + extra words) so that index and query agree."""

    def __init__(self, extra_words: tuple[str, ...] = (), user_dict: Path | None = None) -> None:
        self.extra_words = tuple(sorted(set(extra_words)))
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._ready = False
        self._user_dict = user_dict

    def _warm_up(self) -> None:
        with self._lock:
            if self._ready:
                return
            self._jieba.initialize()
            for line in _resource_text("finance_dict.txt").splitlines():
                parts = line.split()
                if parts:
                    self._jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None)
            if self._user_dict is not None:
                self._jieba.load_userdict(str(self._user_dict))
            for word in self.extra_words:
                self._jieba.add_word(word, 10000)
            self._ready = True

    def words(self, text: str) -> list[str]:
        """jieba words covering `text` exactly (concatenated they give `text` back)."""
        self._warm_up()
        return self._jieba.lcut(text, HMM=False)

    def word_boundaries(self, text: str) -> set[int]:
        """Offsets in `text` at which a jieba word starts or ends."""
        bounds = {0}
        pos = 0
        for word in self.words(text):
            pos += len(word)
            bounds.add(pos)
        return bounds

    def search_terms(self, text: str) -> list[str]:
        """Lower-cased index/query terms: words and their dictionary sub-words, no stopwords or punctuation."""
        self._warm_up()
        text = THOUSANDS_SEPARATOR.sub("", text.lower())
        terms: list[str] = []
        cursor = 0
        for number in DECIMAL.finditer(text):
            terms += self._word_terms(text[cursor : number.start()])
            terms.append(number.group())
            cursor = number.end()
        return terms + self._word_terms(text[cursor:])

    def _word_terms(self, text: str) -> list[str]:
        stop = stopwords()
        return [
            t
            for t in self._jieba.lcut_for_search(text, HMM=False)
            if t not in stop and not PUNCT_OR_SPACE.match(t) and not t.isspace()
        ]

    def count(self, text: str) -> int:
        """Number of non-space jieba words: the unit chunk sizes are given in."""
        return sum(1 for w in self.words(text) if not w.isspace())
