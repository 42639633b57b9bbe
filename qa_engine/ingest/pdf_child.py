"""Extract a PDF's page texts under an address-space limit: `python -I pdf_child.py PDF MEMORY_MB MAX_PAGES MAX_CHARS`.

Run as a child process by `qa_engine.ingest.loaders`, never imported by it: a decompression bomb (a small file
whose streams inflate to gigabytes) then exhausts the child's limit, not the server. It imports nothing from
qa_engine, so it starts in a few tens of milliseconds, and it sets its own limit first (a `preexec_fn` is not
safe in a threaded server). Writes one JSON object to stdout: `{"pages": [...]}` or `{"error": KIND, "detail": ...}`
with KIND `unreadable` | `pages` | `chars` | `memory`. pdfium aborts when an allocation fails under the limit;
the parent reads a death by signal as the memory limit.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space at `megabytes` (allocations beyond it fail)."""
    size = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))


def extract(path: str, max_pages: int, max_chars: int) -> dict[str, Any]:
    """Return `{"pages": [...]}`, or `{"error": ...}` when the file is unreadable or over a cap."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        return {"error": "unreadable", "detail": str(exc)}
    try:
        count = len(pdf)
        if count > max_pages:
            return {"error": "pages", "detail": count}
        pages: list[str] = []
        total = 0
        for number in range(count):
            text = page_text(pdf[number], max_chars - total)
            if text is None:
                return {"error": "chars", "detail": number + 1}
            total += len(text)
            pages.append(text)
        return {"pages": pages}
    finally:
        pdf.close()


def page_text(page: Any, room: int) -> str | None:
    """Return the page's text with Unix newlines and no lone surrogates, or None when it exceeds `room` chars."""
    textpage = page.get_textpage()
    try:
        if textpage.count_chars() > room:
            return None
        text: str = textpage.get_text_range()
    finally:
        textpage.close()
        page.close()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.encode("utf-8", "replace").decode("utf-8")


def main(argv: list[str]) -> int:
    path = argv[1]
    memory_mb, max_pages, max_chars = (int(arg) for arg in argv[2:5])
    limit_memory(memory_mb)
    try:
        result = extract(path, max_pages, max_chars)
    except MemoryError:
        result = {"error": "memory"}
    sys.stdout.buffer.write(json.dumps(result, ensure_ascii=False).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
