"""Render an Answer for people with the templates in prompts/ (zh or en)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from qa_engine.errors import ConfigError
from qa_engine.models import Answer

REPO_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
SNIPPET_CHARS = 80


def prompts_dir(override: Path | None = None) -> Path:
    """Return the answer templates' folder: `override` (QA_PROMPTS_DIR) when set, else the repository's."""
    if override is not None:
        return override
    if not REPO_PROMPTS.is_dir():
        raise ConfigError(f"answer templates not found in {REPO_PROMPTS}: set QA_PROMPTS_DIR to a prompts/ folder")
    return REPO_PROMPTS


@lru_cache(maxsize=32)
def _template(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8").rstrip("\n")


def render_answer(answer: Answer, lang: str | None = None, templates: Path | None = None) -> str:
    """The answer with numbered citations, or the not-found message with the closest passages; `templates` is
    settings.prompts_dir."""
    lang = "en" if (lang or answer.lang) == "en" else "zh"
    folder = prompts_dir(templates)
    if answer.text is None:
        template = _template(folder, f"not_found_{lang}.txt")
        if not answer.hits:  # an empty index or nothing near the question: the message without its passages header
            return template.split("\n\n", 1)[0].format(passages="").strip()
        passages = "\n".join(_passage(folder, h.title, h.page, h.text) for h in answer.hits[:3])
        return template.format(passages=passages)
    citations = "\n".join(
        _template(folder, f"citation_{lang}.txt").format(
            n=i, title=c.title, page=c.page, section=c.section or "-", quote=c.quote
        )
        for i, c in enumerate(answer.citations, start=1)
    )
    return _template(folder, f"answer_{lang}.txt").format(answer=highlighted_sentence(answer), citations=citations)


def highlighted_sentence(answer: Answer) -> str:
    """The answer sentence with the answer span marked 【…】 and the citation number appended."""
    text = answer.text or ""
    sentence = answer.sentence or text
    local = _answer_offset(answer)
    if local is None or text == sentence:
        marked = f"【{sentence}】"
    else:
        marked = f"{sentence[:local]}【{text}】{sentence[local + len(text):]}"
    return f"{marked} [1]" if answer.citations else marked


def _answer_offset(answer: Answer) -> int | None:
    """Where the answer span starts inside its sentence (the first citation quotes that sentence)."""
    if answer.answer_start is None or not answer.citations:
        return None
    local = answer.answer_start - answer.citations[0].start
    return local if 0 <= local <= len(answer.sentence or "") else None


def _passage(folder: Path, title: str, page: int, text: str) -> str:
    snippet = " ".join(text.split())
    snippet = snippet if len(snippet) <= SNIPPET_CHARS else snippet[:SNIPPET_CHARS] + "…"
    return _template(folder, "passage.txt").format(title=title, page=page, snippet=snippet)
