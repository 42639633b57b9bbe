"""Everything one index generation needs at query time, never mutated: in memory for the local backend; for
a backend that searches elsewhere (Milvus), document cards in memory and chunks and texts read from the store."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.base import Embedder
from qa_engine.index.dense import DenseIndex, LazyDenseIndex
from qa_engine.index.generation import Generation, Manifest, damaged
from qa_engine.index.sparse import SparseIndex
from qa_engine.index.stored import StoredChunks, StoredDocuments
from qa_engine.models import Chunk, Document, DocumentCard


@dataclass(frozen=True)
class Snapshot:
    """An immutable view: queries in flight keep theirs while a writer switches the engine to a new one."""

    index_dir: Path
    manifest: Manifest
    documents: Mapping[str, Document]
    cards: dict[str, DocumentCard]  # every document, without its text: for listing and filtering
    chunks: Sequence[Chunk]  # in generation order; empty when they are read from the store (`stored_chunks`)
    sparse: SparseIndex
    dense: DenseIndex | LazyDenseIndex | None
    embedder: Embedder | None
    tokenizer: FinanceTokenizer
    positions_by_doc: dict[str, np.ndarray] = field(default_factory=dict)
    stored_chunks: StoredChunks | None = None

    @classmethod
    def assemble(
        cls, index_dir: Path, generation: Generation, documents: dict[str, Document], chunks_by_id: dict[str, Chunk],
        embedder: Embedder | None, tokenizer: FinanceTokenizer,
    ) -> Snapshot:
        try:
            chunks = [chunks_by_id[cid] for cid in generation.chunk_ids]
        except KeyError as exc:  # the generation lists a chunk the store does not hold
            raise damaged(index_dir / generation.manifest.generation, exc) from exc
        by_doc: dict[str, list[int]] = {}
        for pos, chunk in enumerate(chunks):
            by_doc.setdefault(chunk.doc_id, []).append(pos)
        cards = {d: DocumentCard.of(doc, len(by_doc.get(d, ()))) for d, doc in documents.items()}
        return cls(
            index_dir=index_dir,
            manifest=generation.manifest,
            documents=documents,
            cards=cards,
            chunks=chunks,
            sparse=generation.sparse,
            dense=generation.dense,
            embedder=embedder,
            tokenizer=tokenizer,
            positions_by_doc={d: np.array(p, dtype=np.int64) for d, p in by_doc.items()},
        )

    @classmethod
    def on_store(
        cls, index_dir: Path, store_path: Path, generation: Generation, cards: dict[str, DocumentCard],
        embedder: Embedder | None, tokenizer: FinanceTokenizer,
    ) -> Snapshot:
        """A snapshot that holds no chunk and no text: both are read from the store at `store_path` by id."""
        return cls(
            index_dir=index_dir,
            manifest=generation.manifest,
            documents=StoredDocuments(store_path, cards),
            cards=cards,
            chunks=(),
            sparse=generation.sparse,
            dense=generation.dense,
            embedder=embedder,
            tokenizer=tokenizer,
            stored_chunks=StoredChunks(store_path, cards),
        )

    @property
    def chunk_count(self) -> int:
        return self.manifest.chunk_count

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks of this snapshot among `chunk_ids` (ids it does not hold, such as a write not yet
        committed, are left out)."""
        if self.stored_chunks is not None:
            return self.stored_chunks.by_ids(chunk_ids)
        positions = self.position_by_chunk_id
        return {cid: self.chunks[positions[cid]] for cid in chunk_ids if cid in positions}

    def mask_for(self, doc_ids: set[str]) -> np.ndarray:
        """0/1 float mask over chunk positions that belong to `doc_ids`."""
        mask = np.zeros(len(self.chunks), dtype=np.float32)
        for doc_id in doc_ids:
            positions = self.positions_by_doc.get(doc_id)
            if positions is not None:
                mask[positions] = 1.0
        return mask

    @cached_property
    def position_by_chunk_id(self) -> dict[str, int]:
        """Chunk id → position, for backends that answer with ids (computed on first use)."""
        return {chunk.chunk_id: pos for pos, chunk in enumerate(self.chunks)}

    @cached_property
    def term_idf(self) -> TermIdf:
        """Inverse chunk frequency of every indexed term, read from the BM25 index's document frequencies."""
        return TermIdf(self.sparse, max(1, self.chunk_count))

    def idf(self, term: str) -> float:
        """Rare terms weigh more; a term the corpus never uses gets the largest weight."""
        return self.term_idf.get(term, math.log(1 + max(1, self.chunk_count)))


class TermIdf(Mapping[str, float]):
    """term → log(1 + chunks / chunks holding it), for the terms the corpus holds; computed per lookup, so opening
    an index does not count every chunk's terms."""

    def __init__(self, sparse: SparseIndex, chunk_count: int) -> None:
        self._sparse, self._n = sparse, chunk_count

    def __getitem__(self, term: str) -> float:
        df = self._sparse.document_frequency(term)
        if not df:
            raise KeyError(term)
        return math.log(1 + self._n / df)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._sparse.document_frequency(term) > 0

    def __iter__(self) -> Iterator[str]:
        return (t for t in self._sparse.vocab if self._sparse.document_frequency(t) > 0)

    def __len__(self) -> int:
        return sum(1 for _ in self)
