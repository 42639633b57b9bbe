"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from qa_engine.api.deps import HolderDep, MetricsDep, SettingsDep, require_api_key
from qa_engine.api.errors import scrub_paths, server_folders, status_for
from qa_engine.errors import QAEngineError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(settings: SettingsDep) -> dict[str, Any]:
    """Return 200 while the process is up, and whether the API needs a key (the web page reads this)."""
    return {"status": "ok", "auth_required": bool(settings.api_key)}


@router.get("/readyz", responses={503: {"description": "no index loaded, still warming up, or damaged"}})
async def readyz(request: Request, holder: HolderDep) -> JSONResponse:
    """Return 200 when the index is loaded and warmed up (opening it if it has appeared since), else 503."""
    if holder.loading:
        return JSONResponse({"status": "loading"}, 503)
    try:
        engine = holder.get() if holder.loaded else await anyio.to_thread.run_sync(holder.get)
    except (QAEngineError, OSError) as exc:
        _, code, message = status_for(exc)
        error = {"code": code, "message": scrub_paths(message, server_folders(request))}
        return JSONResponse({"status": "not_ready", "error": error}, 503)
    documents = await anyio.to_thread.run_sync(engine.documents)
    return JSONResponse({"status": "ready", "documents": len(documents)})


@router.get("/metrics", dependencies=[Depends(require_api_key)], response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Return the Prometheus exposition text."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
