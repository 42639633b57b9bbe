"""Hostile and careless input over HTTP: lone surrogates, loose types, unknown fields, junk methods, PDF bombs,
uploads sharing a name, a busy or damaged index. Always a 4xx or 503 error envelope, never a 5xx crash, never a
server path in a message, never a silent replacement."""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from qa_engine import Settings
from qa_engine.api import create_app
from qa_engine.api.server import BackgroundServer
from qa_engine.index.writer import STORE_FILE, writer_lock
from qa_engine.store.sqlite_store import read_current_generation
from tests.helpers.hostile_pdfs import write_flate_bomb
from tests.helpers.index_copy import copy_index

from .conftest import WHY_QUESTION
from .test_health import assert_error

pytestmark = pytest.mark.timeout(180)

JSON = {"content-type": "application/json"}


def report_text(company: str, fact: str) -> bytes:
    """Return a small filing of `company` stating `fact`, as UTF-8."""
    return f"{company}2024年年度报告\n一、公司基本情况\n{company}{fact}\n".encode()


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far (VmHWM), in MB."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def own_server(index_dir: Path, tmp_path_factory: pytest.TempPathFactory,
               start_server: Callable[..., BackgroundServer]) -> Iterator[tuple[BackgroundServer, Settings]]:
    """A server over a private copy of the index (these tests write), with low PDF limits."""
    folder = tmp_path_factory.mktemp("hardening")
    copy_index(index_dir, folder / "index")
    settings = Settings(index_dir=folder / "index", upload_dir=folder / "uploads", embedder="static",
                        pdf_max_memory_mb=256)
    yield start_server(create_app(settings)), settings


@pytest.fixture()
def http(own_server: tuple[BackgroundServer, Settings]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=own_server[0].url, timeout=60) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", '{"question": "稀土\\ud800"}'),
        ("/v1/search", '{"query": "稀土\\ud800"}'),
        ("/v1/ask", '{"question": "稀土", "history": [{"role": "user", "content": "\\udfff"}]}'),
        ("/v1/search", '{"query": "稀土", "filters": {"company": "\\ud800"}}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "稀土\\ud800"}]}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]}'),
        ("/v1/search", '{"query": "稀土", "\\ud800": 1}'),
    ],
)
def test_lone_surrogates_are_a_4xx_and_the_connection_stays(client: httpx.Client, path: str, body: str) -> None:
    response = client.post(path, content=body.encode(), headers=JSON)
    assert_error(response, 422, "validation_error")
    assert "surrogate" in response.text
    assert response.headers.get("connection") != "close"
    assert client.post("/v1/search", json={"query": "稀土"}).status_code == 200  # same client, same server


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"query": "稀土", "k": True}),
        ("/v1/search", {"query": "稀土", "k": "5"}),
        ("/v1/search", {"query": "稀土", "k": 2.5}),
        ("/v1/ask", {"question": WHY_QUESTION, "k": "3"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "稀土"}], "k": False}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "稀土"}], "stream": "yes"}),
        ("/v1/search", {"query": "稀土", "company": "北方稀土"}),  # a misplaced filter must not widen the search
        ("/v1/ask", {"question": WHY_QUESTION, "filter": {"company": "北方稀土"}}),
        ("/v1/ask", {"question": WHY_QUESTION, "history": [{"role": "user", "content": "x", "name": "y"}]}),
    ],
)
def test_loose_types_and_unknown_fields_are_rejected(client: httpx.Client, path: str, body: dict) -> None:
    assert_error(client.post(path, json=body), 422, "validation_error")


def test_openai_clients_may_still_send_their_extra_fields(client: httpx.Client) -> None:
    body = {"model": "qa-engine", "messages": [{"role": "user", "content": WHY_QUESTION, "name": "u"}],
            "temperature": 0.2, "max_tokens": 100, "k": 3}
    assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_error_statuses_are_declared_in_the_schema(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for method, path in [("post", "/v1/ask"), ("post", "/v1/search"), ("post", "/v1/chat/completions"),
                         ("get", "/v1/documents/{doc_id}/text"), ("delete", "/v1/documents/{doc_id}")]:
        responses = paths[path][method]["responses"]
        assert {"400", "404", "413", "422", "503"} <= set(responses), (path, sorted(responses))
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert {"400", "409", "413", "415", "422", "503"} <= set(paths["/v1/documents"]["post"]["responses"])


def test_metrics_labels_stay_bounded(own_server: tuple[BackgroundServer, Settings]) -> None:
    with httpx.Client(base_url=own_server[0].url, timeout=30) as http:
        http.get("/metrics")
        before = len(http.get("/metrics").content)
        for i in range(300):
            http.request(f"JUNK{i}", f"/v1/ask/{i}")
            http.request(f"X{i}", "/v1/ask")
        text = http.get("/metrics").text
    assert len(text) - before < 8_000, f"/metrics grew by {len(text) - before} bytes"
    assert "JUNK" not in text and 'method="other"' in text


def test_pdf_bomb_upload_is_a_422_naming_the_limit(http: httpx.Client, tmp_path: Path,
                                                   own_server: tuple[BackgroundServer, Settings]) -> None:
    bomb = write_flate_bomb(tmp_path / "bomb.pdf", inflated_mb=150)
    before = peak_rss_mb()
    response = http.post("/v1/documents", files={"file": ("bomb.pdf", bomb.read_bytes(), "application/pdf")})
    grown = peak_rss_mb() - before
    assert_error(response, 422, "ingest_error")
    message = response.json()["error"]["message"]
    assert "QA_PDF_MAX_MEMORY_MB" in message and message.count("bomb.pdf") == 1
    assert grown < 150, f"the server grew by {grown:.0f} MB"
    left = [p.name for p in Path(str(own_server[1].upload_dir)).iterdir()]
    assert "bomb.pdf" not in left and not [n for n in left if n.startswith(".upload-")], left


def test_messages_name_files_not_server_paths(http: httpx.Client, own_server: tuple[BackgroundServer, Settings],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    settings = own_server[1]
    broken = http.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4 not really a pdf")})
    assert_error(broken, 422, "ingest_error")
    # the upload is written to a temporary file: its name must not appear either
    assert broken.json()["error"]["message"].startswith("broken.pdf: ") and ".upload-" not in broken.text
    monkeypatch.setattr("qa_engine.engine.writer_lock", functools.partial(writer_lock, wait_s=0.3))
    with writer_lock(Path(settings.index_dir)):
        busy = http.post("/v1/documents", files={"file": ("busy.txt", report_text("忙碌测试公司", "营业收入1亿元。"))})
    assert_error(busy, 409, "index_busy")
    for response in (broken, busy):
        for folder in (settings.index_dir, settings.upload_dir, Path(str(settings.index_dir)).parent):
            assert str(folder) not in response.text, response.text


def test_upload_with_a_taken_name_is_a_409_unless_replace(http: httpx.Client) -> None:
    first = http.post("/v1/documents", files={"file": ("report.txt", report_text("甲公司", "稀土精矿采购量为三千吨。"))})
    assert first.status_code == 201 and first.json()["added"] == ["report.txt"]
    again = http.post("/v1/documents", files={"file": ("report.txt", report_text("甲公司", "稀土精矿采购量为三千吨。"))})
    assert again.status_code == 201 and again.json()["unchanged"] == ["report.txt"]  # same content: idempotent
    other = report_text("乙公司", "钕铁硼磁材产量为五百吨。")
    taken = http.post("/v1/documents", files={"file": ("report.txt", other)})
    assert_error(taken, 409, "document_exists")
    assert "replace=true" in taken.json()["error"]["message"]
    hit = http.post("/v1/search", json={"query": "稀土精矿采购量 三千吨", "k": 1}).json()["hits"][0]
    assert "甲公司" in hit["text"]  # the first filing was not replaced
    replaced = http.post("/v1/documents", params={"replace": "true"}, files={"file": ("report.txt", other)})
    assert replaced.status_code == 201 and replaced.json()["replaced"] == ["report.txt"]
    docs = [d for d in http.get("/v1/documents").json()["documents"] if d["source"] == "report.txt"]
    assert len(docs) == 1
    assert "乙公司" in http.get(f"/v1/documents/{docs[0]['doc_id']}/text").json()["text"]
    http.delete(f"/v1/documents/{docs[0]['doc_id']}")


def test_an_upload_sharing_a_name_with_an_ingested_filing_keeps_both(http: httpx.Client) -> None:
    before = http.get("/v1/documents").json()["documents"]
    name = before[0]["source"]  # a filing ingested from data/filings
    response = http.post("/v1/documents", files={"file": (name, report_text("丙公司", "氧化镝库存为二十吨。"))})
    assert response.status_code == 201 and response.json()["added"] == [name]
    after = http.get("/v1/documents").json()["documents"]
    assert [d["source"] for d in after].count(name) == 2 and before[0] in after
    http.delete(f"/v1/documents/{next(d['doc_id'] for d in after if d not in before)}")


def test_a_conflict_is_answered_at_once_while_another_writer_works(
        http: httpx.Client, own_server: tuple[BackgroundServer, Settings]) -> None:
    body = report_text("丁公司", "稀土永磁产能为一千吨。")
    assert http.post("/v1/documents", files={"file": ("taken.txt", body)}).status_code == 201
    with writer_lock(Path(own_server[1].index_dir)):  # a long ingest in another process
        started = time.monotonic()
        response = http.post("/v1/documents", files={"file": ("taken.txt", body + "修订。".encode())}, timeout=20)
        assert_error(response, 409, "document_exists")
        assert time.monotonic() - started < 10
        again = http.post("/v1/documents", files={"file": ("taken.txt", body)}, timeout=20)
        assert again.status_code == 201 and again.json()["unchanged"] == ["taken.txt"]


def _damage_store(index: Path) -> None:
    (index / STORE_FILE).write_bytes(os.urandom(8192))
    for suffix in ("-wal", "-shm"):
        (index / f"{STORE_FILE}{suffix}").unlink(missing_ok=True)


def _generation(index: Path) -> Path:
    """Return the folder of the generation the store names as current."""
    return index / str(read_current_generation(index / STORE_FILE))


@pytest.mark.parametrize(
    "damage",
    [_damage_store, lambda index: shutil.rmtree(_generation(index)),
     lambda index: (_generation(index) / "positions.npz").write_bytes(b"\x93NUMPY truncated")],
    ids=["random-store", "missing-generation", "corrupt-positions"],
)
def test_a_damaged_index_is_a_503_naming_the_fix(index_dir: Path, tmp_path: Path, damage,  # type: ignore[no-untyped-def]
                                                 start_server: Callable[..., BackgroundServer]) -> None:
    index = tmp_path / "index"
    copy_index(index_dir, index)
    damage(index)
    server = start_server(create_app(Settings(index_dir=index, upload_dir=tmp_path / "up")), "/healthz")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for response in (http.post("/v1/ask", json={"question": WHY_QUESTION}), http.get("/v1/documents")):
            assert_error(response, 503, "index_corrupt")
            assert "qa-engine ingest" in response.json()["error"]["message"]
            assert str(tmp_path) not in response.text
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "index_corrupt"
