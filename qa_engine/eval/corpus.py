"""The indexed documents the harness judges against: file name → doc_id, and doc_id → canonical text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _DocInfo(Protocol):
    @property
    def doc_id(self) -> str: ...

    @property
    def source(self) -> str: ...


class _DocText(Protocol):
    @property
    def text(self) -> str: ...


class DocumentSource(Protocol):
    """What `Corpus.from_engine` needs: `qa_engine.Engine` satisfies it."""

    def documents(self) -> Sequence[_DocInfo]: ...

    def document(self, doc_id: str) -> _DocText: ...


@dataclass(frozen=True)
class Corpus:
    """Canonical texts keyed by doc_id, and the doc_id of each source file name."""

    doc_ids: Mapping[str, str]  # source file name -> doc_id
    texts: Mapping[str, str]  # doc_id -> canonical text (what citations index into)

    @classmethod
    def from_engine(cls, engine: DocumentSource) -> Corpus:
        """Return the corpus of every document in an open engine."""
        infos = engine.documents()
        doc_ids = {Path(info.source).name: info.doc_id for info in infos}
        texts = {info.doc_id: engine.document(info.doc_id).text for info in infos}
        return cls(doc_ids=doc_ids, texts=texts)

    def doc_id_of(self, source: str | None) -> str | None:
        """Return the doc_id of a gold `doc` file name (None for None or an unknown file)."""
        return self.doc_ids.get(source) if source else None

    def text_of(self, source: str) -> str:
        """Return the canonical text of a source file name; KeyError when it is not indexed."""
        return self.texts[self.doc_ids[source]]


def as_corpus(documents: Corpus | DocumentSource) -> Corpus:
    """Return `documents` itself when it is a Corpus, else the corpus of an engine-like document source."""
    return documents if isinstance(documents, Corpus) else Corpus.from_engine(documents)
