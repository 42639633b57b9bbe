"""Cache folders built once (qa_engine/cache_folder.py), and loading ahead that never builds one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from qa_engine.cache_folder import NotBuilt, built_once, existing_only


def _builder(builds: list[Path]):  # type: ignore[no-untyped-def]
    def build(folder: Path) -> None:
        folder.mkdir()
        (folder / "done").write_text("1", encoding="utf-8")
        builds.append(folder)

    return build


def _is_built(folder: Path) -> bool:
    return (folder / "done").exists()


def test_existing_only_refuses_to_build_and_returns_a_built_folder(tmp_path: Path) -> None:
    builds: list[Path] = []
    target = tmp_path / "model"
    with existing_only(), pytest.raises(NotBuilt, match="not built"):
        built_once(target, _is_built, _builder(builds))
    assert builds == [] and not target.exists()

    assert built_once(target, _is_built, _builder(builds)) == target  # outside it, built
    with existing_only():
        assert built_once(target, _is_built, _builder(builds)) == target
    assert len(builds) == 1


def test_existing_only_holds_in_its_own_thread_alone(tmp_path: Path) -> None:
    builds: list[Path] = []
    outcome: list[Path] = []
    with existing_only():
        other = threading.Thread(target=lambda: outcome.append(built_once(tmp_path / "m", _is_built,
                                                                          _builder(builds))))
        other.start()
        other.join(timeout=30)
    assert outcome == [tmp_path / "m"] and len(builds) == 1
