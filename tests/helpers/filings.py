"""Test filings: copies of the bundled ones, and generated PDF / GBK / HTML files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FILINGS = REPO / "data" / "filings"
SIDECAR = "metadata.json"
CJK_FONT = "STSong-Light"


def copy_filings(folder: Path, names: Sequence[str]) -> Path:
    """Copies the named data/filings files into `folder` with their entries of the metadata sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(FILINGS / name, folder / name)
    sidecar = json.loads((FILINGS / SIDECAR).read_text(encoding="utf-8"))
    entries = {name: sidecar[name] for name in names if name in sidecar}
    (folder / SIDECAR).write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def write_chinese_pdf(path: Path, pages: Sequence[str]) -> Path:
    """A PDF with one line of Chinese text per page, in the CID font every PDF reader knows (no font file)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for text in pages:
        pdf.setFont(CJK_FONT, 12)
        pdf.drawString(72, 760, text)
        pdf.showPage()
    pdf.save()
    return path


def document_for(engine, prefix: str):  # type: ignore[no-untyped-def]
    """The engine's Document whose source file name starts with `prefix` (e.g. "002")."""
    info = next(d for d in engine.documents() if d.source.startswith(prefix))
    return engine.document(info.doc_id)


def raw_filing(prefix: str) -> str:
    """The bundled filing file's raw text (before normalisation)."""
    path = next(FILINGS.glob(f"{prefix}_*.txt"))
    return path.read_text(encoding="utf-8")
