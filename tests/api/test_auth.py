"""API key on: every endpoint but /healthz, /readyz and the page needs `Authorization: Bearer <key>`."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest

from qa_engine.api.server import BackgroundServer

from .conftest import API_KEY, WHY_QUESTION
from .test_health import assert_error

pytestmark = pytest.mark.timeout(120)

PROTECTED = [
    ("POST", "/v1/ask", {"question": WHY_QUESTION}),
    ("POST", "/v1/search", {"query": "稀土"}),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": WHY_QUESTION}]}),
    ("GET", "/v1/models", None),
    ("GET", "/v1/documents", None),
    ("DELETE", "/v1/documents/whatever", None),
    ("GET", "/metrics", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_key_required(keyed_server: BackgroundServer, method: str, path: str, body: dict | None) -> None:
    with httpx.Client(base_url=keyed_server.url, timeout=60) as http:
        missing = http.request(method, path, json=body)
        assert_error(missing, 401, "unauthorized")
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = http.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
        assert_error(wrong, 401, "unauthorized")
        good = http.request(method, path, json=body, headers={"Authorization": f"Bearer {API_KEY}"})
        assert good.status_code != 401
        assert good.status_code == (404 if method == "DELETE" else 200), good.text


def test_upload_requires_key(keyed_server: BackgroundServer) -> None:
    files = {"file": ("keyed.txt", "有研新材测试。".encode(), "text/plain")}
    response = httpx.post(f"{keyed_server.url}/v1/documents", files=files, timeout=30)
    assert_error(response, 401, "unauthorized")


def test_open_routes_without_key(keyed_server: BackgroundServer) -> None:
    with httpx.Client(base_url=keyed_server.url, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok", "auth_required": True}
        assert http.get("/readyz").status_code == 200
        assert http.get("/").status_code == 200
        assert http.get("/static/app.js").status_code == 200


def test_openai_client_with_key(keyed_server: BackgroundServer) -> None:
    messages = [{"role": "user", "content": WHY_QUESTION}]
    good = openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key=API_KEY, max_retries=0)
    assert "产品价格进一步下降" in (good.chat.completions.create(model="qa-engine", messages=messages)
                                   .choices[0].message.content or "")
    bad = openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="qa-engine", messages=messages)


def test_documents_stay_protected_when_reads_are_keyed(make_server: Callable[..., BackgroundServer]) -> None:
    server = make_server(api_key=API_KEY, protect_documents=False)
    response = httpx.delete(f"{server.url}/v1/documents/whatever", timeout=30)
    assert_error(response, 401, "unauthorized")
