"""A private copy of an index that other threads or processes may be reading: its SQLite store is copied with
SQLite's backup API, never file by file (a copied -wal/-shm pair of a live store is a snapshot SQLite did not
take, and a read-only connection mapping a half-copied -shm can die of SIGBUS)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from qa_engine.index.writer import STORE_FILE

SKIPPED = (".lock", "uploads", f"{STORE_FILE}", f"{STORE_FILE}-wal", f"{STORE_FILE}-shm")


def copy_index(source: Path, target: Path) -> Path:
    """Copy the index folder `source` to `target` (generations as files, the store through a backup)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*SKIPPED))
    with sqlite3.connect(f"{(source / STORE_FILE).resolve().as_uri()}?mode=ro", uri=True) as reading, \
            sqlite3.connect(target / STORE_FILE) as writing:
        reading.backup(writing)
    return target
