"""Document listing, passage text, uploads (names, limits, types), deletes and reads during an upload."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from qa_engine import Engine, Settings
from qa_engine.api.server import BackgroundServer
from qa_engine.api.uploads import sanitize_filename

from .conftest import WHY_QUESTION
from .test_health import assert_error

pytestmark = pytest.mark.timeout(180)

INFO_KEYS = {"doc_id", "source", "company", "short_name", "stock_code", "doc_type", "title", "date", "chunks", "pages"}


def filing_text(company: str, sentences: int = 40) -> bytes:
    """Return a small synthetic filing about `company` as UTF-8 bytes."""
    lines = [f"{company}2024年年度报告摘要", "一、公司基本情况"]
    lines += [f"{company}第{i}项业务2024年实现营业收入{100 + i}万元，同比增长{i % 7}%。" for i in range(sentences)]
    return "\n".join(lines).encode("utf-8")


@pytest.fixture()
def uploaded(client: httpx.Client) -> Iterator[list[str]]:
    """Yield a list the test appends uploaded doc ids to; they are deleted afterwards."""
    doc_ids: list[str] = []
    yield doc_ids
    for doc_id in doc_ids:
        client.delete(f"/v1/documents/{doc_id}")


def doc_id_of(client: httpx.Client, source: str) -> str:
    """Return the doc_id of the indexed document whose source file name is `source`."""
    docs = client.get("/v1/documents").json()["documents"]
    return next(d["doc_id"] for d in docs if d["source"] == source)


def test_list_and_get_documents(client: httpx.Client) -> None:
    docs = client.get("/v1/documents").json()["documents"]
    assert len(docs) >= 5 and INFO_KEYS <= set(docs[0])
    assert {d["short_name"] for d in docs} >= {"北方稀土", "有研新材", "中国稀土", "金龙稀土"}
    one = client.get(f"/v1/documents/{docs[0]['doc_id']}")
    assert one.status_code == 200 and one.json() == docs[0]
    assert_error(client.get("/v1/documents/does-not-exist"), 404, "document_not_found")


def test_passage_text_around_a_citation(client: httpx.Client, why_answer: dict) -> None:
    citation = why_answer["citations"][0]
    params = {"start": citation["start"], "end": citation["end"], "context": 50}
    passage = client.get(f"/v1/documents/{citation['doc_id']}/text", params=params).json()
    assert passage["quote"] == citation["quote"]
    lo, hi = passage["highlight"]["start"], passage["highlight"]["end"]
    assert passage["text"][lo:hi] == citation["quote"]
    assert len(passage["text"]) <= len(citation["quote"]) + 100
    assert passage["meta"]["short_name"] == "有研新材" and passage["page"] == citation["page"]


def test_whole_text_without_offsets(client: httpx.Client, engine: Engine) -> None:
    doc_id = client.get("/v1/documents").json()["documents"][0]["doc_id"]
    passage = client.get(f"/v1/documents/{doc_id}/text").json()
    assert passage["text"] == engine.document(doc_id).text and passage["total_chars"] == len(passage["text"])
    assert_error(client.get("/v1/documents/nope/text", params={"start": 0, "end": 5}), 404, "document_not_found")
    assert_error(client.get(f"/v1/documents/{doc_id}/text", params={"start": -1}), 422, "validation_error")


def test_upload_ask_and_delete(client: httpx.Client, settings: Settings, uploaded: list[str]) -> None:
    files = {"file": ("test_upload_co.txt", filing_text("星河测试材料"), "text/plain")}
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 201, response.text
    report = response.json()
    assert set(report) >= {"added", "replaced", "unchanged", "removed", "failed", "ok", "filename", "bytes"}
    assert report["added"] == ["test_upload_co.txt"] and report["ok"] is True and report["failed"] == []
    assert (Path(settings.upload_dir) / "test_upload_co.txt").is_file()
    doc_id = doc_id_of(client, "test_upload_co.txt")
    uploaded.append(doc_id)
    hits = client.post("/v1/search", json={"query": "星河测试材料 营业收入"}).json()["hits"]
    assert hits[0]["doc_id"] == doc_id
    again = client.post("/v1/documents", files=files).json()
    assert again["unchanged"] == ["test_upload_co.txt"] and again["added"] == []
    assert client.delete(f"/v1/documents/{doc_id}").json() == {"removed": doc_id}
    uploaded.remove(doc_id)
    assert doc_id not in {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}
    assert_error(client.delete(f"/v1/documents/{doc_id}"), 404, "document_not_found")


@pytest.mark.parametrize("name", ["../../evil.txt", "..\\..\\evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_traversal_names_stay_in_upload_folder(
    client: httpx.Client, settings: Settings, uploaded: list[str], name: str
) -> None:
    upload_dir = Path(settings.upload_dir).resolve()
    response = client.post("/v1/documents", files={"file": (name, filing_text("越界测试公司", 5), "text/plain")})
    assert response.status_code == 201, response.text
    saved = upload_dir / response.json()["filename"]
    assert saved.is_file() and saved.resolve().parent == upload_dir
    assert not (upload_dir.parent / "evil.txt").exists() and not Path("/etc/evil.txt").exists()
    uploaded.append(doc_id_of(client, saved.name))


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../evil.txt", "evil.txt"),
        ("..", "upload"),
        ("C:\\Windows\\system32\\x.md", "x.md"),
        ("有研新材 问询函.PDF", "有研新材 问询函.pdf"),
        ("a\x00b;rm -rf $HOME.txt", "ab_rm -rf _HOME.txt"),
        (".hidden.txt", "hidden.txt"),
    ],
)
def test_sanitize_filename(raw: str, safe: str) -> None:
    assert sanitize_filename(raw) == safe


def test_upload_rejects_unsupported_and_empty_files(client: httpx.Client) -> None:
    assert_error(client.post("/v1/documents", files={"file": ("tool.exe", b"MZ...")}), 415, "unsupported_media_type")
    assert_error(client.post("/v1/documents", files={"file": ("empty.txt", b"")}), 400, "bad_request")
    assert_error(client.post("/v1/documents", data={"x": "1"}), 422, "validation_error")


def test_unreadable_upload_is_an_ingest_error(client: httpx.Client, settings: Settings) -> None:
    response = client.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4 not really a pdf")})
    assert_error(response, 422, "ingest_error")
    assert "broken.pdf" in response.json()["error"]["message"]
    assert not (Path(settings.upload_dir) / "broken.pdf").exists()


def test_body_and_upload_limits(make_server: Callable[..., BackgroundServer]) -> None:
    server = make_server(max_body_bytes=2048, max_upload_bytes=4096)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/v1/ask", json={"question": WHY_QUESTION}).status_code == 200
        big = {"question": WHY_QUESTION, "history": [{"role": "user", "content": "稀" * 1000}]}
        assert_error(http.post("/v1/ask", json=big), 413, "payload_too_large")
        chunked = http.post("/v1/ask", content=iter([b'{"question": "', b"x" * 4096, b'"}']))
        assert_error(chunked, 413, "payload_too_large")
        over_file = {"file": ("big.txt", b"a" * 10_000, "text/plain")}
        assert_error(http.post("/v1/documents", files=over_file), 413, "payload_too_large")
        huge = {"file": ("huge.txt", b"a" * 200_000, "text/plain")}
        assert_error(http.post("/v1/documents", files=huge), 413, "payload_too_large")
        assert 'status="413"' in http.get("/metrics").text


def test_reads_keep_succeeding_during_upload(
    client: httpx.Client, server: BackgroundServer, uploaded: list[str]
) -> None:
    results: list[tuple[int, float]] = []
    upload_started: list[float] = []
    upload_done: list[float] = []

    def upload() -> None:
        files = {"file": ("concurrent_co.txt", filing_text("并发测试公司", 400), "text/plain")}
        upload_started.append(time.monotonic())
        response = httpx.post(f"{server.url}/v1/documents", files=files, timeout=120)
        assert response.status_code == 201, response.text
        upload_done.append(time.monotonic())

    def ask_until_uploaded() -> None:
        # at least 10 requests, and on until the upload is done: an ingest can now take less time than a fixed
        # number of asks, and the reads must overlap it
        with httpx.Client(base_url=server.url, timeout=60) as http:
            i = 0
            while i < 10 or (not upload_done and i < 2000):
                route = "/v1/ask" if i % 2 else "/v1/search"  # searches (milliseconds) interleaved with asks
                status = http.post(route, json={"question" if route == "/v1/ask" else "query": WHY_QUESTION}).status_code
                results.append((status, time.monotonic()))
                i += 1

    askers = [threading.Thread(target=ask_until_uploaded) for _ in range(4)]
    for thread in askers:
        thread.start()
    time.sleep(0.05)
    uploader = threading.Thread(target=upload)
    uploader.start()
    for thread in [*askers, uploader]:
        thread.join(timeout=150)
    assert upload_done, "upload did not finish"
    uploaded.append(doc_id_of(client, "concurrent_co.txt"))
    assert len(results) >= 40 and all(status == 200 for status, _ in results)
    assert any(upload_started[0] < at < upload_done[0] for _, at in results), "no query overlapped the upload"


def test_first_upload_builds_an_index(tmp_path: Path, start_server: Callable[..., BackgroundServer]) -> None:
    from qa_engine.api import create_app

    server = start_server(
        create_app(Settings(index_dir=tmp_path / "fresh", upload_dir=tmp_path / "up")), "/healthz"
    )
    with httpx.Client(base_url=server.url, timeout=120) as http:
        assert http.get("/readyz").status_code == 503
        files = {"file": ("first.md", filing_text("首个上传公司", 30), "text/markdown")}
        response = http.post("/v1/documents", files=files)
        assert response.status_code == 201, response.text
        assert response.json()["added"] == ["first.md"]
        assert http.get("/readyz").json() == {"status": "ready", "documents": 1}
        hits = http.post("/v1/search", json={"query": "首个上传公司 营业收入"}).json()["hits"]
        assert hits and hits[0]["text"]


PREANNOUNCEMENT = """证券代码：600999 证券简称：星河材料 公告编号：2025-007
星河材料股份有限公司
2024年年度业绩预告
本公司董事会及全体董事保证本公告内容不存在任何虚假记载、误导性陈述或者重大遗漏。
公司于2024年10月30日披露了2024年第三季度报告。预计2024年年度实现归属于母公司所有者的净利润为1.2亿元至1.5亿元。
具体准确的财务数据以公司正式披露的2024年年度报告为准。
特此公告。
星河材料股份有限公司董事会
2025年1月24日
"""


def test_uploaded_filing_gets_metadata_from_its_header_title_and_signature(
    client: httpx.Client, uploaded: list[str]
) -> None:
    files = {"file": ("xinghe_preannouncement.txt", PREANNOUNCEMENT.encode("utf-8"), "text/plain")}
    assert client.post("/v1/documents", files=files).status_code == 201
    doc_id = doc_id_of(client, "xinghe_preannouncement.txt")
    uploaded.append(doc_id)
    info = client.get(f"/v1/documents/{doc_id}").json()
    assert (info["doc_type"], info["title"], info["date"]) == ("业绩预告", "2024年年度业绩预告", "2025-01-24")
    assert (info["stock_code"], info["short_name"]) == ("600999", "星河材料")
    answer = client.post("/v1/ask", json={"question": "星河材料预计2024年净利润是多少？"}).json()
    assert answer["text"] == "1.2亿元至1.5亿元"
