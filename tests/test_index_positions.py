"""The generation's positions file: chunk id and document per position, round trip and damage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_engine.index.positions import POSITIONS_FILE, ChunkPositions

IDS = ["a1", "b2", "c3", "d4", "e5"]
DOCS = ["doc-x", "doc-y", "doc-x", "doc-z", "doc-y"]


def test_positions_round_trip_and_map_every_position(tmp_path: Path) -> None:
    ChunkPositions.of(IDS, DOCS).save(tmp_path)
    positions = ChunkPositions.load(tmp_path)
    assert len(positions) == 5 and positions.doc_ids == ("doc-x", "doc-y", "doc-z")
    assert [positions.chunk_id(p) for p in range(5)] == IDS
    assert [positions.doc_id(p) for p in range(5)] == DOCS
    assert {d: p.tolist() for d, p in positions.by_doc.items()} == {"doc-x": [0, 2], "doc-y": [1, 4], "doc-z": [3]}
    assert positions.mask_for({"doc-y", "not-indexed"}).tolist() == [0, 1, 0, 0, 1]
    assert positions.chunk_counts() == {"doc-x": 2, "doc-y": 2, "doc-z": 1}


def test_ids_of_any_text_and_an_empty_generation_round_trip(tmp_path: Path) -> None:
    ChunkPositions.of(["块-1", "chunk-2"], ["文件", "文件"]).save(tmp_path)
    positions = ChunkPositions.load(tmp_path)
    assert positions.chunk_id(0) == "块-1" and positions.doc_id(1) == "文件"
    ChunkPositions.of([], []).save(tmp_path)
    empty = ChunkPositions.load(tmp_path)
    assert len(empty) == 0 and empty.mask_for({"文件"}).size == 0 and empty.by_doc == {}


def test_an_older_generation_is_mapped_through_the_store(tmp_path: Path) -> None:
    positions = ChunkPositions.of_ids(IDS, dict(zip(IDS, DOCS, strict=True)))
    assert [positions.doc_id(p) for p in range(5)] == DOCS
    with pytest.raises(KeyError):
        ChunkPositions.of_ids([*IDS, "unknown"], dict(zip(IDS, DOCS, strict=True)))


@pytest.mark.parametrize("write", [
    lambda path: path.write_bytes(b"PK\x03\x04 not a zip archive"),
    lambda path: np.save(path.with_suffix(".npy"), np.arange(3)) or path.with_suffix(".npy").rename(path),
    lambda path: np.savez(path, chunk_ids=np.array([b"a", b"b"]), doc_of=np.array([0], dtype=np.int32),
                          doc_ids=np.array([b"d"])),
    lambda path: np.savez(path, chunk_ids=np.array([b"a"]), doc_of=np.array([3], dtype=np.int32),
                          doc_ids=np.array([b"d"])),
    lambda path: np.savez(path, chunk_ids=np.array([b"a"]), doc_of=np.array([0], dtype=np.int32)),
], ids=["not-a-zip", "one-array", "lengths-differ", "unknown-document", "array-missing"])
def test_a_damaged_positions_file_is_a_value_or_type_error(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / POSITIONS_FILE)
    with pytest.raises((ValueError, TypeError)):
        ChunkPositions.load(tmp_path)
