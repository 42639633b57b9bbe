"""The HTTP service: `create_app(settings)` builds the FastAPI app, `serve(settings)` runs it under uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI
from starlette.types import Scope

from qa_engine.api.errors import install_error_handlers
from qa_engine.api.limits import MULTIPART_SLACK, BodyLimitMiddleware
from qa_engine.api.metrics import Metrics, MetricsMiddleware
from qa_engine.api.routes import ask, chat, documents, health, web
from qa_engine.api.state import EngineHolder
from qa_engine.settings import Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine

DESCRIPTION = (
    "Question answering with exact citations over Chinese financial filings. "
    "When the server has an API key, send it as `Authorization: Bearer <key>`."
)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Return the FastAPI app serving `engine`, or the index at `settings.index_dir` opened on first use."""
    holder = EngineHolder(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder.start_loading()
        yield
        holder.close()

    app = FastAPI(title="qa-engine", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine_holder = holder
    app.state.metrics = Metrics()
    install_error_handlers(app)
    for module in (health, ask, chat, documents, web):
        app.include_router(module.router)
    web.mount_static(app)
    app.add_middleware(BodyLimitMiddleware, limit_for=lambda scope: body_limit(settings, scope))
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def body_limit(settings: Settings, scope: Scope) -> int:
    """Return the largest request body allowed for this request: uploads get `max_upload_bytes`."""
    if scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == "/v1/documents":
        return settings.max_upload_bytes + MULTIPART_SLACK
    return settings.max_body_bytes


def serve(settings: Settings) -> None:
    """Return when the server stops: runs uvicorn on settings.host:port after printing the URL."""
    app = create_app(settings)
    url = f"http://{settings.host}:{settings.port}"
    print(f"qa-engine serving {settings.index_dir} at {url}/  (API docs: {url}/docs)", flush=True)
    uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")).run()
