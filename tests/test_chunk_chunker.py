"""Chunks of the five bundled filings: exact offsets, word-aligned boundaries, sections, table headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine.chunk.chunker import chunk_document
from qa_engine.chunk.tokenizer import FinanceTokenizer, company_words
from qa_engine.index.writer import STORE_FILE
from qa_engine.ingest.sections import build_section_map
from qa_engine.ingest.text_rules import is_table_row
from qa_engine.models import Chunk, Document
from qa_engine.store.sqlite_store import SQLiteStore
from tests.helpers.filings import document_for

NEGATIVE_MARGIN = "无法覆盖单位成本导致毛利率为负"


@pytest.fixture(scope="module")
def documents(engine) -> dict[str, Document]:
    return {info.doc_id: engine.document(info.doc_id) for info in engine.documents()}


@pytest.fixture(scope="module")
def stored_chunks(built_index: Path) -> list[Chunk]:
    store = SQLiteStore(built_index / STORE_FILE)
    try:
        return store.chunks()
    finally:
        store.close()


@pytest.fixture(scope="module")
def tokenizer(documents: dict[str, Document]) -> FinanceTokenizer:
    """The tokenizer the index was chunked with: the finance dictionary plus the company names."""
    return FinanceTokenizer(company_words(list(documents.values())))


def test_every_document_has_chunks(documents: dict[str, Document], stored_chunks: list[Chunk]) -> None:
    assert {c.doc_id for c in stored_chunks} == set(documents)


def test_chunk_text_is_the_document_text_at_its_offsets(documents, stored_chunks) -> None:
    wrong = [c.chunk_id for c in stored_chunks if documents[c.doc_id].text[c.start : c.end] != c.text]
    assert not wrong
    assert all(c.end > c.start for c in stored_chunks)


def test_chunks_cover_each_document_in_order(documents, stored_chunks) -> None:
    for doc_id, doc in documents.items():
        own = [c for c in stored_chunks if c.doc_id == doc_id]
        starts = [c.start for c in own]
        assert starts == sorted(starts)
        covered = set()
        for c in own:
            covered.update(range(c.start, c.end))
        visible = {i for i, ch in enumerate(doc.text) if not ch.isspace()}
        assert visible <= covered, f"{doc.source}: {len(visible - covered)} characters in no chunk"


def test_chunk_boundaries_fall_between_jieba_words(documents, stored_chunks, tokenizer) -> None:
    for doc_id, doc in documents.items():
        bounds = tokenizer.word_boundaries(doc.text)
        inside = [(c.start, c.end) for c in stored_chunks
                  if c.doc_id == doc_id and not {c.start, c.end} <= bounds]
        assert not inside, f"{doc.source}: chunk edges inside a word: {inside[:5]}"


def test_chunk_ids_are_stable_content_hashes(documents, stored_chunks, tokenizer) -> None:
    doc = next(d for d in documents.values() if d.source.startswith("000"))
    again = chunk_document(doc, build_section_map(doc.text), tokenizer, max_words=160, overlap=1)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in stored_chunks if c.doc_id == doc.doc_id]


def test_chunks_respect_the_size_limit(documents, tokenizer) -> None:
    doc = next(d for d in documents.values() if d.source.startswith("002"))
    chunks = chunk_document(doc, build_section_map(doc.text), tokenizer, max_words=40, overlap=0)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    oversize = [c for c in chunks if tokenizer.count(c.text) > 40 and any(p in c.text for p in "，,：:。；")]
    assert len(oversize) <= len(chunks) // 50  # only unsplittable single clauses may exceed it


def test_negative_margin_chunk_sits_under_question_2(engine, stored_chunks) -> None:
    doc = document_for(engine, "002")
    holding = [c for c in stored_chunks if c.doc_id == doc.doc_id and NEGATIVE_MARGIN in c.text]
    assert holding
    assert all(c.section.startswith("问题2") for c in holding), [c.section for c in holding]


def test_section_map_nests_headings() -> None:
    text = "问题1：关于业务\n一、收入情况\n（一）稀土材料\n毛利率为负。\n二、成本情况\n单位成本上升。"
    sections = build_section_map(text)
    assert sections.path_at(text.index("毛利率")) == "问题1 关于业务 › 一、收入情况 › （一）稀土材料"
    assert sections.path_at(text.index("单位成本")) == "问题1 关于业务 › 二、成本情况"
    assert sections.path_at(0) == "问题1 关于业务"


def _table_rows(text: str) -> list[tuple[int, str, str]]:
    """(offset, row, first row of its table) for every table row after the first of its table."""
    rows: list[tuple[int, str, str]] = []
    offset, first = 0, ""
    for line in text.split("\n"):
        if is_table_row(line):
            if first:
                rows.append((offset, line, first))
            else:
                first = line
        else:
            first = ""
        offset += len(line) + 1
    return rows


def test_chunks_starting_inside_a_table_carry_its_header(documents, stored_chunks) -> None:
    checked = 0
    for doc_id, doc in documents.items():
        later_rows = {offset: first for offset, _, first in _table_rows(doc.text)}
        for chunk in (c for c in stored_chunks if c.doc_id == doc_id and c.start in later_rows):
            header = later_rows[chunk.start]
            if chunk.text.startswith(header):
                continue  # a repeated header row: the chunk shows it already
            assert chunk.context.split("\n")[-1] == header, (doc.source, chunk.text[:60], chunk.context)
            assert chunk.indexed_text() == f"{chunk.context}\n{chunk.text}"
            checked += 1
    assert checked >= 10


def test_table_header_with_unit_line_is_repeated(engine, stored_chunks) -> None:
    doc = document_for(engine, "002")
    with_unit = [c for c in stored_chunks if c.doc_id == doc.doc_id and c.context.startswith("单位")]
    assert with_unit
    for chunk in with_unit:
        unit, header = chunk.context.split("\n")
        assert f"{unit}\n{header}" in doc.text


def test_chunker_table_context_on_a_small_table() -> None:
    text = "报告期内费用如下。\n单位：万元\n项目\t2024年度\t2023年度\n销售费用\t4,434.59\t3,210.00\n管理费用\t9,876.54\t8,765.43\n以上为费用情况。"
    doc = Document(doc_id="t", source="t.txt", text=text, meta=__import__("qa_engine").DocumentMeta())
    tokenizer = FinanceTokenizer()
    chunks = chunk_document(doc, build_section_map(text), tokenizer, max_words=16, overlap=0)
    row_chunks = [c for c in chunks if "管理费用" in c.text and "项目" not in c.text]
    assert row_chunks
    assert row_chunks[0].context == "单位：万元\n项目\t2024年度\t2023年度"
    assert "2024年度" in row_chunks[0].tokens or "2024" in row_chunks[0].tokens
