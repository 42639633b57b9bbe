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


def chat_completion(content: str, citations: list[dict[str, Any]], model: str = MODEL_ID) -> dict[str, Any]:
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
        "citations": citations,
    }


def stream_pieces(text: str, max_chars: int = STREAM_PIECE_CHARS) -> list[str]:
    """Return `text` cut at sentence punctuation into pieces of at most `max_chars`; they join back to `text`."""
    pieces: list[str] = []
    for part in _PIECE.findall(text):
        pieces.extend(part[i : i + max_chars] for i in range(0, len(part), max_chars))
    return pieces


def chunk_events(content: str, citations: list[dict[str, Any]], model: str = MODEL_ID) -> Iterator[str]:
    """Yield the SSE events of a streamed completion: role, content deltas, a final stop chunk, `[DONE]`."""
    base = {"id": completion_id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return f"data: {json.dumps({**base, 'choices': [choice], **extra}, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in stream_pieces(content):
        yield event({"content": piece})
    yield event({}, "stop", citations=citations)
    yield "data: [DONE]\n\n"


def models_list() -> dict[str, Any]:
    """Return the `/v1/models` list with our single model."""
    return {"object": "list", "data": [model_card()]}


def model_card() -> dict[str, Any]:
    """Return the OpenAI model object for `qa-engine`."""
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa-engine"}
