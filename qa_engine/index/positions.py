"""Which chunk sits at each position of a generation: what the local backend holds instead of the chunks.

BM25 and FAISS answer with positions. Two flat arrays map a position to its chunk id and its document (about 20
bytes a chunk, against the several hundred a `Chunk` object and its text take), so an open engine keeps no object
per chunk; the few chunks a question cites are read from the store by id.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.lib.npyio import NpzFile

POSITIONS_FILE = "positions.npz"


@dataclass(frozen=True)
class ChunkPositions:
    """Chunk ids and documents by position, as arrays; `doc_ids[doc_of[pos]]` is the document at `pos`."""

    chunk_ids: np.ndarray  # fixed-width UTF-8 bytes, one per position
    doc_of: np.ndarray  # int32 index into doc_ids, one per position
    doc_ids: tuple[str, ...]

    @classmethod
    def of(cls, chunk_ids: Sequence[str], doc_id_of_chunk: Sequence[str]) -> ChunkPositions:
        """The positions of chunks listed in generation order, given each chunk's document."""
        doc_ids = tuple(dict.fromkeys(doc_id_of_chunk))
        index = {doc_id: i for i, doc_id in enumerate(doc_ids)}
        return cls(
            chunk_ids=np.array([cid.encode() for cid in chunk_ids], dtype=bytes),
            doc_of=np.fromiter((index[d] for d in doc_id_of_chunk), dtype=np.int32, count=len(doc_id_of_chunk)),
            doc_ids=doc_ids,
        )

    @classmethod
    def of_ids(cls, chunk_ids: Sequence[str], doc_of_chunk: Mapping[str, str]) -> ChunkPositions:
        """The positions of a generation written before its positions file: each id's document looked up
        (raises KeyError for an id `doc_of_chunk` lacks)."""
        return cls.of(chunk_ids, [doc_of_chunk[cid] for cid in chunk_ids])

    def save(self, folder: Path) -> None:
        np.savez(folder / POSITIONS_FILE, chunk_ids=self.chunk_ids, doc_of=self.doc_of,
                 doc_ids=np.array([d.encode() for d in self.doc_ids], dtype=bytes))

    @classmethod
    def load(cls, folder: Path) -> ChunkPositions:
        """Raises OSError when the file is missing, ValueError or TypeError when it is not what `save` wrote."""
        try:
            loaded = np.load(folder / POSITIONS_FILE, allow_pickle=False)
            if not isinstance(loaded, NpzFile):
                raise TypeError(f"{POSITIONS_FILE} holds one array, not the archive of three")
            with loaded as arrays:
                chunk_ids, doc_of, doc_ids = arrays["chunk_ids"], arrays["doc_of"], arrays["doc_ids"]
        except (zipfile.BadZipFile, KeyError, EOFError) as exc:
            raise ValueError(f"{POSITIONS_FILE} is not a positions file ({type(exc).__name__})") from exc
        if chunk_ids.shape != doc_of.shape or chunk_ids.dtype.kind != "S" or doc_of.dtype != np.int32:
            raise ValueError(f"{POSITIONS_FILE} does not hold one chunk id and one document per position")
        if len(doc_of) and (doc_of.min() < 0 or doc_of.max() >= len(doc_ids)):
            raise ValueError(f"{POSITIONS_FILE} names a document it does not list")
        return cls(chunk_ids=chunk_ids, doc_of=doc_of, doc_ids=tuple(d.decode() for d in doc_ids))

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def chunk_id(self, position: int) -> str:
        return bytes(self.chunk_ids[position]).decode()

    def doc_id(self, position: int) -> str:
        return self.doc_ids[int(self.doc_of[position])]

    def chunk_counts(self) -> dict[str, int]:
        """Document id → how many positions hold its chunks."""
        counts = np.bincount(self.doc_of, minlength=len(self.doc_ids))
        return {d: int(n) for d, n in zip(self.doc_ids, counts, strict=True)}

    @cached_property
    def by_doc(self) -> dict[str, np.ndarray]:
        """Document id → its chunks' positions (computed on first use: a sort of every position)."""
        order = np.argsort(self.doc_of, kind="stable")
        bounds = np.searchsorted(self.doc_of[order], np.arange(len(self.doc_ids) + 1))
        return {d: order[bounds[i]:bounds[i + 1]] for i, d in enumerate(self.doc_ids)}

    def mask_for(self, doc_ids: set[str]) -> np.ndarray:
        """0/1 float mask over positions whose chunk belongs to `doc_ids`."""
        mask = np.zeros(len(self), dtype=np.float32)
        for doc_id in doc_ids:
            positions = self.by_doc.get(doc_id)
            if positions is not None:
                mask[positions] = 1.0
        return mask
