"""One immutable generation of search files (BM25, FAISS, chunk positions, document cards, manifest) inside the
index folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa_engine.errors import IndexCorruptError
from qa_engine.index.dense import DenseIndex, LazyDenseIndex
from qa_engine.index.positions import POSITIONS_FILE, ChunkPositions
from qa_engine.index.sparse import SparseIndex
from qa_engine.models import Chunk, ChunkTerms, DocumentCard, DocumentMeta

MANIFEST = "manifest.json"
CHUNK_IDS_FILE = "chunk_ids.json"
CARDS_FILE = "cards.json"
FORMAT_VERSION = 2  # 2: decimals are one search term
REBUILD_HINT = "write a fresh one from the stored documents: `qa-engine ingest --rebuild PATH`"
# what reading a missing, truncated or hand-edited generation file raises (JSON, bm25s, FAISS, the dataclass)
DAMAGED = (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError)


@dataclass(frozen=True)
class Manifest:
    """What a generation was built from and with: checked when the index is opened."""

    generation: str
    package_version: str
    format_version: int
    embedder: str  # model id, or "none"
    embed_dim: int
    company_words: list[str]  # company names and short names, added to the tokenizer's dictionary
    parameters: dict[str, object]
    corpus_hash: str
    chunk_count: int
    document_count: int
    built_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Generation:
    manifest: Manifest
    positions: ChunkPositions | None  # None when not read, or written before positions.npz (`read_chunk_ids`)
    cards: dict[str, DocumentCard] | None  # None when written before cards.json (the store has them)
    sparse: SparseIndex
    dense: DenseIndex | LazyDenseIndex | None


def corpus_hash(content_hashes: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(content_hashes)).encode()).hexdigest()[:16]


def next_generation_name(index_dir: Path, current: str | None) -> str:
    number = int(current.split("-")[1]) + 1 if current else 1
    while (index_dir / f"gen-{number:06d}").exists():
        number += 1
    return f"gen-{number:06d}"


def write_generation(
    index_dir: Path, name: str, chunks: Sequence[Chunk | ChunkTerms], vectors: np.ndarray | None, manifest: Manifest,
    hnsw_threshold: int, bm25_k1: float, bm25_b: float, cards: Sequence[DocumentCard] = (),
) -> Path:
    """Writes every file into a temp folder, fsyncs, then renames it into place; returns the folder."""
    final = index_dir / name
    tmp = index_dir / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    SparseIndex.build([c.tokens for c in chunks], bm25_k1, bm25_b).save(tmp / "bm25")
    if vectors is not None and len(chunks):
        DenseIndex.build(vectors, hnsw_threshold).save(tmp / "dense.faiss")
    chunk_ids = [c.chunk_id for c in chunks]
    ChunkPositions.of(chunk_ids, [c.doc_id for c in chunks]).save(tmp)
    _write_json(tmp / CHUNK_IDS_FILE, chunk_ids)  # what engines before positions.npz read
    # what listing and filters read of every document: from the store, that is most of its text pages at 1000×
    _write_json(tmp / CARDS_FILE, [asdict(c) for c in sorted(cards, key=lambda c: (c.source, c.origin))])
    _write_json(tmp / MANIFEST, asdict(manifest))
    _fsync_tree(tmp)
    os.replace(tmp, final)
    return final


def read_manifest(folder: Path) -> Manifest:
    """Return the generation's manifest; raises IndexCorruptError when it is missing or unreadable."""
    try:
        fields = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if "tokenizer_words" in fields:  # the earlier name of company_words
            fields["company_words"] = fields.pop("tokenizer_words")
        return Manifest(**fields)
    except DAMAGED as exc:
        raise damaged(folder, exc) from exc


def load_generation(folder: Path, dense_now: bool = True, positions: bool = True) -> Generation:
    """Return the generation in `folder`; raises IndexCorruptError when a file is missing or unreadable.
    With `dense_now` False the FAISS file is read on the first dense search (BM25-only engines never read it);
    with `positions` False the chunk order is not read (a backend that answers with chunk ids needs none)."""
    manifest = read_manifest(folder)
    try:
        order = _read_positions(folder, manifest.chunk_count) if positions else None
        cards = _read_cards(folder)
        sparse = SparseIndex.load(folder / "bm25", manifest.chunk_count)
        dense_path = folder / "dense.faiss"
        dense: DenseIndex | LazyDenseIndex | None = None
        if dense_path.exists():
            dense = DenseIndex.load(dense_path) if dense_now else LazyDenseIndex(dense_path)
    except DAMAGED as exc:
        raise damaged(folder, exc) from exc
    return Generation(manifest=manifest, positions=order, cards=cards, sparse=sparse, dense=dense)


def _read_cards(folder: Path) -> dict[str, DocumentCard] | None:
    if not (folder / CARDS_FILE).exists():
        return None
    rows = json.loads((folder / CARDS_FILE).read_text(encoding="utf-8"))
    cards = [DocumentCard(**{**row, "meta": DocumentMeta(**row["meta"]), "page_starts": tuple(row["page_starts"])})
             for row in rows]
    return {card.doc_id: card for card in cards}


def _read_positions(folder: Path, chunk_count: int) -> ChunkPositions | None:
    if not (folder / POSITIONS_FILE).exists() and (folder / CHUNK_IDS_FILE).exists():
        return None  # written before positions.npz: the engine maps read_chunk_ids with the store
    positions = ChunkPositions.load(folder)
    if len(positions) != chunk_count:
        raise ValueError(f"{POSITIONS_FILE} lists {len(positions)} chunks, the manifest {chunk_count}")
    return positions


def read_chunk_ids(folder: Path) -> list[str]:
    """The generation's chunk ids in order, from the list every generation holds; raises IndexCorruptError."""
    try:
        chunk_ids = json.loads((folder / CHUNK_IDS_FILE).read_text(encoding="utf-8"))
        if not isinstance(chunk_ids, list) or not all(isinstance(cid, str) for cid in chunk_ids):
            raise ValueError(f"{CHUNK_IDS_FILE} is not a list of chunk ids")
    except DAMAGED as exc:
        raise damaged(folder, exc) from exc
    return chunk_ids


def damaged(folder: Path, exc: BaseException) -> IndexCorruptError:
    """Return the error for a generation folder that cannot be read (naming the folder, not its path)."""
    reason = f"{type(exc).__name__}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return IndexCorruptError(f"{folder.parent.name}/{folder.name} is missing or damaged ({reason}): {REBUILD_HINT}")


def remove_stale_generations(index_dir: Path, keep: set[str]) -> None:
    """Deletes generation folders (and leftovers of crashed writes) that are not in `keep`."""
    for path in index_dir.iterdir():
        name = path.name.lstrip(".").removesuffix(".tmp")
        if path.is_dir() and name.startswith("gen-") and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


__all__ = ["FORMAT_VERSION", "Generation", "Manifest"]
