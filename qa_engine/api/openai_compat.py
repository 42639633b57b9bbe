"""OpenAI chat-completions wire format: messages to (question, history), answers to completions and SSE chunks."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from qa_engine.api.schemas import ChatMessage
from qa_engine.errors import InvalidQueryError
from qa_engine.models import Turn

MODEL_ID = "qa-engine"
STREAM_PIECE_CHARS = 24
_PIECE = re.compile(r"[^。！？；!?;\n]*[。！？；!?;\n]?")
# What OpenAI-style tokenizers roughly make one token of: a CJK character, a Latin word, a run of digits, a symbol
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z]+|\d+|[^\sA-Za-z\d\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """Return (question, history): the last user message, and the user/assistant turns before it."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        raise InvalidQueryError("messages must contain a user message (the question)")
    history = [
        Turn(role=m.role, content=m.text())
        for m in messages[:last_user]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[last_user].text(), history


def completion_id() -> str:
    """Return a fresh OpenAI-style completion id."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def count_tokens(text: str) -> int:
    """Return an estimate of the tokens in `text`: one per CJK character, Latin word, run of digits or symbol (no
    model reads them, so there is no exact count; clients and proxies that meter by `usage` need one)."""
    return len(_TOKEN.findall(text))


def usage(messages: list[ChatMessage], content: str) -> dict[str, int]:
    """Return the OpenAI `usage` object for a completion of `messages` whose answer is `content`."""
    prompt = sum(count_tokens(m.text()) for m in messages)
    completion = count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_completion(content: str, citations: list[dict[str, Any]], model: str = MODEL_ID,
                    token_usage: dict[str, int] | None = None) -> dict[str, Any]:
    """Return a `chat.completion` object whose assistant message is `content`, plus our `citations`."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": token_usage,
        "citations": citations,
    }


def stream_pieces(text: str, max_chars: int = STREAM_PIECE_CHARS) -> list[str]:
    """Return `text` cut at sentence punctuation into pieces of at most `max_chars`; they join back to `text`."""
    pieces: list[str] = []
    for part in _PIECE.findall(text):
        pieces.extend(part[i : i + max_chars] for i in range(0, len(part), max_chars))
    return pieces


def chunk_events(content: str, citations: list[dict[str, Any]], model: str = MODEL_ID,
                 token_usage: dict[str, int] | None = None) -> Iterator[str]:
    """Yield the SSE events of a streamed completion: role, content deltas, a final stop chunk, then (when
    `token_usage` is given: `stream_options.include_usage`) a chunk with no choices and the usage, `[DONE]`."""
    base = {"id": completion_id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def data(body: dict[str, Any]) -> str:
        return f"data: {json.dumps({**base, **body}, ensure_ascii=False)}\n\n"

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return data({"choices": [choice], **extra})

    yield event({"role": "assistant", "content": ""})
    for piece in stream_pieces(content):
        yield event({"content": piece})
    yield event({}, "stop", citations=citations)
    if token_usage is not None:
        yield data({"choices": [], "usage": token_usage})
    yield "data: [DONE]\n\n"


def models_list() -> dict[str, Any]:
    """Return the `/v1/models` list with our single model."""
    return {"object": "list", "data": [model_card()]}


def model_card() -> dict[str, Any]:
    """Return the OpenAI model object for `qa-engine`."""
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa-engine"}
