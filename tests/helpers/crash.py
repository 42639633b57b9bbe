"""A write that fails inside its commit transaction, after the generation files and the backend rows are
written: what a process killed at the worst moment leaves behind."""

from __future__ import annotations

import sqlite3

import pytest

from qa_engine.index.writer import CURRENT_KEY
from qa_engine.store.sqlite_store import SQLiteStore


def crash_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next index write raise RuntimeError('simulated crash') where it switches the current generation."""
    set_meta = SQLiteStore.set_meta

    def failing(conn: sqlite3.Connection, key: str, value: str) -> None:
        if key == CURRENT_KEY:
            raise RuntimeError("simulated crash before commit")
        set_meta(conn, key, value)

    monkeypatch.setattr(SQLiteStore, "set_meta", staticmethod(failing))
