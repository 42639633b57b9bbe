"""Request bodies (pydantic) for the HTTP API, the error body, and the error responses declared in OpenAPI;
successful responses reuse the engine's own `to_dict` shapes.

Request bodies refuse unknown fields (a misspelt filter must not silently widen a search), take numbers and
booleans only as JSON numbers and booleans (`"k": "5"` and `"k": true` are errors), and refuse text that is not
valid Unicode (a lone surrogate such as `\\ud800` cannot be encoded in a UTF-8 answer).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qa_engine.errors import InvalidQueryError
from qa_engine.models import Filters, Turn
from qa_engine.settings import RetrievalMode

MAX_K = 50


def lone_surrogate(value: object) -> str | None:
    """Return the first string (key or value) inside `value` that is not valid Unicode, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value
        return None
    if isinstance(value, dict):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        return None
    return next((bad for bad in map(lone_surrogate, items) if bad is not None), None)


class RequestBody(BaseModel):
    """Base of every JSON request body: unknown fields are errors, text must be valid Unicode."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        if lone_surrogate(data) is not None:
            raise ValueError("text holds a lone surrogate (such as \\ud800): send valid Unicode")
        return data


class FiltersIn(RequestBody):
    """Metadata filters; dates may be `yyyy`, `yyyy-mm` or `yyyy-mm-dd`."""

    company: str | None = None
    doc_type: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    doc_ids: list[str] = Field(default_factory=list)
    doc_id: str | None = None

    def to_filters(self) -> Filters | None:
        """Return engine Filters, or None when nothing is set (400 on an unparsable date)."""
        try:
            return Filters.from_dict(self.model_dump(exclude_none=True, exclude_defaults=True))
        except ValueError as exc:
            raise InvalidQueryError(f"bad date in filters: {exc}") from exc


class TurnIn(RequestBody):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(RequestBody):
    """Body of POST /v1/ask."""

    question: str
    k: int | None = Field(None, ge=1, le=MAX_K, strict=True)
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(default_factory=list, max_length=50)

    def turns(self) -> list[Turn] | None:
        """Return the history as engine Turns, or None when there is none."""
        return [Turn(role=t.role, content=t.content) for t in self.history] or None


class SearchRequest(RequestBody):
    """Body of POST /v1/search."""

    query: str
    k: int | None = Field(None, ge=1, le=MAX_K, strict=True)
    filters: FiltersIn | None = None
    mode: RetrievalMode | None = None


class ChatMessage(RequestBody):
    """An OpenAI chat message; `content` may be a string or a list of `{type: "text", text}` parts."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Return the message's text content (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(str(p.get("text", "")) for p in parts if p.get("type", "text") == "text")


class ChatCompletionRequest(RequestBody):
    """Body of POST /v1/chat/completions; OpenAI fields we do not use (temperature, ...) are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = "qa-engine"
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = Field(False, strict=True)
    k: int | None = Field(None, ge=1, le=MAX_K, strict=True)
    filters: FiltersIn | None = None


class ErrorDetail(BaseModel):
    """What went wrong: a stable `code` to branch on and a message for people."""

    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


ERROR_MEANINGS = {
    400: "bad request: an empty or oversized question, a bad filter, a Host header this server does not serve",
    401: "the server has an API key and the request did not carry it",
    403: "a write (POST, DELETE) from a page of another origin",
    404: "unknown document, model or route",
    409: "the document is indexed with other content (send replace=true), or another writer holds the index",
    413: "request body or upload over the limit",
    415: "upload of a file type that cannot be indexed",
    422: "the request does not match the schema, or the file could not be read (a limit is named)",
    503: "no index yet, or the index is damaged (the message names the fix)",
    504: "the engine took longer than request_timeout_s",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI `responses` entries for these error statuses, all with the ErrorBody shape."""
    return {status: {"model": ErrorBody, "description": ERROR_MEANINGS[status]} for status in statuses}
