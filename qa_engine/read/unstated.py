"""Answers a rule withholds: a filing that never names a year, a reporting period or a financial metric cannot
answer a question about it, nor another company's filing a question that names a company, nor a sentence that
states no number of shares a question about a number of shares.

Analysts ask near misses all the time: last year's figure, the first quarter when a notice covers the half
year. The readers rank sentences by how well they match, and a sentence about 2024 matches a question about 2022
almost as well as one about 2022 would, so such answers were shown, often at high confidence. Whether the year,
period or metric is named anywhere in the chosen sentence's filing is a plain fact, so it is a rule, not a
learned feature.

A filing about one of its two latest years that speaks of the year before (上年, 去年, 同期) does state the
year before's figures: "上年同期" is how a 2024 preannouncement gives 2023's. Only the latest two: a long reply
that names 2018 somewhere in passing does not answer for 2017.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from qa_engine.lazy_regex import LazyPattern, lazy
from qa_engine.models import Document
from qa_engine.read.analysis import YEAR
from qa_engine.resources.wordlists import WordList, load_word_list

PREVIOUS_YEAR_WORDS = ("上年", "去年", "同期", "上一年")


def _asked_and_found(words: WordList, found: str) -> tuple[tuple[LazyPattern, LazyPattern], ...]:
    """Per kind in a list (its tags other than `asked` and `found`, in file order): how a question asks for it,
    in any case, and what must be found where the answer is."""
    kinds = dict.fromkeys(tag for word in words.words for tag in sorted(word.tags - {"asked", found}))
    return tuple((lazy(words.alternation("asked", kind), re.IGNORECASE), lazy(words.alternation(found, kind)))
                 for kind in kinds)


# each period or metric: how a question asks for it, and how a filing names it
SCOPES = _asked_and_found(load_word_list("asked_scope.tsv"), "named")
# each count (shares, people): how a question asks for it, and a number in its unit in a sentence
COUNTS = _asked_and_found(load_word_list("asked_counts.tsv"), "stated")


def withheld_by_rule(question: str, years: Sequence[str], named_docs: AbstractSet[str], document: Document,
                     sentence: str) -> bool:
    """Whether a rule withholds the answer that `sentence` of `document` gives to the question."""
    return (other_company(named_docs, document.doc_id) or year_unstated(years, document.text)
            or scope_unstated(question, document.text) or count_unstated(question, sentence))


def other_company(named_docs: AbstractSet[str], doc_id: str) -> bool:
    """Whether the question names a company in the index and the filing is none of that company's: the reading
    prefers the named company's passages, so this happens only when none of them was retrieved."""
    return bool(named_docs) and doc_id not in named_docs


def count_unstated(question: str, sentence: str) -> bool:
    """Whether the question asks for a number of shares or people and the sentence states no number in that
    unit: "how many shares did it buy back" is not answered by the buyback's price or budget
    (resources/asked_counts.tsv)."""
    return any(asked.search(question) and not stated.search(sentence) for asked, stated in COUNTS)


def year_unstated(years: Sequence[str], document_text: str) -> bool:
    """Whether some year the question asks about is neither named in the filing nor the year before one of its
    latest two, in a filing that speaks of the year before."""
    return any(not _year_stated(year, document_text) for year in years)


def scope_unstated(question: str, document_text: str) -> bool:
    """Whether the question asks about a quarter, half year, nine months or financial metric (revenue, net
    profit, ...) that the filing never names (resources/asked_scope.tsv)."""
    return any(asked.search(question) and not named.search(document_text) for asked, named in SCOPES)


def _year_stated(year: str, text: str) -> bool:
    if year in text:
        return True
    latest = sorted(set(YEAR.findall(text)), reverse=True)[:2]
    return str(int(year) + 1) in latest and any(word in text for word in PREVIOUS_YEAR_WORDS)
