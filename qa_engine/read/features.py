"""What the default reader knows about one candidate sentence: a fixed, named feature vector.

The learned weights that turn these into a score live in `resources/reader_weights.json`
(fit by `python -m qa_engine.eval.train_reader` on the gold set; see eval/README.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from qa_engine.ingest.sections import detect_heading
from qa_engine.read.analysis import YEAR, QuestionAnalysis
from qa_engine.read.answer_types import ANSWER_TYPES, AnswerTypes, Span, Target
from qa_engine.read.blocks import BLOCKS
from qa_engine.resources.wordlists import load_word_list

QTYPES = ANSWER_TYPES.names
INQUIRY = load_word_list("inquiry_words.tsv")
QUOTED_QUESTION = re.compile(r"[？?]$|^(" + INQUIRY.alternation("question_opener") + ")")
HEADING_CHARS = 60
HAN = re.compile(r"[\u4e00-\u9fff]")
# what English question words translate to ("why" → 原因|主要系|由于…): cues of an answer, not its topic
CUE_TERMS = frozenset(load_word_list("causal_cues.tsv").texts("not_topic"))
BOOK_TITLE = re.compile(r"《[^《》]*》")  # a term inside a cited title is a mention, not a statement
REPLY_MARKER = re.compile(r"^【?(" + INQUIRY.alternation("reply") + r")】?\s*[:：]")

SENTENCE_FEATURES = (
    "coverage", "topic_coverage", "focus_coverage", "context_coverage", "passage_coverage", "top_topic_term", "missing_topic",
    "bigram_recall", "year_match", "year_conflict", "rank", "log_length", "quoted_question", "heading",
    "untitled_coverage", "reply_marker", "answer_novelty",
)


@cache
def feature_names(registry: AnswerTypes = ANSWER_TYPES) -> tuple[str, ...]:
    """The names of the feature vector's entries, in order: the sentence's, each answer type's own, the block's,
    then a cue, a span and a type indicator per answer type."""
    names = registry.names
    return (*SENTENCE_FEATURES, *registry.type_features(), *(f"in_{b}" for b in BLOCKS),
            *(f"cue_{q}" for q in names), *(f"span_{q}" for q in names), *(f"type_{q}" for q in names))


FEATURES: tuple[str, ...] = feature_names()


@dataclass(frozen=True)
class SentenceView:
    """A candidate sentence with the text around it that the features look at."""

    sentence: str
    context: str  # the sentence with its neighbours in the same passage
    passage: str
    rank: int
    block: str | None = None  # read/blocks.py: question / reply / procedure / opinion


@dataclass(frozen=True)
class Asked:
    """What every sentence's features need from the question, derived once per question."""

    analysis: QuestionAnalysis
    topic: tuple[str, ...]  # the terms that say what is asked: not the company, not the year, not a cue word
    topic_weights: tuple[float, ...]
    bigrams: frozenset[str]  # Chinese character bigrams of the question's content terms
    hint_text: str  # the question and its terms, where span extraction looks for unit and role hints

    @classmethod
    def of(cls, analysis: QuestionAnalysis) -> Asked:
        terms, weights = _topic(analysis)
        text = "".join(analysis.terms)
        bigrams = frozenset(text[i : i + 2] for i in range(len(text) - 1) if HAN.match(text[i]) and HAN.match(text[i + 1]))
        return cls(analysis, terms, weights, bigrams, f"{analysis.question} {' '.join(analysis.terms)}")


def featurize(asked: Asked, view: SentenceView, registry: AnswerTypes = ANSWER_TYPES) -> np.ndarray:
    """The feature vector of one sentence, in the order of `feature_names(registry)`: an answer type's own
    features, cue, span and type indicator are 0 unless it is the type asked for."""
    names = feature_names(registry)
    values = dict.fromkeys(names, 0.0)
    values.update(sentence_features(asked, view))
    for b in BLOCKS:
        values[f"in_{b}"] = float(view.block == b)
    asked_type = registry.find(asked.analysis.qtype)
    if asked_type is not None:
        s, target = view.sentence, target_in(asked, view.sentence)
        span = asked_type.span(s, target)
        values["answer_novelty"] = _novelty(asked.analysis.terms, s[span[0] : span[1]]) if span else 0.0
        for feature in asked_type.features:
            values[feature.name] = feature.value(s, target)
        values[f"cue_{asked_type.name}"] = asked_type.cue(s)
        values[f"span_{asked_type.name}"] = float(span is not None)
        # the same for every sentence of a question: no effect on which sentence wins, only on how sure the
        # reader is, so each question type gets its own calibration for abstention
        values[f"type_{asked_type.name}"] = 1.0
    return np.array([values[name] for name in names], dtype=np.float64)


def sentence_features(asked: Asked, view: SentenceView) -> dict[str, float]:
    """The features that do not depend on the answer type: coverage, years, rank, shape of the sentence."""
    analysis, s, bigrams = asked.analysis, view.sentence, asked.bigrams
    topic = (asked.topic, asked.topic_weights)
    passage_coverage = coverage(*topic, view.passage)
    return {
        "coverage": coverage(analysis.terms, analysis.weights, s),
        "topic_coverage": coverage(*topic, s),
        "focus_coverage": coverage(analysis.focus, (), s),
        "context_coverage": coverage(*topic, view.context),
        "passage_coverage": passage_coverage,
        "top_topic_term": float(bool(asked.topic) and _top_term(topic) in s),
        # idf share of the topic the whole passage never mentions: high when the filings do not cover it
        "missing_topic": 1.0 - passage_coverage if asked.topic else 0.0,
        "bigram_recall": sum(b in s for b in bigrams) / len(bigrams) if bigrams else 0.0,
        "year_match": float(bool(analysis.years) and all(y in s for y in analysis.years)),
        "year_conflict": _year_conflict(analysis.years, s),
        "rank": 1.0 / (1.0 + view.rank),
        "log_length": math.log1p(len(s)) / 6.0,
        "quoted_question": float(bool(QUOTED_QUESTION.search(s))),
        "heading": float(len(s) <= HEADING_CHARS and detect_heading(s) is not None),
        "untitled_coverage": coverage(*topic, BOOK_TITLE.sub("", s)),
        "reply_marker": float(bool(REPLY_MARKER.match(s))),
    }


def coverage(terms: tuple[str, ...], weights: tuple[float, ...], text: str) -> float:
    """Idf-weighted share of `terms` found in `text`."""
    if not terms:
        return 0.0
    weights = weights or tuple(math.log(1 + len(t)) for t in terms)
    return sum(w for t, w in zip(terms, weights) if t in text) / sum(weights)


def answer_span(asked: Asked, sentence: str, registry: AnswerTypes = ANSWER_TYPES) -> Span | None:
    """The minimal span in `sentence` that answers a question of this type, when the type has one."""
    asked_type = registry.find(asked.analysis.qtype)
    return asked_type.span(sentence, target_in(asked, sentence)) if asked_type else None


def target_in(asked: Asked, sentence: str) -> Target:
    """What the answer types need to know of the question while they look at `sentence`."""
    analysis = asked.analysis
    return Target(sentence, analysis.focus, asked.topic, asked.hint_text, tuple(analysis.company_terms))


def _novelty(terms: tuple[str, ...], answer: str) -> float:
    """Share of the answer's Chinese characters that the question's own terms do not account for: a cause that
    only restates the question ("毛利率为负系…毛利率为负") tells the reader nothing."""
    covered = [False] * len(answer)
    for term in terms:
        for match in re.finditer(re.escape(term), answer):
            covered[match.start() : match.end()] = [True] * (match.end() - match.start())
    han = [i for i, ch in enumerate(answer) if HAN.match(ch)]
    return sum(not covered[i] for i in han) / len(han) if han else 1.0


def _topic(analysis: QuestionAnalysis) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The terms that say what is asked: not the company, not the year."""
    keep = [i for i, t in enumerate(analysis.terms)
            if t not in analysis.years and t not in analysis.company_terms and t not in CUE_TERMS]
    weights = analysis.weights or tuple(1.0 for _ in analysis.terms)
    return tuple(analysis.terms[i] for i in keep), tuple(weights[i] for i in keep)


def _top_term(topic: tuple[tuple[str, ...], tuple[float, ...]]) -> str:
    terms, weights = topic
    return max(zip(weights, terms))[1]


def _year_conflict(years: tuple[str, ...], sentence: str) -> float:
    """The sentence speaks of other years and not of the asked one."""
    if not years:
        return 0.0
    found = set(YEAR.findall(sentence))
    return float(bool(found) and not (found & set(years)))
