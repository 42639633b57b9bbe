"""Word segmentation with the shipped finance dictionary, shared by chunking, BM25 and the reader.

The segmenter is jieba's algorithm and dictionary, run by rjieba (jieba-rs, native: about 10× faster and no
0.8 s dictionary load) when it is installed, else by jieba itself. On the bundled filings and their 10× copies
both cut every sentence identically (`bench/segmenter_bench.py`, `tests/test_chunk_tokenizer.py`); characters
outside jieba's Chinese range (\\u4e00-\\u9fd5), where jieba-rs reads a wider one, always go to jieba.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from sys import intern
from typing import get_args

from qa_engine.lazy_regex import lazy
from qa_engine.models import Document, DocumentCard
from qa_engine.settings import Segmenter

PUNCT_OR_SPACE = re.compile(r"^[\s\W_]+$", re.UNICODE)
THOUSANDS_SEPARATOR = re.compile(r"(?<=\d),(?=\d{3})")
DECIMAL = re.compile(r"\d+\.\d+")  # jieba would cut 3.00 into 3 / . / 00
# CJK characters jieba-rs takes as Chinese and jieba does not: text holding one is cut by jieba
WIDER_CJK = re.compile("[\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
SEGMENTERS: tuple[str, ...] = get_args(Segmenter)


def _resource_text(name: str) -> str:
    return resources.files("qa_engine.resources").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(w.strip() for w in _resource_text("stopwords.txt").splitlines() if w.strip())


@lru_cache(maxsize=1)
def finance_words() -> tuple[tuple[str, int | None], ...]:
    rows = [line.split() for line in _resource_text("finance_dict.txt").splitlines()]
    return tuple((r[0], int(r[1]) if len(r) > 1 else None) for r in rows if r)


def user_dict_words(path: Path) -> list[tuple[str, int | None]]:
    """(word, frequency or None) of a jieba user dictionary: `word [freq] [tag]` lines."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts:
            words.append((parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None))
    return words


def rjieba_available() -> bool:
    return importlib.util.find_spec("rjieba") is not None


def _rjieba_class() -> type:
    """rjieba's Jieba class. Importing the package builds a default tokenizer (a second dictionary load, 0.1-0.3 s,
    that we never use), so the native module is loaded on its own where it can be."""
    try:
        spec = importlib.util.find_spec("rjieba")
        folder = Path(next(iter(spec.submodule_search_locations or ())))  # type: ignore[union-attr]
        library = next(p for p in folder.iterdir() if p.name.startswith("rjieba.") and p.suffix in (".so", ".pyd"))
        native = importlib.util.spec_from_file_location("rjieba.rjieba", library)
        module = importlib.util.module_from_spec(native)  # type: ignore[arg-type]
        native.loader.exec_module(module)  # type: ignore[union-attr]
        native_class: type = module.Jieba
        return native_class
    except (ImportError, OSError, StopIteration, AttributeError, TypeError):  # another layout: the ordinary import
        import rjieba

        return rjieba.Jieba


def resolve_segmenter(name: str) -> str:
    """'rjieba' or 'jieba' for a configured name ('auto': rjieba when installed)."""
    if name not in SEGMENTERS:
        from qa_engine.errors import ConfigError

        raise ConfigError(f"unknown segmenter {name!r}: use one of {', '.join(SEGMENTERS)}")
    if name == "auto":
        return "rjieba" if rjieba_available() else "jieba"
    return name


class _Jieba:
    """jieba's own tokenizer (a private instance, so the global one keeps its dictionary)."""

    def __init__(self, words: list[tuple[str, int | None]]) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for word, freq in words:
            self._tokenizer.add_word(word, freq)

    def cut(self, text: str) -> list[str]:
        words: list[str] = self._tokenizer.lcut(text, HMM=False)
        return words

    def cut_for_search(self, text: str) -> list[str]:
        words: list[str] = self._tokenizer.lcut_for_search(text, HMM=False)
        return words

    def expand(self, words: list[str]) -> list[str]:
        """`cut_for_search` of a text from its `cut`: each word after its dictionary 2- and 3-character parts."""
        freq = self._tokenizer.FREQ
        out: list[str] = []
        for w in words:
            if len(w) > 2:
                out += [w[i : i + 2] for i in range(len(w) - 1) if freq.get(w[i : i + 2])]
            if len(w) > 3:
                out += [w[i : i + 3] for i in range(len(w) - 2) if freq.get(w[i : i + 3])]
            out.append(w)
        return out


class _Rjieba:
    """jieba-rs through rjieba; text with characters jieba reads differently goes to jieba (loaded then)."""

    def __init__(self, words: list[tuple[str, int | None]]) -> None:
        self._words = words
        self._tokenizer = _rjieba_class()()
        for word, freq in words:
            self._tokenizer.add_word(word, freq, None)
        self._fallback: _Jieba | None = None

    def cut(self, text: str) -> list[str]:
        if WIDER_CJK.search(text):
            return self._jieba().cut(text)
        words: list[str] = self._tokenizer.cut(text, False)
        return words

    def cut_for_search(self, text: str) -> list[str]:
        if WIDER_CJK.search(text):
            return self._jieba().cut_for_search(text)
        words: list[str] = self._tokenizer.cut_for_search(text, False)
        return words

    def _jieba(self) -> _Jieba:
        if self._fallback is None:
            self._fallback = _Jieba(self._words)
        return self._fallback


def company_words(documents: Iterable[Document | DocumentCard]) -> tuple[str, ...]:
    """Short names and full names of the indexed companies, added to the jieba dictionary."""
    words = {w for d in documents for w in (d.meta.short_name, d.meta.company) if w and len(w) >= 2}
    return tuple(sorted(words))


class FinanceTokenizer:
    """jieba segmentation (finance dictionary + extra words) shared by index and query, so that both agree."""

    def __init__(self, extra_words: tuple[str, ...] = (), user_dict: Path | None = None,
                 segmenter: str = "auto") -> None:
        self.extra_words = tuple(sorted(set(extra_words)))
        self.segmenter = resolve_segmenter(segmenter)
        self._lock = threading.Lock()
        self._segmenter: _Jieba | _Rjieba | None = None
        self._user_dict = user_dict

    def _ready(self) -> _Jieba | _Rjieba:
        if self._segmenter is None:
            with self._lock:
                if self._segmenter is None:
                    self._segmenter = self._load()
        return self._segmenter

    def _load(self) -> _Jieba | _Rjieba:
        words = list(finance_words())
        if self._user_dict is not None:
            words += user_dict_words(self._user_dict)
        words += [(w, 10000) for w in self.extra_words]
        return _Rjieba(words) if self.segmenter == "rjieba" else _Jieba(words)

    def warm_up(self) -> None:
        """Loads the dictionary now rather than on the first text."""
        self._ready()

    def words(self, text: str) -> list[str]:
        """jieba words covering `text` exactly (concatenated they give `text` back)."""
        return self._ready().cut(text)

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
        cut = self._ready().cut_for_search
        text = THOUSANDS_SEPARATOR.sub("", text.lower())
        terms: list[str] = []
        cursor = 0
        for number in DECIMAL.finditer(text):
            terms += _filtered(cut(text[cursor : number.start()]))
            terms.append(intern(number.group()))
            cursor = number.end()
        return terms + _filtered(cut(text[cursor:]))

    def count_and_terms(self, text: str) -> tuple[int, list[str]]:
        """(`count(text)`, `search_terms(text)`), from one jieba cut when lower-casing and numbers leave the text as
        it is (with rjieba, whose cuts are native, search terms are cut apart)."""
        segmenter = self._ready()
        words = segmenter.cut(text)
        count = sum(1 for w in words if not w.isspace())
        if isinstance(segmenter, _Jieba) and _cut_alike(text):
            return count, _filtered(segmenter.expand(words))
        return count, self.search_terms(text)

    def count(self, text: str) -> int:
        """Number of non-space jieba words: the unit chunk sizes are given in."""
        return sum(1 for w in self.words(text) if not w.isspace())


def _cut_alike(text: str) -> bool:
    """Return True when search_terms cuts `text` itself (nothing to lower-case, no separator or decimal)."""
    return text.lower() == text and THOUSANDS_SEPARATOR.search(text) is None and DECIMAL.search(text) is None


def _filtered(words: list[str]) -> list[str]:
    stop = stopwords()
    return [intern(t) for t in words if t not in stop and not PUNCT_OR_SPACE.match(t) and not t.isspace()]


# A junction between two texts is safe when a character at it can neither join a jieba word (jieba cuts runs of
# these) nor a number (thousands separator, decimal): there search_terms(a + b) == search_terms(a) + search_terms(b).
_JOINS = lazy(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-,]")


def safe_junction(left: str, right: str) -> bool:
    """Return True when search terms of `left + right` are those of `left` followed by those of `right`."""
    return not left or not right or _separates(left[-1]) or _separates(right[0])


def _separates(char: str) -> bool:
    return char.lower() == char and _JOINS.match(char) is None and not WIDER_CJK.match(char)

