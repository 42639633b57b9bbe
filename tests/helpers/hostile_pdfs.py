"""Hostile PDFs written with raw zlib: small files that cost a reader gigabytes, many pages, or floods of text.

    write_flate_bomb(path, inflated_mb)   one page whose FlateDecode content stream inflates to `inflated_mb` MB
                                          of text-drawing operators (~1000:1; 300 MB inflated is a ~0.9 MB file)
    write_many_pages(path, pages)         `pages` pages sharing one small content stream
    write_text_flood(path, chars)         one page drawing `chars` characters of text
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path

MB = 1024 * 1024
TEXT_OP = b"BT /F1 12 Tf 72 720 Td (A) Tj ET\n"


def write_flate_bomb(path: Path, inflated_mb: int) -> Path:
    """Write a one-page PDF whose content stream inflates to `inflated_mb` MB; return `path`."""
    block = TEXT_OP * (MB // len(TEXT_OP))
    return _write_pdf(path, (block for _ in range(inflated_mb)), pages=1)


def write_many_pages(path: Path, pages: int) -> Path:
    """Write a PDF of `pages` pages, each drawing one word; return `path`."""
    return _write_pdf(path, [b"BT /F1 12 Tf 72 720 Td (page) Tj ET\n"], pages=pages)


def write_text_flood(path: Path, chars: int, line_chars: int = 1000) -> Path:
    """Write a one-page PDF that draws `chars` characters of text in lines of `line_chars`; return `path`."""
    line = b"(" + b"A" * line_chars + b") '\n"  # ' moves to the next line first: no two lines overlap
    lines = (line for _ in range(max(1, chars // line_chars)))
    return _write_pdf(path, [b"BT /F1 1 Tf 1 TL 0 792 Td\n", *lines, b"ET\n"], pages=1)


def _write_pdf(path: Path, content: Iterable[bytes], pages: int) -> Path:
    """Write a PDF whose `pages` pages all show one FlateDecode content stream made of `content`."""
    packer = zlib.compressobj(9)
    stream = b"".join(packer.compress(piece) for piece in content) + packer.flush()
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents 4 0 R >>")
    objects += [page] * pages
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path
