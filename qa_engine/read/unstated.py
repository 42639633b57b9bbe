"""A filing that never names a year or a reporting period cannot answer a question about it.

Analysts ask near misses all the time: last year's figure, the first quarter when a notice covers the half
year. The readers rank sentences by how well they match, and a sentence about 2024 matches a question about 2022
almost as well as one about 2022 would, so such answers were shown, often at high confidence. Whether the year
or period is named anywhere in the chosen sentence's filing is a plain fact, so it is a rule, not a learned
feature.

A filing about one of its two latest years that speaks of the year before (上年, 去年, 同期) does state the
year before's figures: "上年同期" is how a 2024 preannouncement gives 2023's. Only the latest two: a long reply
that names 2018 somewhere in passing does not answer for 2017.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa_engine.read.analysis import YEAR

PREVIOUS_YEAR_WORDS = ("上年", "去年", "同期", "上一年")
# a reporting period: how a question asks for it (Chinese or English), and how a filing names it
PERIODS = (
    (re.compile(r"一季度|一季报|first quarter|\bQ1\b|\b1Q\b", re.IGNORECASE),
     re.compile(r"[一1]季度|一季报|各季度|1\s*[-—–至]\s*3\s*月|3月31日")),
    (re.compile(r"半年|中期|first half|\bH1\b|half[- ]year|interim|first six months", re.IGNORECASE),
     re.compile(r"半年|中期|1\s*[-—–至]\s*6\s*月|6月30日")),
    (re.compile(r"三季度|三季报|third quarter|\bQ3\b|nine months|first three quarters", re.IGNORECASE),
     re.compile(r"[三3]季度|三季报|各季度|[17]\s*[-—–至]\s*9\s*月|9月30日")),
)


def asks_unstated(question: str, years: Sequence[str], document_text: str) -> bool:
    """Whether the question asks about a year or a reporting period that the filing never states."""
    return year_unstated(years, document_text) or period_unstated(question, document_text)


def year_unstated(years: Sequence[str], document_text: str) -> bool:
    """Whether some year the question asks about is neither named in the filing nor the year before one of its
    latest two, in a filing that speaks of the year before."""
    return any(not _year_stated(year, document_text) for year in years)


def period_unstated(question: str, document_text: str) -> bool:
    """Whether the question asks about a quarter, half year or nine months that the filing never names."""
    return any(asked.search(question) and not named.search(document_text) for asked, named in PERIODS)


def _year_stated(year: str, text: str) -> bool:
    if year in text:
        return True
    latest = sorted(set(YEAR.findall(text)), reverse=True)[:2]
    return str(int(year) + 1) in latest and any(word in text for word in PREVIOUS_YEAR_WORDS)
