"""The engine an app serves: opened lazily from `settings.index_dir`, or injected by the caller."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from qa_engine.errors import IndexNotFoundError, QAEngineError
from qa_engine.settings import Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine
    from qa_engine.ingest.pipeline import IngestReport

log = logging.getLogger("qa_engine.api")


class EngineHolder:
    """Holds at most one open Engine. It is opened in the background at startup (so /healthz answers at
    once and /readyz says 503 until it is loaded), or on first use when the index appears later."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._owned = engine is None
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        """Return True when an engine is open."""
        return self._engine is not None

    @property
    def loading(self) -> bool:
        """Return True while the background open started by `start_loading` is running."""
        return self._loader is not None and self._loader.is_alive()

    def start_loading(self) -> None:
        """Return at once; opens the index in a daemon thread unless an engine is already there."""
        if self._engine is None:
            self._loader = threading.Thread(target=self._preload, name="qa-engine-open", daemon=True)
            self._loader.start()

    def _preload(self) -> None:
        """Open the index, logging (not raising) when it is missing or broken: /readyz reports it."""
        try:
            self.get()
        except QAEngineError as exc:
            log.warning("index not loaded at startup: %s", exc)

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
        """Close the engine if this holder opened it (after a background open still running)."""
        if self._loader is not None:
            self._loader.join(timeout=60)
        with self._lock:
            if self._engine is not None and self._owned:
                self._engine.close()
                self._engine = None


def _open(settings: Settings) -> Engine:
    """Return Engine.open over `settings.index_dir` (imported late so the API imports without an engine)."""
    from qa_engine.engine import Engine

    return Engine.open(settings.index_dir, settings=settings)
