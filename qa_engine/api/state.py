"""The engine an app serves: opened lazily from `settings.index_dir`, or injected by the caller."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from qa_engine.errors import IndexNotFoundError
from qa_engine.settings import Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine
    from qa_engine.ingest.pipeline import IngestReport


class EngineHolder:
    """Holds at most one open Engine; opens it on first use so the server starts without an index."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._owned = engine is None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Return True when an engine is open."""
        return self._engine is not None

    def get(self) -> Engine:
        """Return the open engine, opening the index now if needed (raises IndexNotFoundError)."""
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine = _open(self.settings)
            return self._engine

    def add(self, paths: list[Path]) -> IngestReport:
        """Return the IngestReport of adding `paths`; builds a fresh index when none exists yet."""
        try:
            engine = self.get()
        except IndexNotFoundError:
            return self._build(paths)
        return engine.add(paths)

    def _build(self, paths: list[Path]) -> IngestReport:
        """Return the report of building a new index from `paths`, then open it."""
        from qa_engine.engine import Engine

        with self._lock:
            if self._engine is not None:
                return self._engine.add(paths)
            report = Engine.build([str(p) for p in paths], self.settings)
            self._engine = _open(self.settings)
            return report

    def close(self) -> None:
        """Close the engine if this holder opened it."""
        with self._lock:
            if self._engine is not None and self._owned:
                self._engine.close()
                self._engine = None


def _open(settings: Settings) -> Engine:
    """Return Engine.open over `settings.index_dir` (imported late so the API imports without an engine)."""
    from qa_engine.engine import Engine

    return Engine.open(settings.index_dir, settings=settings)
