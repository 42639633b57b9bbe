"""A keyless server on 127.0.0.1 is reachable by every web page the user opens: writes from another origin are
refused, Host headers it does not serve are refused (DNS rebinding), responses carry the security headers,
and a server bound beyond loopback without a key says so at start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from qa_engine.api.server import BackgroundServer, free_port

from .conftest import WHY_QUESTION
from .test_hardening import report_text
from .test_health import assert_error

pytestmark = pytest.mark.timeout(120)

EVIL = "http://evil.example"


def test_cross_origin_upload_is_refused_and_nothing_is_indexed(client: httpx.Client, server: BackgroundServer) -> None:
    before = client.get("/v1/documents").json()["documents"]
    files = {"file": ("planted.txt", report_text("植入公司", "营业收入为零。"), "text/plain")}
    refused = client.post("/v1/documents", files=files, headers={"Origin": EVIL})
    assert_error(refused, 403, "cross_origin")
    assert client.get("/v1/documents").json()["documents"] == before
    deleting = client.delete(f"/v1/documents/{before[0]['doc_id']}", headers={"Origin": EVIL})
    assert_error(deleting, 403, "cross_origin")
    sandboxed = client.post("/v1/ask", json={"question": WHY_QUESTION}, headers={"Origin": "null"})
    assert_error(sandboxed, 403, "cross_origin")
    no_origin = client.post("/v1/ask", json={"question": WHY_QUESTION}, headers={"Sec-Fetch-Site": "cross-site"})
    assert_error(no_origin, 403, "cross_origin")
    assert client.get("/v1/documents").json()["documents"] == before


def test_the_servers_own_pages_and_non_browser_clients_may_write(client: httpx.Client, server: BackgroundServer) -> None:
    same = client.post("/v1/ask", json={"question": WHY_QUESTION}, headers={"Origin": server.url})
    assert same.status_code == 200
    fetch = client.post("/v1/search", json={"query": "稀土"}, headers={"Sec-Fetch-Site": "same-origin"})
    assert fetch.status_code == 200
    assert client.post("/v1/search", json={"query": "稀土"}).status_code == 200  # curl, SDKs: no Origin
    assert client.get("/v1/documents", headers={"Origin": EVIL}).status_code == 200  # reads are not writes


def test_allowed_origins_setting(make_server: Callable[..., BackgroundServer]) -> None:
    server = make_server(allowed_origins=["https://intranet.example"])
    with httpx.Client(base_url=server.url, timeout=60) as http:
        ok = http.post("/v1/search", json={"query": "稀土"}, headers={"Origin": "https://intranet.example"})
        assert ok.status_code == 200
        assert_error(http.post("/v1/search", json={"query": "稀土"}, headers={"Origin": EVIL}), 403, "cross_origin")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil"])
def test_foreign_host_headers_are_refused(client: httpx.Client, host: str) -> None:
    response = client.get("/v1/documents", headers={"Host": host})
    assert_error(response, 400, "bad_host")
    assert "QA_ALLOWED_HOSTS" in response.json()["error"]["message"]
    assert_error(client.get("/", headers={"Host": host}), 400, "bad_host")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1", "[::1]:8000"])
def test_local_host_names_are_served(client: httpx.Client, host: str) -> None:
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_allowed_hosts_setting(make_server: Callable[..., BackgroundServer]) -> None:
    server = make_server(allowed_hosts=["qa.internal", "*.corp.example"])
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/healthz", headers={"Host": "qa.internal:8000"}).status_code == 200
        assert http.get("/healthz", headers={"Host": "a.corp.example"}).status_code == 200
        assert_error(http.get("/healthz", headers={"Host": "localhost"}), 400, "bad_host")
    anything = make_server(allowed_hosts=["*"])
    assert httpx.get(f"{anything.url}/healthz", headers={"Host": "whatever"}, timeout=30).status_code == 200


def test_security_headers(client: httpx.Client) -> None:
    for path in ("/", "/healthz", "/v1/nope", "/static/app.js"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer", path
    csp = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "content-security-policy" not in client.get("/docs").headers  # Swagger UI loads from a CDN
    assert client.get("/v1/documents", headers={"Host": "evil.example"}).headers["x-frame-options"] == "DENY"


def _serve_output(host: str, tmp_path: Path, env: dict[str, str]) -> str:
    """Return what `qa-engine serve --host HOST` prints before it answers /healthz (then stop it)."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    command = [sys.executable, "-m", "qa_engine.cli", "serve", "--host", host, "--port", str(port),
               "--index", str(tmp_path / "no-index")]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(30)
    return log.read_text(encoding="utf-8", errors="replace")


def test_a_warning_when_bound_beyond_loopback_without_a_key(tmp_path: Path) -> None:
    exposed = _serve_output("0.0.0.0", tmp_path, {})
    assert "warning" in exposed and "QA_API_KEY" in exposed and "0.0.0.0" in exposed
    keyed = _serve_output("0.0.0.0", tmp_path, {"QA_API_KEY": "k"})
    local = _serve_output("127.0.0.1", tmp_path, {})
    assert "qa-engine serving" in keyed and "qa-engine serving" in local
    assert "QA_API_KEY" not in keyed and "QA_API_KEY" not in local
