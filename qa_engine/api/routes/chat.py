"""OpenAI-compatible POST /v1/chat/completions and GET /v1/models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from qa_engine.api import openai_compat as oai
from qa_engine.api.deps import EngineDep, MetricsDep, SettingsDep, check_question, require_api_key, run_engine
from qa_engine.api.errors import ApiError
from qa_engine.api.schemas import ChatCompletionRequest
from qa_engine.render import render_answer

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_api_key)])


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, engine: EngineDep, settings: SettingsDep, metrics: MetricsDep
) -> dict[str, Any] | StreamingResponse:
    """Return a chat.completion (or an SSE stream of chunks) whose content is the rendered, cited answer."""
    question, history = oai.split_messages(body.messages)
    question = check_question(question, settings)
    kwargs: dict[str, Any] = {"filters": body.filters.to_filters() if body.filters else None}
    if body.k is not None:
        kwargs["k"] = body.k
    answer = await run_engine(request, "ask", engine.ask, question, history=history or None, **kwargs)
    metrics.asks.labels("chat", str(answer.found).lower()).inc()
    content = render_answer(answer, answer.lang, settings.prompts_dir)
    citations = [c.to_dict() for c in answer.citations]
    token_usage = oai.usage(body.messages, content)
    if body.stream:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        options = (body.model_extra or {}).get("stream_options") or {}
        include = token_usage if isinstance(options, dict) and options.get("include_usage") is True else None
        events = oai.chunk_events(content, citations, token_usage=include)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    return oai.chat_completion(content, citations, token_usage=token_usage)


@router.get("/models")
async def list_models() -> dict[str, Any]:
    """Return the model list (one model: `qa-engine`)."""
    return oai.models_list()


@router.get("/models/{model_id}")
async def get_model(model_id: str) -> dict[str, Any]:
    """Return the model object for `qa-engine` (404 for any other id)."""
    if model_id != oai.MODEL_ID:
        raise ApiError(404, "model_not_found", f"unknown model {model_id!r}; this server serves {oai.MODEL_ID!r}")
    return oai.model_card()
