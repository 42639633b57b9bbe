"""Answer-string normalisation and span scores (SQuAD-style, character level for Chinese).

Chinese has no word boundaries, so exact match and F1 compare *characters* after NFKC folding,
lower-casing and removing whitespace and punctuation (the CMRC 2018 convention, without its
English word grouping: every character, Latin or CJK, is one token).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable


def normalize_answer(text: str) -> str:
    """Return `text` NFKC-folded and lower-cased, without whitespace or punctuation."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def exact_match(prediction: str | None, gold: Iterable[str]) -> float:
    """Return 1.0 when the normalised prediction equals any normalised gold span, else 0.0."""
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(span) for span in gold))


def char_f1(prediction: str, gold: str) -> float:
    """Return the character-level F1 between one prediction and one gold span."""
    pred_chars = Counter(normalize_answer(prediction))
    gold_chars = Counter(normalize_answer(gold))
    if not pred_chars or not gold_chars:
        return float(pred_chars == gold_chars)
    common = sum((pred_chars & gold_chars).values())
    if common == 0:
        return 0.0
    precision = common / sum(pred_chars.values())
    recall = common / sum(gold_chars.values())
    return 2 * precision * recall / (precision + recall)


def max_f1(prediction: str | None, gold: Iterable[str]) -> float:
    """Return the best character F1 of `prediction` over the gold spans (0.0 when abstained)."""
    if prediction is None:
        return 0.0
    return max((char_f1(prediction, span) for span in gold), default=0.0)


def contains_any(haystack: str | None, spans: Iterable[str]) -> bool:
    """Return whether any span occurs in `haystack`, both normalised (so spacing and punctuation don't matter)."""
    if not haystack:
        return False
    norm = normalize_answer(haystack)
    return any(normalize_answer(span) in norm for span in spans if normalize_answer(span))
