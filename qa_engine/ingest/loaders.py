"""Read a filing from disk into raw page texts: .txt/.md (UTF-8 or GB18030), .pdf (pypdfium2), .html.

PDFs are parsed in a child process (`pdf_child.py`) bounded in memory, time, pages and characters, so a hostile
file fails alone with an IngestError naming the limit. Messages name the file, never its folder: they reach
HTTP clients.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qa_engine.errors import IngestError
from qa_engine.settings import Settings

TEXT_SUFFIXES = {".txt", ".md", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
PDF_CHILD = Path(__file__).with_name("pdf_child.py")


@dataclass(frozen=True)
class ParseLimits:
    """How much one file may cost to read; every field is a setting (`QA_MAX_FILE_BYTES`, `QA_PDF_*`, ...)."""

    max_bytes: int = 200 * 1024 * 1024
    max_chars: int = 5_000_000
    pdf_max_pages: int = 2000
    pdf_max_memory_mb: int = 1024
    pdf_timeout_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        """Return the limits configured in `settings`."""
        return cls(max_bytes=settings.max_file_bytes, max_chars=settings.max_document_chars,
                   pdf_max_pages=settings.pdf_max_pages, pdf_max_memory_mb=settings.pdf_max_memory_mb,
                   pdf_timeout_s=settings.pdf_timeout_s)


@dataclass(frozen=True)
class RawFiling:
    """A file's text split into pages (one page when the format has none), plus its byte hash."""

    source: str
    pages: tuple[str, ...]
    content_hash: str


def load_filing(path: Path, limits: ParseLimits | None = None, name: str | None = None) -> RawFiling:
    """Reads `path` into pages; raises IngestError naming the file (`name`, default its file name) and the problem."""
    limits = limits or ParseLimits()
    name = name or path.name
    data = _read_bytes(path, name, limits.max_bytes)
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        pages = _pdf_pages(path, name, limits)
    elif suffix in HTML_SUFFIXES:
        pages = [_html_text(decode_text(data, Path(name)), name)]
    elif suffix in TEXT_SUFFIXES:
        pages = decode_text(data, Path(name)).split("\f")
    else:
        raise IngestError(f"{name}: unsupported file type {suffix!r} (use .txt, .md, .pdf or .html)")
    if not any(p.strip() for p in pages):
        raise IngestError(f"{name}: no text found (empty file, or a scanned PDF without a text layer)")
    chars = sum(len(p) for p in pages)
    if chars > limits.max_chars:
        raise IngestError(f"{name}: {chars} characters of text, over the limit of {limits.max_chars} "
                          "(QA_MAX_DOCUMENT_CHARS)")
    return RawFiling(source=Path(name).name, pages=tuple(pages), content_hash=hashlib.sha256(data).hexdigest())


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{name}: file is {size} bytes, over the {max_bytes}-byte limit (QA_MAX_FILE_BYTES)")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{name}: cannot read file ({exc.strerror or type(exc).__name__})") from exc
    if not data.strip():
        raise IngestError(f"{name}: file is empty")
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
    # imported here: 25 ms of every command's start, for text that is neither UTF-8 nor GB18030
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{path}: unknown text encoding (save it as UTF-8)")
    return str(best)


def _pdf_pages(path: Path, name: str, limits: ParseLimits) -> list[str]:
    """Return the page texts of the PDF at `path`, parsed in a bounded child process."""
    command = [sys.executable, "-I", str(PDF_CHILD), str(path), str(limits.pdf_max_memory_mb),
               str(limits.pdf_max_pages), str(limits.max_chars)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=limits.pdf_timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise IngestError(f"{name}: reading the PDF took longer than {limits.pdf_timeout_s:g} s "
                          "(QA_PDF_TIMEOUT_S)") from exc
    try:
        result = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        out_of_memory = done.returncode < 0 or b"MemoryError" in done.stderr
        raise IngestError(_pdf_crash_message(name, limits) if out_of_memory else
                          f"{name}: the PDF reader failed (exit status {done.returncode}); the file may be damaged")
    if "pages" in result:
        return [str(page) for page in result["pages"]]
    raise IngestError(_pdf_error_message(name, result, limits))


def _pdf_error_message(name: str, result: dict[str, object], limits: ParseLimits) -> str:
    """Return the message for an error the PDF child reported."""
    kind, detail = result.get("error"), result.get("detail")
    if kind == "unreadable":
        return f"{name}: not a readable PDF ({detail}); encrypted or corrupt"
    if kind == "pages":
        return f"{name}: {detail} pages, over the limit of {limits.pdf_max_pages} (QA_PDF_MAX_PAGES)"
    if kind == "chars":
        return (f"{name}: more than {limits.max_chars} characters of text by page {detail} "
                "(QA_MAX_DOCUMENT_CHARS)")
    return _pdf_crash_message(name, limits)


def _pdf_crash_message(name: str, limits: ParseLimits) -> str:
    """Return the message for a PDF child stopped by its memory limit (pdfium aborts when an allocation fails)."""
    return (f"{name}: reading the PDF needed more than {limits.pdf_max_memory_mb} MB of memory "
            "(QA_PDF_MAX_MEMORY_MB); it may be a decompression bomb or a damaged file")


def _html_text(html: str, name: str) -> str:
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(html, "html.parser")
        for tag in soup(["script", "style", "noscript"]):
            tag.decompose()
        return soup.get_text("\n")
    except RecursionError as exc:  # tags nested thousands deep
        raise IngestError(f"{name}: HTML nested too deeply to read") from exc
