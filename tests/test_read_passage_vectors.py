"""The neural reader's passage vectors kept by content in SQLite: stored exactly, found again by any process,
never an error when the table cannot be read or written, bounded by its cap."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa_engine.read import passage_vectors
from qa_engine.read.encoder import PASSAGE_PREFIX, PrefixedEncoder
from qa_engine.read.passage_vectors import (
    CachedPassageEncoder,
    PassageVectorTable,
    fill_passage_vectors,
    text_key,
)

DIMENSION = 8
MAX_TOKENS = 128
TEXTS = ["公司2024年稀土材料毛利率为负。", "The margin was negative.", "产品价格进一步下降", "无法覆盖单位成本"]


class CountingEncoder(PrefixedEncoder):
    """Unit vectors derived from each text's hash; records every text it was asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[str] = []

    @property
    def dimension(self) -> int:
        return DIMENSION

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += list(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[: 4 * DIMENSION], dtype=np.uint32) for t in texts]
        vectors = np.array(rows, dtype=np.float32) / 2**32 - 0.5
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)  # type: ignore[no-any-return]


def cached(path: Path, max_bytes: int = 1 << 30) -> tuple[CachedPassageEncoder, CountingEncoder]:
    inner = CountingEncoder()
    return CachedPassageEncoder(inner, PassageVectorTable(path, DIMENSION, max_bytes), MAX_TOKENS), inner


def test_a_passage_is_encoded_once_and_read_back_exactly(tmp_path: Path) -> None:
    encoder, inner = cached(tmp_path / "vectors.sqlite")
    first = encoder.encode_passages(TEXTS)
    assert inner.encoded == [PASSAGE_PREFIX + t for t in TEXTS]
    again = encoder.encode_passages(TEXTS[::-1] + ["新的一句话"])
    assert inner.encoded[len(TEXTS):] == [PASSAGE_PREFIX + "新的一句话"]  # only the new text ran the encoder
    assert np.array_equal(again[: len(TEXTS)], first[::-1])  # float32 as encoded, not rounded
    assert np.array_equal(again[-1], CountingEncoder().encode_passages(["新的一句话"])[0])


def test_queries_always_run_the_encoder(tmp_path: Path) -> None:
    encoder, inner = cached(tmp_path / "vectors.sqlite")
    encoder.encode_queries(["毛利率为负的原因"])
    encoder.encode_queries(["毛利率为负的原因"])
    assert inner.encoded == ["query: 毛利率为负的原因"] * 2


def test_another_process_finds_the_vectors(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    written = cached(path)[0].encode_passages(TEXTS)
    reopened, inner = cached(path)  # a new table object: a new connection, as another process would open
    assert np.array_equal(reopened.encode_passages(TEXTS), written) and inner.encoded == []


def test_the_key_is_the_text_as_encoded(tmp_path: Path) -> None:
    assert text_key("passage: 毛利率", 128) != text_key("passage: 毛利率", 64)  # truncation is part of it
    assert text_key("passage: 毛利率", 128) != text_key("query: 毛利率", 128)
    assert text_key("passage: 毛利率", 128) == text_key("passage: 毛利率", 128)


def test_a_table_that_cannot_be_written_still_gives_vectors(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", "utf-8")
    encoder, inner = cached(blocked / "vectors.sqlite")
    vectors = encoder.encode_passages(TEXTS)
    assert vectors.shape == (len(TEXTS), DIMENSION) and len(inner.encoded) == len(TEXTS)
    encoder.encode_passages(TEXTS)
    assert len(inner.encoded) == 2 * len(TEXTS)  # nothing kept, nothing raised


def _locked(path: Path) -> sqlite3.Connection:
    """Another writer holding the table's file locked."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_table_opened_while_another_writer_briefly_holds_it_keeps_vectors(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    holder = _locked(path)
    releasing = threading.Timer(0.5, holder.rollback)  # longer than a question waits to write (0.2 s)
    releasing.start()
    encoder, inner = cached(path)
    encoder.encode_passages(TEXTS)
    releasing.join()
    assert not encoder.table.full and len(encoder.table) == len(TEXTS)
    encoder.encode_passages(TEXTS)
    assert len(inner.encoded) == len(TEXTS)


def test_a_table_still_locked_when_first_used_is_a_miss_and_is_kept_later(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passage_vectors, "SETUP_TIMEOUT_S", 0.05)
    path = tmp_path / "vectors.sqlite"
    holder = _locked(path)
    encoder, inner = cached(path)
    assert np.array_equal(encoder.encode_passages(TEXTS), CountingEncoder().encode_passages(TEXTS))
    assert not encoder.table.full  # a lock is not a read-only folder
    holder.rollback()
    encoder.encode_passages(TEXTS)
    encoder.encode_passages(TEXTS)
    assert len(inner.encoded) == 2 * len(TEXTS) and len(encoder.table) == len(TEXTS)


def test_a_damaged_table_file_is_a_miss_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    path.write_bytes(b"this is not a SQLite database" * 100)
    encoder, inner = cached(path)
    assert np.array_equal(encoder.encode_passages(TEXTS), CountingEncoder().encode_passages(TEXTS))
    assert len(inner.encoded) == len(TEXTS) and path.read_bytes().startswith(b"this is not")  # left as it was


def test_a_vector_of_another_length_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    PassageVectorTable(path, DIMENSION * 2, 1 << 30).put([text_key(PASSAGE_PREFIX + TEXTS[0], MAX_TOKENS)],
                                                        np.ones((1, DIMENSION * 2), dtype=np.float32))
    encoder, inner = cached(path)
    assert encoder.encode_passages(TEXTS[:1]).shape == (1, DIMENSION) and inner.encoded == [PASSAGE_PREFIX + TEXTS[0]]


def test_the_table_stops_growing_at_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    encoder, inner = cached(path, max_bytes=1)
    texts = [f"第{i}句话，讲公司的经营情况。" for i in range(200)]
    report = fill_passage_vectors(encoder, texts)
    assert report.stopped_full and 0 < report.encoded == len(inner.encoded) < len(texts)
    stored = sqlite3.connect(path).execute("SELECT count(*) FROM vectors").fetchone()[0]
    assert stored == report.encoded  # the first batch was kept; then the cap stopped the fill


def test_fill_encodes_each_missing_text_once(tmp_path: Path) -> None:
    encoder, inner = cached(tmp_path / "vectors.sqlite")
    encoder.encode_passages(TEXTS[:2])
    progress: list[tuple[int, int]] = []
    report = fill_passage_vectors(encoder, TEXTS + TEXTS, lambda done, total: progress.append((done, total)))
    assert (report.texts, report.encoded, report.stopped_full) == (len(TEXTS), 2, False)
    assert sorted(inner.encoded[2:]) == sorted(PASSAGE_PREFIX + t for t in TEXTS[2:])
    assert progress[-1] == (2, 2)
    assert fill_passage_vectors(encoder, TEXTS).encoded == 0


def test_threads_share_the_table(tmp_path: Path) -> None:
    encoder, inner = cached(tmp_path / "vectors.sqlite")
    batches = [[f"线程{n}的第{i}句" for i in range(20)] for n in range(4)]
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, encoder.encode_passages(batches[n])))
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = CountingEncoder()
    assert all(np.array_equal(results[n], expected.encode_passages(batches[n])) for n in range(4))
    assert len(encoder.table) == 80 == len(inner.encoded)


@pytest.mark.parametrize("size", [0, 1, 501, 1200])
def test_lookups_of_any_size(tmp_path: Path, size: int) -> None:
    """Keys are looked up in batches below SQLite's parameter limit."""
    encoder, inner = cached(tmp_path / "vectors.sqlite")
    texts = [f"句子{i}" for i in range(size)]
    first = encoder.encode_passages(texts)
    assert np.array_equal(encoder.encode_passages(texts), first) and len(inner.encoded) == size
