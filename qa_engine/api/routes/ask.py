"""POST /v1/ask and POST /v1/search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from qa_engine.api.deps import (
    EngineDep,
    MetricsDep,
    SettingsDep,
    check_question,
    is_quick_search,
    require_api_key,
    run_engine,
    run_engine_inline,
)
from qa_engine.api.schemas import AskRequest, SearchRequest
from qa_engine.api.serialize import json_response

router = APIRouter(prefix="/v1", tags=["qa"], dependencies=[Depends(require_api_key)])


@router.post("/ask")
async def ask(
    body: AskRequest, request: Request, engine: EngineDep, settings: SettingsDep, metrics: MetricsDep
) -> dict[str, Any]:
    """Return the Answer JSON (`answer.to_dict()`): the answer span, its sentence, citations and hits."""
    question = check_question(body.question, settings)
    kwargs: dict[str, Any] = {"filters": body.filters.to_filters() if body.filters else None}
    if body.k is not None:
        kwargs["k"] = body.k
    answer = await run_engine(request, "ask", engine.ask, question, history=body.turns(), **kwargs)
    metrics.asks.labels("ask", str(answer.found).lower()).inc()
    result: dict[str, Any] = answer.to_dict()
    return result


@router.post("/search", response_model=dict[str, Any])
async def search(
    body: SearchRequest, request: Request, engine: EngineDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    """Return `{"query", "hits": [...]}` for a retrieval-only query."""
    query = check_question(body.query, settings, what="query")
    kwargs: dict[str, Any] = {"filters": body.filters.to_filters() if body.filters else None, "mode": body.mode}
    if body.k is not None:
        kwargs["k"] = body.k
    if is_quick_search(settings, body.mode):
        hits = run_engine_inline(request, "search", engine.search, query, **kwargs)
    else:
        hits = await run_engine(request, "search", engine.search, query, **kwargs)
    metrics.searches.inc()
    return json_response({"query": query, "hits": hits})
