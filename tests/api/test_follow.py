"""`qa-engine serve` as its own process, as users run it: warmed up before /readyz says ready, following index
writes made by another process (`qa-engine ingest`, `qa-engine docs rm`) within a second or two, in every
worker with `--workers`, and cleaning up after a predecessor killed in the middle of an upload."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from qa_engine.api.server import free_port
from tests.helpers.index_copy import copy_index

pytestmark = pytest.mark.timeout(240)

FOLLOW_WITHIN_S = 3.0


class ServeProcess:
    """`python -m qa_engine.cli serve` on 127.0.0.1 and a free port, in its own process."""

    def __init__(self, index: Path, upload_dir: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "QA_UPLOAD_DIR": str(upload_dir), "HF_HUB_OFFLINE": "1", **(env or {})}
        command = [sys.executable, "-m", "qa_engine.cli", "serve", "--port", str(self.port), "--index", str(index)]
        with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


@pytest.fixture()
def index_copy(index_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session index (these tests write to it from several processes)."""
    copy = tmp_path / "index"
    copy_index(index_dir, copy)
    return copy


@pytest.fixture()
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Yield a function starting `qa-engine serve` over an index (with extra QA_* variables); every server is
    stopped afterwards."""
    started: list[ServeProcess] = []

    def start(index: Path, **env: str) -> ServeProcess:
        server = ServeProcess(index, tmp_path / "uploads", tmp_path / "serve.log", env)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Return the finished `qa-engine ARGS...` run in its own process."""
    done = subprocess.run([sys.executable, "-m", "qa_engine.cli", *args], capture_output=True, text=True,
                          timeout=180, env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def wait_for(check: Callable[[], Any], timeout_s: float) -> float:
    """Return the seconds until `check()` was truthy; fails after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not seen within {timeout_s} s")


def sources(server: ServeProcess) -> list[str]:
    return [d["source"] for d in httpx.get(f"{server.url}/v1/documents", timeout=30).json()["documents"]]


def test_first_dense_search_is_warm(index_copy: Path, serve: Callable[..., ServeProcess]) -> None:
    """A server whose retrieval uses the embedder loads it before /readyz says ready (a BM25-only server does
    not load it at all: tests/api/test_memory.py)."""
    server = serve(index_copy, QA_RETRIEVAL_MODE="hybrid")
    started = time.monotonic()
    response = httpx.post(f"{server.url}/v1/search", json={"query": "稀土 毛利率", "mode": "dense"}, timeout=60)
    assert response.status_code == 200 and response.json()["hits"]
    assert time.monotonic() - started < 1.5, "the first dense search loaded the embedder"


def test_server_follows_writes_by_another_process(index_copy: Path, tmp_path: Path,
                                                  serve: Callable[..., ServeProcess]) -> None:
    server = serve(index_copy)
    documents = len(sources(server))
    filing = tmp_path / "incoming" / "follow_co.txt"
    filing.parent.mkdir()
    filing.write_text("随行测试材料股份有限公司2024年年度报告\n公司钐钴永磁体出货量同比增长百分之四十二。\n",
                      encoding="utf-8")
    cli("ingest", str(filing), "--index", str(index_copy))
    waited = wait_for(lambda: "follow_co.txt" in sources(server), FOLLOW_WITHIN_S)
    assert waited < FOLLOW_WITHIN_S
    assert httpx.get(f"{server.url}/readyz", timeout=30).json()["documents"] == documents + 1
    hits = httpx.post(f"{server.url}/v1/search", json={"query": "钐钴永磁体出货量"}, timeout=30).json()["hits"]
    assert hits and "钐钴永磁体" in hits[0]["text"]
    doc_id = hits[0]["doc_id"]
    assert httpx.delete(f"{server.url}/v1/documents/{doc_id}", timeout=60).json() == {"removed": doc_id}
    other = httpx.get(f"{server.url}/v1/documents", timeout=30).json()["documents"][0]
    cli("docs", "rm", other["doc_id"], "--index", str(index_copy))
    wait_for(lambda: other["source"] not in sources(server), FOLLOW_WITHIN_S)
    assert len(sources(server)) == documents - 1


def test_an_upload_cut_short_by_a_killed_server_is_cleaned_up(index_copy: Path, tmp_path: Path,
                                                               serve: Callable[..., ServeProcess]) -> None:
    server = serve(index_copy)
    uploads = tmp_path / "uploads"
    lines = [f"长篇测试公司第{i}项业务2024年实现营业收入{1000 + i}万元，同比增长{i % 9}%，毛利率为{i % 40}%。"
             for i in range(40_000)]
    body = ("长篇测试公司2024年年度报告\n" + "\n".join(lines)).encode()  # several seconds to chunk and index

    def upload() -> None:
        try:
            httpx.post(f"{server.url}/v1/documents", files={"file": ("long_co.txt", body)}, timeout=120)
        except httpx.HTTPError:
            pass  # the server is killed under it

    uploader = threading.Thread(target=upload)
    uploader.start()
    wait_for(lambda: any(p.name.startswith(".upload-") for p in uploads.glob("*")), 60)
    time.sleep(0.5)  # the upload is being indexed now
    server.stop(signal.SIGKILL)
    uploader.join(60)
    assert not (uploads / "long_co.txt").exists(), "an upload that was never indexed took its final name"
    restarted = serve(index_copy)
    assert not [p.name for p in uploads.iterdir() if p.name.startswith(".upload-")]
    assert "long_co.txt" not in sources(restarted)
    assert httpx.post(f"{restarted.url}/v1/search", json={"query": "稀土"}, timeout=30).status_code == 200


class WorkerClients:
    """One keep-alive connection to each worker process of a `serve --workers N` server. Which worker holds a
    connection is read from the OS (the worker's accepted sockets), since the kernel picks it by a hash."""

    def __init__(self, server: ServeProcess) -> None:
        self.port = server.port
        self.workers = [psutil.Process(pid) for pid in listening_workers(server.process.pid, server.port)]
        self.connections: dict[int, http.client.HTTPConnection] = {}

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self.workers]

    def request(self, pid: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Return the JSON that worker `pid` answers, reconnecting once when it closed an idle connection."""
        for _ in range(2):
            connection = self.connection(pid)
            try:
                return send_json(connection, method, path, body)
            except (OSError, http.client.HTTPException):
                self.connections.pop(pid).close()
        raise AssertionError(f"worker {pid} did not answer {method} {path}")

    def connection(self, pid: int) -> http.client.HTTPConnection:
        """Return a connection that worker `pid` accepted, opening new ones until one lands there."""
        for _ in range(64):  # each lands on a worker at random: 64 misses in a row means the worker is gone
            if pid in self.connections:
                return self.connections[pid]
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            send_json(connection, "GET", "/healthz")
            owner = self.owner(connection.sock.getsockname()[1])
            if owner is None or owner in self.connections:
                connection.close()
            else:
                self.connections[owner] = connection
        raise AssertionError(f"no connection reached worker {pid}")

    def owner(self, client_port: int) -> int | None:
        """Return the pid of the worker holding the connection from `client_port`."""
        for worker in self.workers:
            if any(c.raddr and c.raddr.port == client_port for c in worker.net_connections(kind="tcp")):
                return worker.pid
        return None

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


def listening_workers(pid: int, port: int) -> list[int]:
    """Return the pids of the processes under `pid` that listen on `port`."""
    pids = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in child.net_connections("tcp")):
                pids.append(child.pid)
        except psutil.NoSuchProcess:  # a worker that just died (zombies included)
            continue
    return pids


def send_json(connection: http.client.HTTPConnection, method: str, path: str,
              body: dict[str, Any] | None = None) -> Any:
    """Return the JSON answer to one request on `connection` (asserting a 200)."""
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    text = response.read()
    assert response.status == 200, text
    return json.loads(text)


def test_every_worker_follows_writes_by_another_process(index_copy: Path, tmp_path: Path,
                                                        serve: Callable[..., ServeProcess]) -> None:
    """`serve --workers 2`: each worker has its own engine, and each switches to a generation that another
    process, or the other worker, committed."""
    server = serve(index_copy, QA_WORKERS="2")
    workers = WorkerClients(server)
    assert len(workers.pids) == 2
    first, second = workers.pids

    def listed(pid: int) -> list[str]:
        return [d["source"] for d in workers.request(pid, "GET", "/v1/documents")["documents"]]

    documents = len(listed(first))
    assert len(listed(second)) == documents
    filing = tmp_path / "incoming" / "workers_co.txt"
    filing.parent.mkdir()
    filing.write_text("多进程测试材料股份有限公司2024年年度报告\n公司钕铁硼磁材出货量同比增长百分之三十七。\n",
                      encoding="utf-8")
    cli("ingest", str(filing), "--index", str(index_copy))
    for pid in workers.pids:
        assert wait_for(lambda: "workers_co.txt" in listed(pid), FOLLOW_WITHIN_S) < FOLLOW_WITHIN_S  # noqa: B023
        hits = workers.request(pid, "POST", "/v1/search", {"query": "钕铁硼磁材出货量"})["hits"]
        assert hits and "钕铁硼磁材" in hits[0]["text"]
    doc_id = hits[0]["doc_id"]
    assert workers.request(first, "DELETE", f"/v1/documents/{doc_id}") == {"removed": doc_id}
    wait_for(lambda: "workers_co.txt" not in listed(second), FOLLOW_WITHIN_S)
    assert len(listed(second)) == len(listed(first)) == documents
    workers.close()


def test_a_worker_that_dies_is_replaced(index_copy: Path, serve: Callable[..., ServeProcess]) -> None:
    server = serve(index_copy, QA_WORKERS="2")
    killed, kept = listening_workers(server.process.pid, server.port)
    os.kill(killed, signal.SIGKILL)

    def replaced() -> bool:
        pids = listening_workers(server.process.pid, server.port)
        return len(pids) == 2 and killed not in pids and kept in pids

    wait_for(replaced, 120)
    server.wait_ready()
    workers = WorkerClients(server)
    for pid in workers.pids:
        assert workers.request(pid, "POST", "/v1/search", {"query": "稀土 毛利率"})["hits"]
    workers.close()


def test_metrics_count_the_requests_of_every_worker(index_copy: Path, serve: Callable[..., ServeProcess]) -> None:
    """/metrics, whichever worker answers it, sums the counters of all workers (a shared multiprocess folder)."""
    server = serve(index_copy, QA_WORKERS="2")
    workers = WorkerClients(server)
    for pid in workers.pids:
        for _ in range(3):
            workers.request(pid, "POST", "/v1/search", {"query": "稀土 毛利率"})
    for pid in workers.pids:
        connection = workers.connection(pid)
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode()
        assert response.status == 200
        searches = [line for line in text.splitlines()
                    if line.startswith("qa_http_requests_total{") and 'route="/v1/search"' in line]
        assert searches and sum(float(line.rsplit(" ", 1)[1]) for line in searches) == 6, searches
    workers.close()
