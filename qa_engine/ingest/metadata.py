"""Filing metadata: from a `metadata.json` sidecar beside the files, else detected from the text."""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from pathlib import Path

from qa_engine.errors import IngestError
from qa_engine.ingest.text_rules import HEADER_LABEL, FilingHeader, split_filing_header
from qa_engine.lazy_regex import Pattern, lazy
from qa_engine.models import DocumentMeta
from qa_engine.resources.wordlists import load_word_list

SIDECAR_NAME = "metadata.json"

DOC_TYPES = (  # most specific first: a 业绩预告 or an inquiry reply names 年度报告 too
    ("问询函核查意见", r"问询函.{0,12}核查意见"),
    # a regulator's 监管工作函 is answered like an inquiry letter; "关于年报问询函的公告" publishes the reply
    ("问询函回复", r"(问询|工作)函.{0,12}(回复|答复)|(回复|答复).{0,6}问询函|问询函的公告"),
    ("关注函回复", r"关注函.{0,12}(回复|答复)|(回复|答复).{0,6}关注函"),
    ("业绩说明会", r"业绩说明会"),
    ("业绩预告", r"业绩预告|业绩预[增减亏盈]|预[增减亏盈]公告|业绩扭亏"),
    ("业绩快报", r"业绩快报"),
    ("半年度报告摘要", r"(半年度|中期)报告摘要"),
    ("年度报告摘要", r"年度报告摘要"),
    ("半年度报告", r"半年度报告|中期报告"),
    ("季度报告", r"季度报告"),
    ("年度报告", r"年度报告"),
    ("计提资产减值准备公告", r"计提.{0,16}减值准备"),
    ("对外投资公告", r"对外投资|增资"),  # "对外投资暨关联交易", "增资暨关联交易": the investment is announced
    ("关联交易公告", r"关联(/连)?交易"),
    ("利润分配公告", r"利润分配|权益分派"),
    ("担保公告", r"担保"),
    ("减持计划公告", r"减持已?回购"),  # "减持已回购股份计划" sells shares bought back earlier
    ("回购股份公告", r"回购"),
    ("减持计划公告", r"减持"),
    ("股权激励公告", r"股权激励|股票激励|激励计划"),
    ("募集资金公告", r"募集资金|超募资金"),
    ("重大合同公告", r"重大合同|经营合同|中标"),
    ("诉讼公告", r"诉讼|仲裁"),
    ("募集说明书", r"募集说明书"),
    ("招股说明书", r"招股说明书"),
    ("公告", r"公告"),
)
ORGANISATION_SUFFIXES = load_word_list("organisation_suffixes.tsv")
COMPANY_NAME = lazy(r"([\u4e00-\u9fff（）()]{4,30}?(" + ORGANISATION_SUFFIXES.alternation("company") + "))")
STOCK_CODE = re.compile(r"(?:证券代码|股票代码|公司代码|NEEQ)\s*[:：]\s*(\d{6})")
SHORT_NAME = lazy(r"(?:证券|股票|公司)简称\s*[:：]\s*([\u4e00-\u9fffA-Z*]{2,8})")
ABBREVIATION_BLOCK = re.compile(r"以下简称([^)）]{1,80})[)）]")
ALIAS = lazy(r"[\u4e00-\u9fffA-Za-z]{2,8}")
GENERIC_ALIASES = {"公司", "本公司", "上市公司", "发行人", "问询函", "我们", "会计师", "保荐人", "集团"}
ENGLISH_NAME = re.compile(r"([A-Z][A-Za-z\-]+(?: [A-Z(][A-Za-z\-()&.,]+){1,8} (?:Co\.|Corp\.|Company|Group)[^\n]{0,20})")
HEADER_LINE = re.compile(rf"^(?:{HEADER_LABEL})\s*[:：]", re.MULTILINE)
# The title is stated before the boilerplate that every announcement opens with.
BOILERPLATE = re.compile(r"^(本公司|本行|本集团|公司董事会|重要内容提示|重要提示|第一节|目录|释义)")
TITLE_LINES = 12
TITLE_MAX_CHARS = 100
TITLE_END = re.compile(
    r"(?:(?:回复|快报|预告)?(?:公告|报告(?:摘要|书)?)|核查意见|说明书|(?P<weak>回复|预告|快报|预案))"
    r"(?:[(（][^()（）]{1,24}[)）])*"
)
NOT_AN_END_BEFORE = "的之及和与暨、事中》期日编内所等"  # "年度报告的…问询函", "公告编号", "报告期"
CJK_NEXT = lazy(r"[\u4e00-\u9fff]")  # "回复情况的公告": 回复 ends a title only at the end of the text
# The closing signature: the board (or the company) and the date, on lines of their own, at the end.
SIGNER = re.compile(r"(董事会|监事会|" + ORGANISATION_SUFFIXES.alternation("signer") + r"|（盖章）|\(盖章\))\s*$")
DATE_LINE = re.compile(r"^\s*(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
NUMBER_YEAR = re.compile(r"(20\d{2})\s*[-—－]")


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
    """Company, stock code, document type, title and date, from where a filing states them: the header
    (证券代码/证券简称/公告编号), the title line, the closing signature date.

    `raw_head` is the raw text before furniture removal (older callers; the header now stays in `text`).
    """
    head = text[:6000]
    header = filing_header(text)
    codes = raw_head + "\n" + text[:20000]
    title = detect_title(text)
    short_name = _header_short_name(header) or _first(SHORT_NAME, codes)
    company = _company(head, title, short_name)
    code = _header_code(header) or _first(STOCK_CODE, codes)
    return DocumentMeta(
        company=company,
        short_name=short_name or _short_name(head, company),
        stock_code=code,
        exchange=_exchange(codes, code),
        doc_type=detect_doc_type(title) or detect_doc_type(head),
        title=title,
        date=_signature_date(text) or _number_year(header),
        english_name=_first(ENGLISH_NAME, head[:1500]),
    )


def filing_header(text: str) -> FilingHeader | None:
    """Return the first header line (证券代码：… 证券简称：… 公告编号：…) of a canonical text, or None."""
    for match in HEADER_LINE.finditer(text):
        line_end = text.find("\n", match.start())
        header = split_filing_header(text[match.start() : line_end if line_end >= 0 else len(text)])
        if header is not None:
            return header
    return None


def detect_title(text: str) -> str:
    """The title the filing opens with ("关于…的公告", "2024年年度业绩预告"), without the company name before it;
    a title wrapped over lines is joined. "" when the opening lines state none."""
    lines = [ln.strip() for ln in text.split("\n")[:TITLE_LINES]]
    lines = [ln for ln in lines if ln and not HEADER_LINE.match(ln)]
    for i, line in enumerate(lines):
        if BOILERPLATE.match(line):
            break
        title = _title_in(line)
        if not title and "关于" in line:
            title = _title_in("".join(lines[i : i + 4]))
        if title:
            return title
    return ""


def merge_metadata(detected: DocumentMeta, given: DocumentMeta | None) -> DocumentMeta:
    """Sidecar values win; detected values fill the gaps."""
    if given is None:
        return detected
    updates = {f.name: getattr(given, f.name) for f in fields(DocumentMeta) if getattr(given, f.name)}
    return replace(detected, **updates)


def detect_doc_type(text: str) -> str:
    """The document type a title (or, without one, the opening text) names; "" when none."""
    for name, pattern in DOC_TYPES:
        if re.search(pattern, text[:3000]):
            return name
    return ""


def _first(pattern: Pattern, text: str) -> str:
    match = pattern.search(text)
    return match.group(1).strip() if match else ""


def _company(head: str, title: str = "", short_name: str = "") -> str:
    """The filer: the company a title is about ("关于XX股份有限公司…" in a sponsor's or auditor's letter), else the
    first company named whose characters hold the short name, else the first company named."""
    about = COMPANY_NAME.match(title, title.find("关于") + 2) if "关于" in title else None
    if about:
        return about.group(1)
    names = [re.sub(r"^.*关于", "", m.group(1)) for m in COMPANY_NAME.finditer(head[:3000])]
    wanted = set(re.sub(r"[^\u4e00-\u9fff]", "", short_name))
    return next((n for n in names if wanted and wanted <= set(n)), names[0] if names else "")


def _header_code(header: FilingHeader | None) -> str:
    """"600190/900952" → "600190"; a bond code is not the stock code."""
    value = header.value("证券代码", "股票代码", "公司代码", "A股代码")[:6] if header else ""
    return value if value.isdigit() else ""


def _header_short_name(header: FilingHeader | None) -> str:
    """"锦州港/锦港B股" → "锦州港"; "鲁泰A、鲁泰B" → "鲁泰A"; "ST 林重" → "ST林重"; "中国中车(A股)" → "中国中车"."""
    value = header.value("简称") if header else ""
    return re.sub(r"[(（][AHB]股[)）]$", "", re.split(r"[/、,，]", value)[0].replace(" ", ""))


def _short_name(head: str, company: str) -> str:
    """The alias in '（以下简称“公司”或“有研新材”）' whose characters all occur in the company name."""
    for block in ABBREVIATION_BLOCK.finditer(head):
        for alias in (m.group() for m in ALIAS.finditer(block.group(1))):
            if alias not in GENERIC_ALIASES and alias not in {"或", "以下"} and set(alias) <= set(company):
                return alias
    return ""


def _exchange(text: str, code: str) -> str:
    if "NEEQ" in text or "全国中小企业股份转让系统" in text:
        return "NEEQ"
    if code.startswith("6") or "上海证券交易所" in text:
        return "SSE"
    if code.startswith(("0", "3")) or "深圳证券交易所" in text:
        return "SZSE"
    return ""


def _title_in(line: str) -> str:
    """The title in one line (or joined lines): from 关于 (or after a leading company name) to the first word
    that ends a title and is not inside 《》 nor followed by 的/之/编号…; "" when there is none."""
    start = line.find("关于")
    if start < 0 or start > TITLE_MAX_CHARS // 2:
        company = COMPANY_NAME.match(line)
        start = company.end() if company else 0
    for end in TITLE_END.finditer(line, start):
        title = line[start : end.end()]
        following = line[end.end() : end.end() + 1]
        if len(title) > TITLE_MAX_CHARS:
            return ""
        if not following or (title.count("《") == title.count("》") and following not in NOT_AN_END_BEFORE
                             and not (end.group("weak") and CJK_NEXT.match(following))):
            return title if len(title) >= 4 else ""
    return ""


def _signature_date(text: str) -> str:
    """The date under the closing signature ("董事会" / the company, then "2024年9月14日"), as yyyy-mm-dd."""
    lines = text.split("\n")
    for i in range(len(lines) - 1, 0, -1):
        match = DATE_LINE.match(lines[i])
        if match and any(SIGNER.search(lines[j]) for j in range(max(0, i - 3), i)):
            year, month, day = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return ""


def _number_year(header: FilingHeader | None) -> str:
    """The year of the announcement number ("公告编号：2024-046", "临2018—005"): when it was published."""
    match = NUMBER_YEAR.search(header.value("号", "编码")) if header else None
    return match.group(1) if match else ""
