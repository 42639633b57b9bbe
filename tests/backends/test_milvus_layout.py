"""The Milvus collection layout as pure functions: filter expressions, byte limits, analyzer settings."""

from __future__ import annotations

from qa_engine.backends import ChunkFilter
from qa_engine.backends.milvus_layout import analyzer_params, filter_expression, fit_bytes, quote


def test_open_filter_has_no_expression() -> None:
    assert filter_expression(ChunkFilter()) == ""


def test_document_filter_lists_quoted_ids_in_a_stable_order() -> None:
    assert filter_expression(ChunkFilter.for_documents({"b2", "a1"})) == 'doc_id in ["a1", "b2"]'


def test_quote_escapes_backslash_and_double_quote() -> None:
    assert quote('x" or doc_id != "') == '"x\\" or doc_id != \\""'
    assert quote("a\\b") == '"a\\\\b"'


def test_fit_bytes_never_cuts_a_character() -> None:
    assert fit_bytes("稀土abc", 7) == "稀土a"
    assert fit_bytes("稀土", 5) == "稀"
    assert fit_bytes("ok", 10) == "ok"


def test_analyzer_uses_jieba_with_finance_words_and_company_names() -> None:
    params = analyzer_params(["测试锂电"])
    tokenizer = params["tokenizer"]
    assert tokenizer["type"] == "jieba" and tokenizer["dict"][0] == "_default_"
    assert "测试锂电" in tokenizer["dict"] and "毛利率" in tokenizer["dict"]
    assert "lowercase" in params["filter"]
