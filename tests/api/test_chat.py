"""The OpenAI-compatible endpoints, driven by the official `openai` client and by raw SSE parsing."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from qa_engine import Engine
from qa_engine.api.openai_compat import count_tokens
from qa_engine.api.server import BackgroundServer
from qa_engine.render import render_answer

from .conftest import WHY_QUESTION
from .test_health import assert_error

pytestmark = pytest.mark.timeout(120)


@pytest.fixture()
def oai(server: BackgroundServer) -> openai.OpenAI:
    """Return an OpenAI client pointed at the test server."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)


def user(content: str) -> dict[str, str]:
    """Return a user chat message."""
    return {"role": "user", "content": content}


def test_models_list(oai: openai.OpenAI) -> None:
    assert [m.id for m in oai.models.list().data] == ["qa-engine"]
    assert oai.models.retrieve("qa-engine").id == "qa-engine"


def test_chat_completion_renders_cited_answer(oai: openai.OpenAI, engine: Engine) -> None:
    completion = oai.chat.completions.create(model="qa-engine", messages=[user(WHY_QUESTION)])
    assert completion.object == "chat.completion" and completion.model == "qa-engine"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    answer = engine.ask(WHY_QUESTION)
    assert choice.message.content == render_answer(answer, answer.lang)
    assert "产品价格进一步下降" in choice.message.content
    citations = (completion.model_extra or {})["citations"]
    assert citations == [c.to_dict() for c in answer.citations]


def test_streaming_assembles_to_the_same_content(oai: openai.OpenAI) -> None:
    messages = [user(WHY_QUESTION)]
    full = oai.chat.completions.create(model="qa-engine", messages=messages)
    chunks = list(oai.chat.completions.create(model="qa-engine", messages=messages, stream=True))
    assert len(chunks) >= 3
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed == full.choices[0].message.content
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert (final.model_extra or {})["citations"] == (full.model_extra or {})["citations"]


def test_raw_sse_wire_format(server: BackgroundServer) -> None:
    body = {"model": "qa-engine", "stream": True, "messages": [user(WHY_QUESTION)]}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode("utf-8")
    events = raw.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: ") for e in events[:-1])
    assert payloads[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert isinstance(payloads[-1]["citations"], list) and payloads[-1]["citations"]


def test_follow_up_through_chat_messages(oai: openai.OpenAI) -> None:
    first = oai.chat.completions.create(model="qa-engine", messages=[user(WHY_QUESTION)])
    messages = [
        {"role": "system", "content": "Answer from the filings."},
        user(WHY_QUESTION),
        {"role": "assistant", "content": first.choices[0].message.content},
        user("那2023年呢？"),
    ]
    follow_up = oai.chat.completions.create(model="qa-engine", messages=messages)
    citations = (follow_up.model_extra or {})["citations"]
    # an answer quotes 有研新材 on 2023, or the reader abstains (the neural reader does here)
    assert {c["company"] for c in citations} <= {"有研新材"} and all("2023" in c["quote"] for c in citations)
    alone = oai.chat.completions.create(model="qa-engine", messages=[user("那2023年呢？")])
    assert follow_up.choices[0].message.content != alone.choices[0].message.content


def test_content_parts_are_accepted(oai: openai.OpenAI) -> None:
    parts = [{"type": "text", "text": WHY_QUESTION}]
    completion = oai.chat.completions.create(model="qa-engine", messages=[{"role": "user", "content": parts}])
    assert "产品价格进一步下降" in (completion.choices[0].message.content or "")


def test_chat_errors_reach_the_client(oai: openai.OpenAI, server: BackgroundServer) -> None:
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="qa-engine", messages=[{"role": "system", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="qa-engine", messages=[user("")], stream=True)
    assert_error(httpx.post(f"{server.url}/v1/chat/completions", json={"messages": []}), 422, "validation_error")


def test_completion_reports_token_usage(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="qa-engine", messages=[user(WHY_QUESTION)])
    content = completion.choices[0].message.content or ""
    usage = completion.usage
    assert usage is not None, "OpenAI clients and proxies meter by `usage`"
    assert usage.prompt_tokens == count_tokens(WHY_QUESTION) > 10
    assert usage.completion_tokens == count_tokens(content) > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streamed_usage_when_the_client_asks_for_it(oai: openai.OpenAI) -> None:
    messages = [user(WHY_QUESTION)]
    plain = list(oai.chat.completions.create(model="qa-engine", messages=messages, stream=True))
    assert all(c.usage is None for c in plain)
    chunks = list(oai.chat.completions.create(model="qa-engine", messages=messages, stream=True,
                                              stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 20
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_count_tokens_counts_characters_words_and_numbers() -> None:
    assert count_tokens("毛利率为负") == 5
    assert count_tokens("gross margin 2024") == 3
    assert count_tokens("") == 0


def test_english_follow_up_is_rendered_in_english(oai: openai.OpenAI) -> None:
    question = "Why was GRINM's rare-earth gross margin negative in 2024?"
    first = oai.chat.completions.create(model="qa-engine", messages=[user(question)])
    messages = [user(question), {"role": "assistant", "content": first.choices[0].message.content},
                user("And in 2023?")]
    content = oai.chat.completions.create(model="qa-engine", messages=messages).choices[0].message.content or ""
    assert "Sources:" in content or "Not found" in content, content
    assert "依据" not in content
