"""The Engine's public surface over the bundled filings: documents, document lookup, errors, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import qa_engine
from qa_engine import Engine, Settings, ingest
from qa_engine.errors import (
    ConfigError,
    DocumentNotFoundError,
    IndexBusyError,
    IndexMismatchError,
    IndexNotFoundError,
    IngestError,
    InvalidQueryError,
    QAEngineError,
)


def test_documents_lists_the_five_filings(engine) -> None:
    infos = engine.documents()
    assert [d.source[:3] for d in infos] == ["000", "001", "002", "003", "004"]
    assert all(d.chunks > 0 and d.chars > 0 and d.pages >= 1 for d in infos)
    assert len({d.doc_id for d in infos}) == 5
    grinm = infos[2]
    assert (grinm.short_name, grinm.stock_code, grinm.doc_type) == ("有研新材", "600206", "问询函回复")
    assert grinm.to_dict()["doc_id"] == grinm.doc_id


def test_document_returns_the_canonical_text(engine) -> None:
    info = engine.documents()[0]
    doc = engine.document(info.doc_id)
    assert doc.doc_id == info.doc_id and doc.source == info.source and len(doc.text) == info.chars
    assert doc.content_hash.startswith(doc.doc_id)  # ids are content hashes


def test_unknown_document_id(engine) -> None:
    with pytest.raises(DocumentNotFoundError, match="nope") as caught:
        engine.document("nope")
    assert caught.value.code == "document_not_found"


def test_error_tree_and_codes() -> None:
    errors = {InvalidQueryError: "invalid_query", IndexNotFoundError: "index_not_found",
              DocumentNotFoundError: "document_not_found", IngestError: "ingest_error", IndexBusyError: "index_busy",
              ConfigError: "config_error", IndexMismatchError: "index_mismatch"}
    for error, code in errors.items():
        assert issubclass(error, QAEngineError) and error.code == code


def test_ingest_function_builds_into_settings_index_dir(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("测试公告：公司完成稀土精矿采购。\n", encoding="utf-8")
    report = qa_engine.ingest([source], Settings(index_dir=tmp_path / "index", embedder="none"))
    assert report.ok and report.added == ["a.txt"] and report.to_dict()["ok"] is True
    with Engine.open(tmp_path / "index", Settings(embedder="none")) as engine:
        assert engine.index_dir == tmp_path / "index"
        assert engine.search("稀土精矿采购", k=1)[0].text.startswith("测试公告")
        with pytest.raises(InvalidQueryError, match="no dense vectors.*ingest --rebuild"):
            engine.search("稀土精矿采购", mode="dense")  # an embedder="none" index has no vectors


def test_engine_build_is_a_deprecated_alias_of_ingest(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("测试公告：公司完成稀土精矿采购。\n", encoding="utf-8")
    with pytest.warns(DeprecationWarning, match="qa_engine.ingest"):
        report = Engine.build([source], Settings(index_dir=tmp_path / "index", embedder="none"))
    assert report.added == ["a.txt"]


def test_searches_keep_working_while_a_writer_switches_the_index(tmp_path: Path, small_filings: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", embed_dim=16)
    ingest([small_filings], settings)
    extra = tmp_path / "extra"
    extra.mkdir()
    for i in range(3):
        (extra / f"n{i}.txt").write_text(f"第{i}份补充公告：稀土精矿关联交易价格调整。\n", encoding="utf-8")
    errors: list[BaseException] = []
    stop = threading.Event()
    with Engine.open(settings.index_dir, settings) as engine:
        def reader() -> None:
            while not stop.is_set():
                try:
                    for hit in engine.search("稀土精矿关联交易价格", k=5):
                        assert engine.document(hit.doc_id).text[hit.start : hit.end] == hit.text
                except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            report = engine.add([extra])
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert not errors, errors
        assert sorted(report.added) == ["n0.txt", "n1.txt", "n2.txt"]
        assert len(engine.documents()) == 5


def test_bm25_engine_opens_without_loading_the_embedding_model(built_index) -> None:  # type: ignore[no-untyped-def]
    """The dense model loads on the first dense query only; the corpus-trained static model runs on numpy, so neither a
    BM25 question nor a dense one imports sentence-transformers."""
    import subprocess
    import sys

    script = (
        "import sys; from qa_engine import Engine; e = Engine.open(sys.argv[1]);"
        "e.ask('为什么有研新材2024年稀土材料毛利率为负？');"
        "print('sentence_transformers' in sys.modules);"
        "e.search('毛利率为负', mode='dense'); print('sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script, str(built_index)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
