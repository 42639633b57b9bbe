"""Real components for the API tests: an index built over data/filings and uvicorn servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from qa_engine import Engine, Settings, ingest
from qa_engine.api import create_app
from qa_engine.api.server import BackgroundServer

REPO = Path(__file__).resolve().parents[2]
FILINGS = REPO / "data" / "filings"
WHY_QUESTION = "为什么有研新材2024年稀土材料毛利率为负？"
API_KEY = "test-key-123"

StartServer = Callable[..., BackgroundServer]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding a fresh index over the bundled filings, with dense vectors (any mode may be asked)."""
    folder = tmp_path_factory.mktemp("api_index")
    report = ingest([FILINGS], Settings(index_dir=folder, dense_index="always"))
    assert report.ok and len(report.added) == 5, report
    return folder


@pytest.fixture(scope="session")
def settings(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Return the Settings of the main test server (no API key)."""
    return Settings(index_dir=index_dir, upload_dir=tmp_path_factory.mktemp("uploads"))


@pytest.fixture(scope="session")
def start_server() -> Iterator[StartServer]:
    """Yield a function that starts a uvicorn server for an app; every server is stopped at session end."""
    servers: list[BackgroundServer] = []

    def start(app: FastAPI, ready_path: str = "/readyz") -> BackgroundServer:
        server = BackgroundServer(app, startup_timeout_s=120).start(ready_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    """Return the main app, opening the index itself (the same path `qa-engine serve` takes)."""
    return create_app(settings)


@pytest.fixture(scope="session")
def server(app: FastAPI, start_server: StartServer) -> BackgroundServer:
    """Return the running main server."""
    return start_server(app)


@pytest.fixture(scope="session")
def engine(app: FastAPI, server: BackgroundServer) -> Engine:
    """Return the engine the main server opened (other test apps share it)."""
    opened: Engine = app.state.engine_holder.get()
    return opened


@pytest.fixture(scope="session")
def make_server(settings: Settings, engine: Engine, start_server: StartServer) -> Callable[..., BackgroundServer]:
    """Return a function that starts a server sharing the main engine, with some settings overridden."""

    def make(**overrides: object) -> BackgroundServer:
        return start_server(create_app(settings.model_copy(update=overrides), engine))

    return make


@pytest.fixture(scope="session")
def keyed_server(make_server: Callable[..., BackgroundServer]) -> BackgroundServer:
    """Return a server that requires `API_KEY`."""
    return make_server(api_key=API_KEY)


@pytest.fixture()
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    """Yield an HTTP client for the main server."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def why_answer(server: BackgroundServer) -> dict[str, object]:
    """Return the /v1/ask answer to the 有研新材 negative-gross-margin question."""
    response = httpx.post(f"{server.url}/v1/ask", json={"question": WHY_QUESTION}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body
