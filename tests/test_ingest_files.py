"""Ingesting files through the Engine: PDF pages, GBK text, HTML, bad files, re-ingest, replace, remove."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Engine, Settings, ingest
from qa_engine.errors import DocumentNotFoundError
from qa_engine.ingest.loaders import decode_text
from qa_engine.render import render_answer
from tests.helpers.filings import write_chinese_pdf

PDF_PAGES = (
    "本公司稀土冶炼分离产能主要位于包头市稀土高新区。",
    "磁性材料业务收入同比增长百分之十二点五。",
    "公司计划扩建储氢合金生产线并新增三条产线。",
)
GBK_SENTENCE = "金龙稀土的氧化镨钕产量同比增加，主要由于新建萃取生产线投产。"
HTML_SENTENCE = "有研新材的靶材业务毛利率保持稳定。"
# Page-sized chunks: every sentence is its own chunk, so each hit's page is that sentence's page.
ONE_SENTENCE_CHUNKS = {"chunk_tokens": 16, "chunk_overlap_sentences": 0, "embed_dim": 16}


def _settings(index_dir: Path, **overrides: object) -> Settings:
    return Settings(index_dir=index_dir, **{**ONE_SENTENCE_CHUNKS, **overrides})


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three good files (PDF, GBK text, HTML) and four bad ones."""
    folder = tmp_path_factory.mktemp("incoming")
    write_chinese_pdf(folder / "report.pdf", PDF_PAGES)
    (folder / "gbk.txt").write_bytes(f"福建省金龙稀土股份有限公司\n{GBK_SENTENCE}\n".encode("gbk"))
    (folder / "page.html").write_text(
        f"<html><head><title>公告</title><style>p {{color: red}}</style></head><body><h1>业务情况</h1>"
        f"<p>{HTML_SENTENCE}</p><script>var hidden = '不应被索引的脚本内容';</script></body></html>",
        encoding="utf-8",
    )
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n%%EOF")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "huge.txt").write_text("稀土" * 20_000, encoding="utf-8")  # 120 kB, over the limit below
    return folder


@pytest.fixture(scope="module")
def mixed_engine(tmp_path_factory: pytest.TempPathFactory, mixed_folder: Path):  # type: ignore[no-untyped-def]
    """One index over `mixed_folder`, read-only for the tests that use it."""
    settings = _settings(tmp_path_factory.mktemp("mixed-index"), max_file_bytes=50_000)
    report = ingest([mixed_folder], settings)
    with Engine.open(settings.index_dir, settings) as engine:
        yield engine, report


def test_good_files_are_added_and_bad_ones_reported(mixed_engine) -> None:
    engine, report = mixed_engine
    assert sorted(report.added) == ["gbk.txt", "page.html", "report.pdf"]
    failed = {Path(source).name: message for source, message in report.failed}
    assert set(failed) == {"broken.pdf", "empty.txt", "binary.txt", "huge.txt"}
    assert "not a readable PDF" in failed["broken.pdf"]
    assert "empty" in failed["empty.txt"]
    assert "binary" in failed["binary.txt"]
    assert "50000-byte limit" in failed["huge.txt"] and "QA_MAX_FILE_BYTES" in failed["huge.txt"]
    assert all(Path(source).name in message for source, message in report.failed)  # each names its file
    assert not report.ok
    assert sorted(d.source for d in engine.documents()) == ["gbk.txt", "page.html", "report.pdf"]


@pytest.mark.parametrize("page", [1, 2, 3])
def test_pdf_sentence_is_found_on_its_page(mixed_engine, page: int) -> None:
    engine, _ = mixed_engine
    sentence = PDF_PAGES[page - 1]
    info = next(d for d in engine.documents() if d.source == "report.pdf")
    assert info.pages == 3
    doc = engine.document(info.doc_id)
    assert doc.page_at(doc.text.index(sentence)) == page
    hits = engine.search(sentence, k=3, mode="bm25")
    top = hits[0]
    assert top.doc_id == info.doc_id and sentence in top.text
    assert top.page == page


def test_gbk_text_is_decoded(mixed_engine) -> None:
    engine, _ = mixed_engine
    info = next(d for d in engine.documents() if d.source == "gbk.txt")
    assert GBK_SENTENCE in engine.document(info.doc_id).text
    assert info.company == "福建省金龙稀土股份有限公司"


def test_html_text_without_markup_or_scripts(mixed_engine) -> None:
    engine, _ = mixed_engine
    text = engine.document(next(d.doc_id for d in engine.documents() if d.source == "page.html")).text
    assert HTML_SENTENCE in text and "业务情况" in text
    assert "<p>" not in text and "不应被索引" not in text and "color" not in text


def test_decode_text_handles_utf8_bom_and_gb18030() -> None:
    assert decode_text("\ufeff稀土".encode(), Path("a.txt")) == "稀土"
    assert decode_text("有研新材料股份有限公司".encode("gb18030"), Path("a.txt")) == "有研新材料股份有限公司"


def test_missing_path_is_reported_not_raised(tmp_path: Path) -> None:
    report = ingest([tmp_path / "nope.txt"], _settings(tmp_path / "index"))
    assert report.failed and "no such file" in report.failed[0][1]


def _write_filing(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _two_filings(tmp_path: Path) -> tuple[Path, Path, Settings]:
    """docs/a.txt (FIRST) and docs/b.txt (SECOND), not yet ingested: (folder, a.txt, settings)."""
    folder = tmp_path / "docs"
    path = _write_filing(folder, "a.txt", FIRST)
    _write_filing(folder, "b.txt", SECOND)
    return folder, path, _settings(tmp_path / "index")


FIRST = "第一份公告：公司二〇二四年稀土精矿采购价格上调。\n采购数量与上年持平。\n"
SECOND = "第二份公告：公司完成了氧化镨钕库存盘点。\n库存周转天数有所下降。\n"


def test_ingesting_the_same_folder_twice_adds_nothing(tmp_path: Path) -> None:
    folder, _, settings = _two_filings(tmp_path)
    first = ingest([folder], settings)
    second = ingest([folder], settings)
    assert sorted(first.added) == ["a.txt", "b.txt"]
    assert second.added == [] and second.replaced == [] and sorted(second.unchanged) == ["a.txt", "b.txt"]
    assert second.generation is None  # nothing was written
    with Engine.open(settings.index_dir, settings) as engine:
        assert len(engine.documents()) == 2


def test_changed_file_replaces_its_old_chunks(tmp_path: Path) -> None:
    folder, path, settings = _two_filings(tmp_path)
    ingest([folder], settings)
    with Engine.open(settings.index_dir, settings) as engine:
        old_id = next(d.doc_id for d in engine.documents() if d.source == "a.txt")
        assert any(h.doc_id == old_id for h in engine.search("稀土精矿采购价格上调", mode="bm25"))
        path.write_text("修订后的公告：公司将钕铁硼磁材产能扩大一倍。\n", encoding="utf-8")
        refused = engine.add([folder])  # no silent replacement: a changed file is a conflict until asked
        assert refused.conflicts == ["a.txt"] and not refused.ok and refused.generation is None
        assert "--replace" in refused.failed[0][1] and old_id in {d.doc_id for d in engine.documents()}
        report = engine.add([folder], replace=True)
        assert report.replaced == ["a.txt"] and report.unchanged == ["b.txt"] and report.added == []
        sources = {d.source: d.doc_id for d in engine.documents()}
        assert set(sources) == {"a.txt", "b.txt"} and sources["a.txt"] != old_id
        hits = engine.search("稀土精矿采购价格上调", k=10, mode="bm25")
        assert all("采购价格上调" not in h.text for h in hits)
        assert all(h.doc_id != old_id for h in engine.search("公告", k=50))
        with pytest.raises(DocumentNotFoundError):
            engine.document(old_id)
        new_hits = engine.search("钕铁硼磁材产能", mode="bm25")
        assert new_hits and new_hits[0].doc_id == sources["a.txt"]


def test_remove_document(tmp_path: Path) -> None:
    folder, _, settings = _two_filings(tmp_path)
    ingest([folder], settings)
    with Engine.open(settings.index_dir, settings) as engine:
        doc_id = next(d.doc_id for d in engine.documents() if d.source == "a.txt")
        engine.remove(doc_id)
        assert [d.source for d in engine.documents()] == ["b.txt"]
        assert all(h.doc_id != doc_id for h in engine.search("公告 稀土精矿 采购", k=20))
        with pytest.raises(DocumentNotFoundError, match=doc_id):
            engine.remove(doc_id)
        with pytest.raises(DocumentNotFoundError):
            engine.remove("0000000000000000")
    with Engine.open(settings.index_dir, settings) as reopened:  # the removal was written to disk
        assert [d.source for d in reopened.documents()] == ["b.txt"]
    again = ingest([folder], settings)  # the removed file comes back as new
    assert again.added == ["a.txt"]


def test_removing_every_document_leaves_an_empty_index_that_answers_not_found(tmp_path: Path) -> None:
    folder, _, settings = _two_filings(tmp_path)
    ingest([folder], settings)
    with Engine.open(settings.index_dir, settings) as engine:
        for document in list(engine.documents()):
            engine.remove(document.doc_id)
        assert list(engine.documents()) == []
        assert engine.search("稀土精矿 采购", k=5) == []
        answer = engine.ask("稀土精矿采购价格是多少？")
        assert answer.text is None and answer.citations == ()
        assert render_answer(answer, "zh") == "未在已索引的文件中找到答案。"  # no empty passages header
    with Engine.open(settings.index_dir, settings) as reopened:  # the empty generation was written and loads
        assert list(reopened.documents()) == []
    assert sorted(ingest([folder], settings).added) == ["a.txt", "b.txt"]


def test_file_changed_into_a_copy_of_another_is_not_a_crash(tmp_path: Path) -> None:
    folder, path, settings = _two_filings(tmp_path)
    ingest([folder], settings)
    path.write_text(SECOND, encoding="utf-8")
    report = ingest([folder], settings, replace=True)
    assert "a.txt" in report.replaced + report.unchanged + [Path(s).name for s, _ in report.failed]
    with Engine.open(settings.index_dir, settings) as engine:
        assert all("采购价格上调" not in h.text for h in engine.search("稀土精矿采购价格上调", mode="bm25"))
