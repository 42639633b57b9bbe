"""Return a question (or search query) fit to answer: the one check the engine and the HTTP API share."""

from __future__ import annotations

from qa_engine.errors import InvalidQueryError


def check_question(text: str, max_chars: int, what: str = "question") -> str:
    """Return `text` stripped; raise InvalidQueryError when it is empty or longer than `max_chars`."""
    stripped = text.strip()
    if not stripped:
        raise InvalidQueryError(f"the {what} is empty")
    if len(stripped) > max_chars:
        raise InvalidQueryError(
            f"the {what} has {len(stripped)} characters; the limit is max_question_chars={max_chars}"
            " (QA_MAX_QUESTION_CHARS)"
        )
    return stripped
