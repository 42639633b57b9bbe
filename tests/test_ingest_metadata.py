"""Filing metadata: from the metadata.json sidecar, and detected from the text alone."""

from __future__ import annotations

import json

import pytest

from qa_engine.ingest.loaders import load_filing
from qa_engine.ingest.metadata import detect_doc_type, detect_metadata, load_sidecar
from qa_engine.ingest.normalize import normalize_pages
from tests.helpers.filings import FILINGS

SIDECAR = json.loads((FILINGS / "metadata.json").read_text(encoding="utf-8"))
DOC_TYPES = {"000": "业绩说明会", "001": "关联交易公告", "002": "问询函回复", "003": "问询函回复", "004": "半年度报告"}
COMPANIES = {
    "000": ("中国北方稀土（集团）高科技股份有限公司", "600111"),
    "001": ("中国北方稀土（集团）高科技股份有限公司", "600111"),
    "004": ("福建省金龙稀土股份有限公司", "874673"),
}


def _detected(prefix: str):  # type: ignore[no-untyped-def]
    path = next(FILINGS.glob(f"{prefix}_*.txt"))
    raw = load_filing(path)
    return detect_metadata(normalize_pages(raw.pages).text, "\n".join(raw.pages)[:20000])


@pytest.mark.parametrize("source", sorted(SIDECAR))
def test_sidecar_metadata_reaches_the_index(engine, source: str) -> None:
    info = next(d for d in engine.documents() if d.source == source)
    given = SIDECAR[source]
    got = {field: getattr(info, field) for field in
           ("company", "short_name", "stock_code", "exchange", "doc_type", "title", "date")}
    assert got == {field: given[field] for field in got}


def test_load_sidecar_reads_every_entry() -> None:
    metas = load_sidecar(FILINGS)
    assert set(metas) == set(SIDECAR)
    assert metas["002_412fed1119409973.txt"].english_name == "GRINM Advanced Materials Co., Ltd."


@pytest.mark.parametrize("prefix", sorted(COMPANIES))
def test_company_and_stock_code_detected_without_sidecar(prefix: str) -> None:
    meta = _detected(prefix)
    assert (meta.company, meta.stock_code) == COMPANIES[prefix]


@pytest.mark.parametrize("prefix", sorted(DOC_TYPES))
def test_doc_type_detected_without_sidecar(prefix: str) -> None:
    assert _detected(prefix).doc_type == DOC_TYPES[prefix]


def test_exchange_and_short_name_detected_for_beifang() -> None:
    meta = _detected("000")
    assert meta.short_name == "北方稀土"
    assert meta.exchange == "SSE"


@pytest.mark.parametrize(("text", "expected"), [
    ("关于向特定对象发行股票申请文件的审核问询函的回复", "问询函回复"),
    ("2025年半年度报告", "半年度报告"),
    ("2024年年度报告摘要", "年度报告摘要"),
    ("2024年年度业绩预告", "业绩预告"),
    ("关于2024年度计提资产减值准备的公告", "计提资产减值准备公告"),
    ("关于日常关联交易的公告", "关联交易公告"),
    ("会议纪要", ""),
])
def test_detect_doc_type(text: str, expected: str) -> None:
    assert detect_doc_type(text) == expected
