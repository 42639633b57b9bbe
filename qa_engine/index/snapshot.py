"""Everything one index generation needs at query time, never mutated. No chunk and no document text is held:
the search files answer with positions (the local backend) or chunk ids (Milvus), and the few chunks and texts a
question cites are read from the store by id; what stays resident is one card per document and, for the local
backend, the generation's positions (chunk id and document per position)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.base import Embedder
from qa_engine.index.dense import DenseIndex, LazyDenseIndex
from qa_engine.index.generation import Generation, Manifest
from qa_engine.index.positions import ChunkPositions
from qa_engine.index.sparse import SparseIndex
from qa_engine.index.stored import StoredChunks, StoredDocuments, StoreReader
from qa_engine.models import Chunk, Document, DocumentCard


@dataclass(frozen=True)
class Snapshot:
    """An immutable view: queries in flight keep theirs while a writer switches the engine to a new one."""

    index_dir: Path
    manifest: Manifest
    documents: Mapping[str, Document]  # read from the store on first use
    cards: dict[str, DocumentCard]  # every document, without its text: for listing and filtering
    sparse: SparseIndex
    dense: DenseIndex | LazyDenseIndex | None
    embedder: Embedder | None
    tokenizer: FinanceTokenizer
    stored_chunks: StoredChunks
    positions: ChunkPositions | None = None  # for a backend that searches the generation's own files

    @classmethod
    def on_store(
        cls, index_dir: Path, store_path: Path, generation: Generation, cards: dict[str, DocumentCard],
        embedder: Embedder | None, tokenizer: FinanceTokenizer, positions: ChunkPositions | None = None,
    ) -> Snapshot:
        """A snapshot whose chunks and texts are read from the store at `store_path` by id."""
        stores = StoreReader(store_path)
        return cls(
            index_dir=index_dir,
            manifest=generation.manifest,
            documents=StoredDocuments(stores, cards),
            cards=cards,
            sparse=generation.sparse,
            dense=generation.dense,
            embedder=embedder,
            tokenizer=tokenizer,
            stored_chunks=StoredChunks(stores, cards),
            positions=positions,
        )

    @property
    def chunk_count(self) -> int:
        return self.manifest.chunk_count

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks of this snapshot among `chunk_ids` (ids it does not hold, such as a write not yet
        committed or a document removed since, are left out)."""
        return self.stored_chunks.by_ids(chunk_ids)

    @property
    def by_position(self) -> ChunkPositions:
        """The chunk id and document at each position of the search files; raises ValueError for a snapshot opened
        for a backend that searches by chunk id (it reads none)."""
        if self.positions is None:
            raise ValueError("this snapshot was opened for a backend that searches by chunk id: it has no positions")
        return self.positions

    def mask_for(self, doc_ids: set[str]) -> np.ndarray:
        """0/1 float mask over chunk positions that belong to `doc_ids`."""
        return self.by_position.mask_for(doc_ids)

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
