"""FastAPI dependencies: the app's settings, engine, metrics, API-key checks and the engine threadpool.

The dependencies are `async def` even where they only read an attribute: FastAPI runs a plain `def`
dependency in the threadpool, a thread hand-off per dependency and request."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa_engine.api.errors import ApiError
from qa_engine.api.metrics import Metrics
from qa_engine.api.state import EngineHolder
from qa_engine.question import check_question as check_text
from qa_engine.settings import Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine
else:  # FastAPI evaluates annotations at runtime; the engine module is only imported when first used
    Engine = Any

T = TypeVar("T")

bearer = HTTPBearer(auto_error=False, description="The server's API key (settings.api_key), if one is set")


async def get_settings(request: Request) -> Settings:
    """Return the Settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> EngineHolder:
    """Return the app's EngineHolder."""
    holder: EngineHolder = request.app.state.engine_holder
    return holder


async def get_metrics(request: Request) -> Metrics:
    """Return the app's Metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_engine(holder: Annotated[EngineHolder, Depends(get_holder)]) -> Engine:
    """Return the open engine (opening the index in a worker thread on first use; 503 when none)."""
    if holder.loaded:
        return holder.get()
    return await anyio.to_thread.run_sync(holder.get)


def check_api_key(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Return None when the request may proceed; raise 401 when a key is set and not presented."""
    expected = settings.api_key
    if not expected:
        return
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401, "unauthorized", "missing or wrong API key: send `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Return None when `settings.api_key` is unset or the request carries it (else 401)."""
    check_api_key(settings, credentials)


async def require_document_key(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Return None unless documents are protected (`protect_documents`) and the key is missing (401)."""
    if settings.protect_documents:
        check_api_key(settings, credentials)


async def run_engine(
    request: Request, op: str, func: Callable[..., T], *args: object, **kwargs: object
) -> T:
    """Return `func(*args, **kwargs)` run in a worker thread, bounded by `settings.request_timeout_s` (504)."""
    settings: Settings = request.app.state.settings
    started = time.perf_counter()
    try:
        with anyio.fail_after(settings.request_timeout_s):
            result = await anyio.to_thread.run_sync(partial(func, *args, **kwargs), abandon_on_cancel=True)
    except TimeoutError as exc:
        raise ApiError(
            504, "timeout", f"{op} took longer than request_timeout_s={settings.request_timeout_s}s"
        ) from exc
    request.app.state.metrics.engine_latency.labels(op).observe(time.perf_counter() - started)
    return result


def is_quick_search(settings: Settings, mode: str | None) -> bool:
    """Return True when a search is a local BM25 lookup without a reranker: about a millisecond of CPU, with no
    model to load and no server to wait for. Handing it to a worker thread costs more than the search itself
    (bench/README.md, load_bench), so it runs on the event loop, where request_timeout_s cannot interrupt it."""
    return settings.backend == "local" and (mode or settings.retrieval_mode) == "bm25" and not settings.reranker


def run_engine_inline(request: Request, op: str, func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Return `func(*args, **kwargs)` called on the event loop, timed like `run_engine`: for quick calls only."""
    started = time.perf_counter()
    result = func(*args, **kwargs)
    request.app.state.metrics.engine_latency.labels(op).observe(time.perf_counter() - started)
    return result


async def run_engine_write(request: Request, op: str, func: Callable[..., T], *args: object) -> T:
    """Return `func(*args)` run in a worker thread without a timeout: an index write is never abandoned."""
    started = time.perf_counter()
    result = await anyio.to_thread.run_sync(partial(func, *args))
    request.app.state.metrics.engine_latency.labels(op).observe(time.perf_counter() - started)
    return result


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
HolderDep = Annotated[EngineHolder, Depends(get_holder)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def check_question(text: str, settings: Settings, what: str = "question") -> str:
    """Return `text` stripped; raise InvalidQueryError when empty or over `settings.max_question_chars`."""
    return check_text(text, settings.max_question_chars, what)
