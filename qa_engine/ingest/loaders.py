"""Read a filing from disk into raw page texts: .txt/.md (UTF-8 or GB18030), .pdf (pypdfium2), .html."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from qa_engine.errors import IngestError

TEXT_SUFFIXES = {".txt", ".md", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


@dataclass(frozen=True)
class RawFiling:
    """A file's text split into pages (one page when the format has none), plus its byte hash."""

    source: str
    pages: tuple[str, ...]
    content_hash: str


def load_filing(path: Path, max_bytes: int) -> RawFiling:
    """Reads `path` into pages; raises IngestError naming the file and the problem."""
    data = _read_bytes(path, max_bytes)
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        pages = _pdf_pages(data, path)
    elif suffix in HTML_SUFFIXES:
        pages = [_html_text(decode_text(data, path))]
    elif suffix in TEXT_SUFFIXES:
        pages = decode_text(data, path).split("\f")
    else:
        raise IngestError(f"{path}: unsupported file type {suffix!r} (use .txt, .md, .pdf or .html)")
    if not any(p.strip() for p in pages):
        raise IngestError(f"{path}: no text found (empty file, or a scanned PDF without a text layer)")
    return RawFiling(source=path.name, pages=tuple(pages), content_hash=hashlib.sha256(data).hexdigest())


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{path}: file is {size} bytes, over the {max_bytes}-byte limit (QA_MAX_FILE_BYTES)")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise IngestError(f"{path}: file is empty")
    return data


def decode_text(data: bytes, path: Path) -> str:
    """Decodes UTF-8 (with or without BOM), else the best charset guess (GB18030/GBK, Big5...)."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{path}: unknown text encoding (save it as UTF-8)")
    return str(best)


def _pdf_pages(data: bytes, path: Path) -> list[str]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise IngestError(f"{path}: not a readable PDF ({exc}); encrypted or corrupt") from exc
    try:
        return [_page_text(pdf[i]) for i in range(len(pdf))]
    finally:
        pdf.close()


def _page_text(page) -> str:  # type: ignore[no-untyped-def]
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()
        page.close()


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    return soup.get_text("\n")
