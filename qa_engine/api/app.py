"""The HTTP service: `create_app(settings)` builds the FastAPI app, `serve(settings)` runs it under uvicorn."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import Scope
from uvicorn.supervisors import Multiprocess

from qa_engine.api.errors import install_error_handlers
from qa_engine.api.limits import MULTIPART_SLACK, BodyLimitMiddleware
from qa_engine.api.metrics import Metrics, MetricsMiddleware
from qa_engine.api.routes import ask, chat, documents, health, web
from qa_engine.api.schemas import error_responses
from qa_engine.api.security import SecurityMiddleware, exposure_warning
from qa_engine.api.state import EngineHolder
from qa_engine.api.uploads import remove_stale_temporaries, upload_dir
from qa_engine.api.workers import Workers
from qa_engine.errors import ConfigError
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
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        remove_stale_temporaries(upload_dir(settings), older_than=started)
        holder.start_loading()
        yield
        holder.close()

    # /docs and /redoc load Swagger UI and ReDoc from the installed fastapi-offline package, never a CDN
    app = FastAPIOffline(title="qa-engine", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                         responses=error_responses(400, 401, 403, 404, 413, 422, 503, 504))
    app.state.settings = settings
    app.state.engine_holder = holder
    app.state.metrics = Metrics()
    install_error_handlers(app)
    for module in (health, ask, chat, documents, web):
        app.include_router(module.router)
    web.mount_static(app)
    app.add_middleware(BodyLimitMiddleware, limit_for=lambda scope: body_limit(settings, scope))
    app.add_middleware(SecurityMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def body_limit(settings: Settings, scope: Scope) -> int:
    """Return the largest request body allowed for this request: uploads get `max_upload_bytes`."""
    if scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == "/v1/documents":
        return settings.max_upload_bytes + MULTIPART_SLACK
    return settings.max_body_bytes


def check_workers(settings: Settings) -> None:
    """Return None when `settings.workers` processes can serve this index; raise ConfigError when not."""
    if settings.workers > 1 and settings.backend == "milvus" and (settings.milvus_uri or "").endswith(".db"):
        raise ConfigError(f"--workers {settings.workers} needs a Milvus server: the milvus-lite file "
                          f"QA_MILVUS_URI={settings.milvus_uri} is opened by one process at a time")


def serve(settings: Settings) -> None:
    """Return when the server stops: runs uvicorn on settings.host:port after printing the URL, in
    `settings.workers` processes, each with its own engine on the index (`workers.py`). Raises ConfigError
    when the index cannot be shared by that many processes."""
    check_workers(settings)
    url = f"http://{settings.host}:{settings.port}"
    workers = f", {settings.workers} workers" if settings.workers > 1 else ""
    print(f"qa-engine serving {settings.index_dir} at {url}/{workers}  (API docs: {url}/docs)", flush=True)
    warning = exposure_warning(settings)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    # A factory of picklable parts, so that each worker process (spawned, not forked) builds its own app.
    config = uvicorn.Config(partial(create_app, settings), factory=True, host=settings.host, port=settings.port,
                            workers=settings.workers, log_level="info", access_log=settings.access_log)
    if settings.workers == 1:
        uvicorn.Server(config).run()
    elif sys.platform == "linux":  # the kernel balances SO_REUSEPORT sockets on Linux only
        Workers(config).run()
    else:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
