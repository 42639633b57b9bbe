"""A folder built once into a cache: built in a temporary folder beside it and renamed into place under a file
lock, so concurrent processes build it once and a reader never sees it half written. Within `existing_only()`,
a folder that would have to be built raises NotBuilt instead (loading ahead of need must not start a build of
minutes that the process then waits for)."""

from __future__ import annotations

import contextvars
import fcntl
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_BUILDS_ALLOWED = contextvars.ContextVar("builds_allowed", default=True)


class NotBuilt(LookupError):
    """A cache folder is missing or out of date, and `existing_only()` forbids building it."""


@contextmanager
def existing_only() -> Iterator[None]:
    """Within it (in this thread), `built_once` returns only folders already built and current."""
    token = _BUILDS_ALLOWED.set(False)
    try:
        yield
    finally:
        _BUILDS_ALLOWED.reset(token)


def built_once(folder: Path, is_current: Callable[[Path], bool], build: Callable[[Path], None]) -> Path:
    """Return `folder`, first made by `build(new_folder)` unless `is_current(folder)` (an old one is replaced)."""
    if is_current(folder):
        return folder
    if not _BUILDS_ALLOWED.get():
        raise NotBuilt(f"{folder} is not built")
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
