"""A folder built once into a cache: built in a temporary folder beside it and renamed into place under a file
lock, so concurrent processes build it once and a reader never sees it half written."""

from __future__ import annotations

import fcntl
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def built_once(folder: Path, is_current: Callable[[Path], bool], build: Callable[[Path], None]) -> Path:
    """Return `folder`, first made by `build(new_folder)` unless `is_current(folder)` (an old one is replaced)."""
    if is_current(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder):
        if not is_current(folder):  # another process may have built it while we waited
            _build_atomically(folder, build)
    return folder


def read_record(path: Path) -> dict[str, Any]:
    """The JSON object a built folder records about itself; {} when it is missing or unreadable (build again)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


@contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    with folder.with_name(f".{folder.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_atomically(folder: Path, build: Callable[[Path], None]) -> None:
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build(work / "new")
        if folder.exists():
            folder.rename(work / "old")
        (work / "new").rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
