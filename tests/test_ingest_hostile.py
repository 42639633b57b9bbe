"""Hostile files: a PDF decompression bomb, too many pages, a flood of text, a parser that hangs. Each fails alone
with an IngestError naming the limit, and the ingesting process itself stays small (PDFs are parsed in a child)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Settings, ingest
from qa_engine.ingest.loaders import ParseLimits, load_filing
from tests.helpers.filings import write_chinese_pdf
from tests.helpers.hostile_pdfs import write_flate_bomb, write_many_pages, write_text_flood

pytestmark = pytest.mark.timeout(120)

MB = 1024 * 1024


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of hostile PDFs next to one good one."""
    folder = tmp_path_factory.mktemp("hostile")
    write_flate_bomb(folder / "bomb.pdf", inflated_mb=150)  # 0.45 MB on disk; ~2.4 GB for an unbounded reader
    write_many_pages(folder / "pages.pdf", 300)
    write_text_flood(folder / "flood.pdf", 300_000)
    write_chinese_pdf(folder / "good.pdf", ["本公司稀土冶炼分离产能主要位于包头市稀土高新区。"])
    return folder


def test_bomb_fails_alone_and_the_reader_stays_small(hostile: Path, tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", embedder="none", pdf_max_memory_mb=256)
    before = peak_rss_mb()
    report = ingest([hostile / "bomb.pdf", hostile / "good.pdf"], settings)
    grown = peak_rss_mb() - before
    assert report.added == ["good.pdf"]
    (source, message), = report.failed
    assert source == "bomb.pdf" and "256 MB" in message and "QA_PDF_MAX_MEMORY_MB" in message
    assert str(hostile) not in message  # the file is named, not its folder
    assert grown < 150, f"the ingesting process grew by {grown:.0f} MB"


@pytest.mark.parametrize(
    ("name", "limits", "setting"),
    [
        ("pages.pdf", ParseLimits(pdf_max_pages=100), "QA_PDF_MAX_PAGES"),
        ("flood.pdf", ParseLimits(max_chars=200_000), "QA_MAX_DOCUMENT_CHARS"),
        ("good.pdf", ParseLimits(pdf_timeout_s=0.001), "QA_PDF_TIMEOUT_S"),
        ("bomb.pdf", ParseLimits(pdf_max_memory_mb=128), "QA_PDF_MAX_MEMORY_MB"),
    ],
)
def test_each_limit_is_named(hostile: Path, name: str, limits: ParseLimits, setting: str) -> None:
    with pytest.raises(Exception, match=setting) as caught:
        load_filing(hostile / name, limits)
    assert type(caught.value).__name__ == "IngestError" and str(caught.value).startswith(f"{name}: ")


def test_files_under_the_limits_are_read(hostile: Path) -> None:
    assert len(load_filing(hostile / "pages.pdf").pages) == 300
    assert len(load_filing(hostile / "flood.pdf").pages[0]) >= 300_000
    assert "包头市" in load_filing(hostile / "good.pdf").pages[0]


def test_text_files_have_a_character_cap(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("稀土" * 10_000, encoding="utf-8")
    with pytest.raises(Exception, match="QA_MAX_DOCUMENT_CHARS"):
        load_filing(path, ParseLimits(max_chars=5_000))


def test_deeply_nested_html_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "nested.html"
    path.write_text("<div>" * 200_000 + "稀土" + "</div>" * 200_000, encoding="utf-8")
    report = ingest([path], Settings(index_dir=tmp_path / "index", embedder="none"))
    assert report.added or [source for source, _ in report.failed] == ["nested.html"]
