"""`evaluate_retriever` and `evaluate_reader` with hand-made retrievers and readers over a tiny corpus."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from qa_engine.errors import InvalidQueryError
from qa_engine.eval import Corpus, GoldItem, evaluate_reader, evaluate_retriever
from qa_engine.models import Answer, Citation, Hit

TEXT_A = "稀土材料业务2024年因产品价格进一步下降,无法覆盖单位成本导致毛利率为负。公司于2024年9月10日召开业绩说明会。"
TEXT_B = "另一家公司的产品价格进一步下降。"
CORPUS = Corpus(doc_ids={"a.txt": "d1", "b.txt": "d2"}, texts={"d1": TEXT_A, "d2": TEXT_B})
GOLD = [
    GoldItem("q1", "为什么毛利率为负？", "zh", "why", "a.txt", ("产品价格进一步下降",)),
    GoldItem("q2", "业绩说明会哪天召开？", "zh", "date", "a.txt", ("2024年9月10日",)),
    GoldItem("q3", "董事长是谁？", "zh", "entity", None, ()),
]


def _hit(doc_id: str, text: str, start: int) -> Hit:
    return Hit(chunk_id=f"{doc_id}:{start}", doc_id=doc_id, title="t", company="c", page=1, section="",
               start=start, end=start + len(text), text=text, score=1.0)


def _cite(doc_id: str, start: int, quote: str) -> Citation:
    return Citation(doc_id=doc_id, title="t", company="c", page=1, section="", start=start,
                    end=start + len(quote), quote=quote)


class FixedRetriever:
    def __init__(self) -> None:
        self.hits = {
            "为什么毛利率为负？": [
                _hit("d1", TEXT_A[37:], 37),  # d1, no answer
                _hit("d2", TEXT_B, 0),  # holds the span, but not the gold document
                _hit("d1", TEXT_A[:37], 0),  # the answer
            ],
            "业绩说明会哪天召开？": [_hit("d1", TEXT_A[37:], 37)],
        }

    def retrieve(self, query: str, k: int) -> list[Hit]:
        return self.hits.get(query, [])[:k]


def test_evaluate_retriever_judges_relevance_in_the_gold_document() -> None:
    result = evaluate_retriever(FixedRetriever(), GOLD, CORPUS, k=10)
    ranks = {j.item.qid: j.ranking.first_relevant_rank() for j in result.judgements}
    assert ranks == {"q1": 3, "q2": 1}  # q3 is unanswerable: left out
    assert result.scores["recall@1"] == pytest.approx(0.5)
    assert result.scores["mrr@10"] == pytest.approx((1 / 3 + 1) / 2)
    assert result.curve[3] == pytest.approx(1.0)
    assert set(result.latency) == {"p50", "p95"}


def _answer(question: str, text: str | None, citations: tuple[Citation, ...] = ()) -> Answer:
    return Answer(question=question, text=text, confidence=0.9, qtype="why", citations=citations,
                  timings={"retrieve_ms": 1.0, "read_ms": 2.0, "total_ms": 3.0})


def fixed_reader(question: str) -> Answer:
    start = TEXT_A.index("产品价格")
    if question == GOLD[0].question:
        return _answer(question, "产品价格进一步下降", (_cite("d1", start, "产品价格进一步下降"),))
    if question == GOLD[1].question:
        quote = "公司于2024年9月10日召开"
        return _answer(question, "2024年9月", (_cite("d1", 0, quote),))  # offsets do not match the quote
    return _answer(question, None)


def test_evaluate_reader_with_a_callable() -> None:
    result = evaluate_reader(fixed_reader, GOLD, CORPUS)
    s = result.scores
    assert s["exact_match"] == pytest.approx(0.5)
    # q2: "2024年9月" vs "2024年9月10日": 7 common characters, P = 1, R = 0.7
    assert s["f1"] == pytest.approx((1 + 2 * 0.7 / 1.7) / 2)
    assert s["answer_hit"] == pytest.approx(0.5)
    assert s["citation_verbatim"] == pytest.approx(0.5)
    assert s["citation_contains_gold"] == pytest.approx(1.0)
    assert (s["abstention_precision"], s["abstention_recall"], s["false_abstention_rate"]) == (1.0, 1.0, 0.0)
    assert result.latency["total_ms"]["p50"] == pytest.approx(3.0)


class RaisingReader:
    def ask(self, question: str) -> Answer:
        if question == GOLD[1].question:
            raise InvalidQueryError("boom")
        return fixed_reader(question)


def test_evaluate_reader_with_an_object_records_errors_as_abstentions() -> None:
    result = evaluate_reader(RaisingReader(), GOLD, CORPUS)
    errors = {j.item.qid: j.error for j in result.judgements if j.error}
    assert errors == {"q2": "InvalidQueryError: boom"}
    assert result.scores["false_abstention_rate"] == pytest.approx(0.5)
    assert result.scores["citation_verbatim"] == 1.0


class TinyEngine:
    """Just the document side of an Engine: enough for `evaluate_reader(..., documents=engine)`."""

    @dataclass(frozen=True)
    class Info:
        doc_id: str
        source: str

    @dataclass(frozen=True)
    class Doc:
        text: str

    def documents(self) -> list[Info]:
        return [self.Info(doc_id, source) for source, doc_id in CORPUS.doc_ids.items()]

    def document(self, doc_id: str) -> Doc:
        return self.Doc(CORPUS.texts[doc_id])


def test_documents_can_be_an_engine_like_source() -> None:
    assert evaluate_reader(fixed_reader, GOLD, TinyEngine()).scores == evaluate_reader(fixed_reader, GOLD, CORPUS).scores


def test_a_threshold_abstains_like_ask_but_keeps_the_best_sentence_for_sentence_hit() -> None:
    """Asked without abstention (confidence 0.9 each), judged at a threshold of 0.95: every item abstains,
    yet the sentence hit still records that q1's best sentence held the answer."""
    result = evaluate_reader(fixed_reader, GOLD, CORPUS, threshold=0.95)
    s = result.scores
    assert all(j.abstained and j.prediction is None and j.citations == 0 for j in result.judgements)
    assert (s["answer_hit"], s["false_abstention_rate"]) == (0.0, 1.0)
    assert s["sentence_hit"] == pytest.approx(0.5)
    assert s["wrong_at_70"] == 0.0


def test_confident_misses_count_as_wrong_at_70() -> None:
    """At threshold 0.5 both answerable items are shown at 0.9: q2's "2024年9月" misses, so 1 of 2 is wrong."""
    result = evaluate_reader(fixed_reader, GOLD, CORPUS, threshold=0.5)
    assert result.scores["wrong_at_70"] == pytest.approx(0.5)
    assert result.scores["unanswerable_answered_at_70"] == 0.0
