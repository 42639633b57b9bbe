"""Filing metadata: from a `metadata.json` sidecar beside the files, else detected from the text."""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from pathlib import Path

from qa_engine.errors import IngestError
from qa_engine.models import DocumentMeta

SIDECAR_NAME = "metadata.json"

DOC_TYPES = (  # most specific first
    ("问询函回复", r"问询函.{0,12}回复"),
    ("半年度报告", r"半年度报告|中期报告"),
    ("年度报告", r"年度报告"),
    ("季度报告", r"季度报告"),
    ("业绩说明会", r"业绩说明会"),
    ("关联交易公告", r"关联交易"),
    ("募集说明书", r"募集说明书"),
    ("招股说明书", r"招股说明书"),
    ("公告", r"公告"),
)
COMPANY_NAME = re.compile(r"([\u4e00-\u9fff（）()]{4,30}?(股份有限公司|集团有限公司|有限责任公司|有限公司))")
STOCK_CODE = re.compile(r"(?:证券代码|股票代码|NEEQ)\s*[:：]\s*(\d{6})")
SHORT_NAME = re.compile(r"证券简称\s*[:：]\s*([\u4e00-\u9fffA-Z*]{2,8})")
ABBREVIATION_BLOCK = re.compile(r"以下简称([^)）]{1,80})[)）]")
GENERIC_ALIASES = {"公司", "本公司", "上市公司", "发行人", "问询函", "我们", "会计师", "保荐人", "集团"}
ENGLISH_NAME = re.compile(r"([A-Z][A-Za-z\-]+(?: [A-Z(][A-Za-z\-()&.,]+){1,8} (?:Co\.|Corp\.|Company|Group)[^\n]{0,20})")
DATE = re.compile(r"(20\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")


def load_sidecar(folder: Path) -> dict[str, DocumentMeta]:
    """Reads `folder/metadata.json` ({file name: {field: value}}), or {} when there is none."""
    path = folder / SIDECAR_NAME
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IngestError(f"{path}: invalid metadata sidecar ({exc})") from exc
    names = {f.name for f in fields(DocumentMeta)}
    return {name: DocumentMeta(**{k: str(v) for k, v in entry.items() if k in names}) for name, entry in raw.items()}


def detect_metadata(text: str, raw_head: str = "") -> DocumentMeta:
    """Company, stock code, document type, title and date guessed from a filing's first pages.

    `raw_head` is the raw text before furniture removal: page headers carry the stock code.
    """
    head = text[:6000]
    codes = raw_head + "\n" + text[:20000]
    company = _company(head)
    return DocumentMeta(
        company=company,
        short_name=_first(SHORT_NAME, codes) or _short_name(head, company),
        stock_code=_first(STOCK_CODE, codes),
        exchange=_exchange(codes),
        doc_type=detect_doc_type(head),
        title=_title(head),
        date=_first_date(head),
        english_name=_first(ENGLISH_NAME, head[:1500]),
    )


def merge_metadata(detected: DocumentMeta, given: DocumentMeta | None) -> DocumentMeta:
    """Sidecar values win; detected values fill the gaps."""
    if given is None:
        return detected
    updates = {f.name: getattr(given, f.name) for f in fields(DocumentMeta) if getattr(given, f.name)}
    return replace(detected, **updates)


def detect_doc_type(text: str) -> str:
    for name, pattern in DOC_TYPES:
        if re.search(pattern, text[:3000]):
            return name
    return ""


def _first(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(1).strip() if match else ""


def _company(head: str) -> str:
    name = _first(COMPANY_NAME, head)
    return re.sub(r"^.*关于", "", name)


def _short_name(head: str, company: str) -> str:
    """The alias in '（以下简称“公司”或“有研新材”）' whose characters all occur in the company name."""
    for block in ABBREVIATION_BLOCK.findall(head):
        for alias in re.findall(r"[\u4e00-\u9fffA-Za-z]{2,8}", block):
            if alias not in GENERIC_ALIASES and alias not in {"或", "以下"} and set(alias) <= set(company):
                return alias
    return ""


def _exchange(text: str) -> str:
    if "NEEQ" in text or "全国中小企业股份转让系统" in text:
        return "NEEQ"
    code = _first(STOCK_CODE, text)
    if code.startswith("6") or "上海证券交易所" in text:
        return "SSE"
    if code.startswith(("0", "3")) or "深圳证券交易所" in text:
        return "SZSE"
    return ""


def _title(head: str) -> str:
    """The first line that names the document (关于…公告/报告/回复)."""
    for line in head.split("\n")[:30]:
        line = line.strip()
        if 6 <= len(line) <= 80 and re.search(r"(公告|报告|回复|说明书|报告书)[)）]?$", line):
            return line
    return ""


def _first_date(head: str) -> str:
    match = DATE.search(head)
    if not match:
        return ""
    year, month, day = match.group(1), int(match.group(2)), match.group(3)
    return f"{year}-{month:02d}-{int(day):02d}" if day else f"{year}-{month:02d}"
