"""Liveness, readiness, metrics, the error JSON shape and the page/docs routes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from qa_engine import Settings
from qa_engine.api import create_app
from qa_engine.api.server import BackgroundServer

from .conftest import WHY_QUESTION

pytestmark = pytest.mark.timeout(120)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """Assert `response` is the JSON error shape with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text


def test_healthz_and_readyz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "auth_required": False}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["documents"] >= 5


def test_not_ready_without_index(tmp_path: Path, start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(create_app(Settings(index_dir=tmp_path / "no-index")), "/healthz")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        not_ready = http.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["error"]["code"] == "index_not_found"
        assert_error(http.post("/v1/ask", json={"question": WHY_QUESTION}), 503, "index_not_found")


def test_unknown_route_and_method_are_json_errors(client: httpx.Client) -> None:
    assert_error(client.get("/v1/nope"), 404, "not_found")
    assert_error(client.get("/v1/ask"), 405, "method_not_allowed")


def test_metrics_expose_route_and_engine_metrics(client: httpx.Client) -> None:
    assert client.post("/v1/ask", json={"question": WHY_QUESTION}).status_code == 200
    assert client.post("/v1/search", json={"query": "稀土 毛利率"}).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "qa_http_requests_total", "qa_http_request_duration_seconds_bucket", "qa_ask_total",
        "qa_search_total", "qa_engine_call_duration_seconds_bucket", "qa_documents_uploaded_total",
    ):
        assert name in text, name
    assert 'qa_http_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'qa_ask_total{endpoint="ask",found="true"}' in text


def test_page_static_files_and_docs(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text and "/static/style.css" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/documents", "/v1/documents/{doc_id}/text"):
        assert path in paths


def test_unexpected_errors_are_generic_500s(
    settings: Settings, engine: object, start_server: Callable[..., BackgroundServer]
) -> None:
    app = create_app(settings, engine)  # type: ignore[arg-type]

    def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.add_api_route("/boom", boom)
    server = start_server(app)
    response = httpx.get(f"{server.url}/boom", timeout=30)
    assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and response.json()["error"]["message"] == "internal server error"
    assert 'route="/boom",status="500"' in httpx.get(f"{server.url}/metrics", timeout=30).text
