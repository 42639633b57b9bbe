"""Query analysis for retrieval: language, English→Chinese expansion, the companies a question names."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from qa_engine.models import DocumentCard, Filters
from qa_engine.retrieve.english_names import english_aliases
from qa_engine.retrieve.glossary import (
    Match,
    PhraseTable,
    expand_shorthand,
    is_english,
    translate_to_chinese,
    uncovered_words,
)


@dataclass(frozen=True)
class QueryPlan:
    original: str
    lang: str
    search_text: str  # the original plus its Chinese expansion
    named_docs: frozenset[str]  # documents of the companies the question names
    reader_text: str  # what the readers analyse: search_text without the general dictionary's terms


def plan_query(question: str, glossary: PhraseTable, companies: CompanyIndex,
               synonyms: PhraseTable | None = None, english_words: Callable[[str], list[str]] | None = None) -> QueryPlan:
    """`english_words(word)`: Chinese terms for an English word the glossary does not cover, searched for but not
    read: the readers' features and training saw the glossary's terms alone."""
    lang = "en" if is_english(question) else "zh"
    found = glossary.find(question) if lang == "en" else []
    reader_text = question if lang == "zh" else f"{question} {translate_to_chinese(question, found)}"
    if synonyms is not None:
        reader_text = f"{reader_text} {expand_shorthand(reader_text, synonyms)}".rstrip()
    extra = _dictionary_terms(question, found, english_words) if lang == "en" else []
    search_text = " ".join([reader_text, *extra])
    return QueryPlan(question, lang, search_text, frozenset(companies.docs_named_in(question)), reader_text)


def _dictionary_terms(question: str, found: Sequence[Match], english_words: Callable[[str], list[str]] | None) -> list[str]:
    if english_words is None:
        return []
    return list(dict.fromkeys(term for word in uncovered_words(question, found) for term in english_words(word)))


class CompanyIndex:
    """Resolves names, short names, stock codes and English aliases to document ids."""

    def __init__(self, documents: Mapping[str, DocumentCard], aliases: PhraseTable) -> None:
        table: dict[str, set[str]] = {}
        for doc in documents.values():
            meta = doc.meta
            for name in (meta.company, meta.short_name, meta.stock_code, meta.english_name):
                if name and len(name) >= 2:
                    table.setdefault(name.lower(), set()).add(doc.doc_id)
        self._add_english_short_forms(documents, table)
        for alias, targets in aliases.entries.items():
            for target in targets:
                table.setdefault(alias, set()).update(table.get(target.lower(), set()))
        self._table = PhraseTable({k: tuple(sorted(v)) for k, v in table.items() if v})

    @staticmethod
    def _add_english_short_forms(documents: Mapping[str, DocumentCard], table: dict[str, set[str]]) -> None:
        short_forms = english_aliases({doc.meta.english_name for doc in documents.values()})
        for doc in documents.values():
            for alias in short_forms.get(doc.meta.english_name, ()):
                table.setdefault(alias, set()).add(doc.doc_id)


    def docs_named_in(self, text: str) -> set[str]:
        return {doc_id for _, doc_ids in self._table.find(text) for doc_id in doc_ids}

    def company_terms(self) -> list[str]:
        """Every known Chinese name and short name (for the tokenizer's dictionary)."""
        return [k for k in self._table.entries if re.search(r"[\u4e00-\u9fff]", k)]


def allowed_docs(documents: Mapping[str, DocumentCard], filters: Filters | None, companies: CompanyIndex) -> set[str] | None:
    """Document ids that pass `filters`, or None when there is nothing to filter on."""
    if filters is None or filters.is_empty():
        return None
    keep = set(documents)
    if filters.doc_ids:
        keep &= set(filters.doc_ids)
    if filters.company:
        keep &= companies.docs_named_in(filters.company) | _company_substring(documents, filters.company)
    if filters.doc_type:
        keep &= {d for d, doc in documents.items() if filters.doc_type in doc.meta.doc_type}
    if filters.date_from or filters.date_to:
        keep &= {d for d, doc in documents.items() if _in_range(doc.meta.date, filters.date_from, filters.date_to)}
    return keep


def _company_substring(documents: Mapping[str, DocumentCard], name: str) -> set[str]:
    lowered = name.lower()
    return {
        d for d, doc in documents.items()
        if lowered in doc.meta.company.lower() or lowered == doc.meta.stock_code or lowered in doc.meta.short_name.lower()
    }


def _in_range(value: str, start: date | None, end: date | None) -> bool:
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value or "")
    if not match:
        return False
    year, month, day = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
    when = date(year, month, day)
    return (start is None or when >= start) and (end is None or when <= end)
