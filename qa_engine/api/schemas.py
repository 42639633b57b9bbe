"""Request bodies (pydantic) for the HTTP API; responses reuse the engine's own `to_dict` shapes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa_engine.errors import InvalidQueryError
from qa_engine.models import Filters, Turn

MAX_K = 50


class FiltersIn(BaseModel):
    """Metadata filters; dates may be `yyyy`, `yyyy-mm` or `yyyy-mm-dd`."""

    model_config = ConfigDict(extra="forbid")

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


class TurnIn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    """Body of POST /v1/ask."""

    question: str
    k: int | None = Field(None, ge=1, le=MAX_K)
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(default_factory=list, max_length=50)

    def turns(self) -> list[Turn] | None:
        """Return the history as engine Turns, or None when there is none."""
        return [Turn(role=t.role, content=t.content) for t in self.history] or None


class SearchRequest(BaseModel):
    """Body of POST /v1/search."""

    query: str
    k: int | None = Field(None, ge=1, le=MAX_K)
    filters: FiltersIn | None = None
    mode: Literal["bm25", "dense", "hybrid"] | None = None


class ChatMessage(BaseModel):
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


class ChatCompletionRequest(BaseModel):
    """Body of POST /v1/chat/completions; OpenAI fields we do not use (temperature, ...) are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = "qa-engine"
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    k: int | None = Field(None, ge=1, le=MAX_K)
    filters: FiltersIn | None = None
