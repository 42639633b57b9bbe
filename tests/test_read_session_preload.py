"""The neural reader's session started early (read/session_preload.py): loaded in a thread from the export this
model cache last served, taken only by an encoder of that same file, and never an error when the hint is
missing, stale or cannot be written."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa_engine.read import session_preload
from qa_engine.read.session_preload import HINT_FILE, ONNX_DIR, THREAD_NAME, remember_served, start, take
from tests.helpers.tiny_models import build_doubling_onnx

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture()
def cache(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "models"
    take(Path("/nowhere"))  # no started session outlives a test


def _preload_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def test_the_session_of_the_last_served_export_is_started_and_taken_once(cache: Path) -> None:
    model = build_doubling_onnx(cache / ONNX_DIR / "export-a" / "encoder.onnx")
    remember_served(cache, "onnx", model)
    assert json.loads((cache / ONNX_DIR / HINT_FILE).read_text(encoding="utf-8")) == {"onnx": str(model)}
    start(cache, "onnx")
    session = take(model)
    assert session is not None
    doubled = session.run(["y"], {"x": np.array([[1.0, 2.0, 3.0]], dtype=np.float32)})[0]
    assert doubled.tolist() == [[2.0, 4.0, 6.0]]
    assert take(model) is None  # taken once
    assert not _preload_threads()


def test_each_runtime_keeps_its_own_hint(cache: Path) -> None:
    float_model = build_doubling_onnx(cache / ONNX_DIR / "a" / "encoder.onnx")
    int8_model = build_doubling_onnx(cache / ONNX_DIR / "a-int8" / "encoder.onnx")
    remember_served(cache, "onnx", float_model)
    remember_served(cache, "onnx-int8", int8_model)
    start(cache, "onnx-int8")
    assert take(float_model) is None  # started for the int8 file, so dropped
    start(cache, "onnx")
    assert take(float_model) is not None


def test_an_encoder_of_another_file_gets_nothing_and_the_started_session_is_dropped(cache: Path) -> None:
    served = build_doubling_onnx(cache / ONNX_DIR / "old" / "encoder.onnx")
    remember_served(cache, "onnx", served)
    start(cache, "onnx")
    assert take(cache / ONNX_DIR / "new" / "encoder.onnx") is None
    assert take(served) is None and not _preload_threads()


@pytest.mark.parametrize("hint", [None, "not json", json.dumps(["a list"]), json.dumps({"onnx": "/gone/encoder.onnx"})])
def test_a_missing_corrupt_or_stale_hint_starts_nothing(cache: Path, hint: str | None) -> None:
    if hint is not None:
        (cache / ONNX_DIR).mkdir(parents=True)
        (cache / ONNX_DIR / HINT_FILE).write_text(hint, encoding="utf-8")
    start(cache, "onnx")
    assert not _preload_threads() and session_preload._started is None


def test_a_file_onnxruntime_cannot_load_is_no_session_and_no_error(cache: Path) -> None:
    broken = cache / ONNX_DIR / "broken" / "encoder.onnx"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a graph")
    remember_served(cache, "onnx", broken)
    start(cache, "onnx")
    assert take(broken) is None


def test_a_hint_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    blocked = tmp_path / "models"
    blocked.mkdir()
    (blocked / ONNX_DIR).write_text("a file where the exports' folder should be", encoding="utf-8")
    remember_served(blocked, "onnx", tmp_path / "encoder.onnx")
    assert sorted(p.name for p in blocked.iterdir()) == [ONNX_DIR]  # nothing half written left behind
