"""The engine an app serves: opened lazily from `settings.index_dir`, or injected by the caller, and kept on
the generation the index folder names, whichever process wrote it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa_engine.errors import IndexNotFoundError, QAEngineError
from qa_engine.settings import Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine
    from qa_engine.ingest.pipeline import IngestReport, SourceFile

log = logging.getLogger("qa_engine.api")
WARM_UP_QUERY = "稀土 毛利率"


class EngineHolder:
    """Holds at most one open Engine. It is opened in the background at startup (so /healthz answers at
    once and /readyz says 503 until it is loaded and warmed up), or on first use when the index appears later.
    A watcher thread reads the index's generation pointer every `index_poll_s` and switches the engine to a
    generation another process (`qa-engine ingest`, `docs rm`) committed."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._owned = engine is None
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._reported: str | None = None

    @property
    def loaded(self) -> bool:
        """Return True when an engine is open."""
        return self._engine is not None

    @property
    def loading(self) -> bool:
        """Return True while the background open started by `start_loading` is running."""
        return self._loader is not None and self._loader.is_alive()

    def start_loading(self) -> None:
        """Return at once; opens the index in a thread unless an engine is already there, and starts the
        watcher that follows writes by other processes."""
        if self._engine is None:
            # not a daemon: a process exiting while onnxruntime builds the reader's session aborts
            self._loader = threading.Thread(target=self._preload, name="qa-engine-open")
            self._loader.start()
        self._watcher = threading.Thread(target=self._watch, name="qa-engine-follow", daemon=True)
        self._watcher.start()

    def _preload(self) -> None:
        """Open the index and warm it up, logging (not raising) when it is missing or broken: /readyz says so."""
        try:
            warm_up(self.get())
        except QAEngineError as exc:
            log.warning("index not loaded at startup: %s", exc)

    def _watch(self) -> None:
        """Follow the committed generation until the app stops."""
        while not self._stop.wait(self.settings.index_poll_s):
            self.follow()

    def follow(self) -> bool:
        """Return True after switching the open engine to a generation committed elsewhere. A generation that
        cannot be loaded is reported once and the engine keeps serving the one it has."""
        engine = self._engine
        if engine is None:
            return False
        try:
            switched = engine.refresh()
        except QAEngineError as exc:
            if str(exc) != self._reported:
                log.error("keeping generation %s: %s", engine.generation, exc)
                self._reported = str(exc)
            return False
        if switched:
            log.info("switched to generation %s, committed by another process", engine.generation)
        return switched

    def get(self) -> Engine:
        """Return the open engine, opening the index now if needed (raises IndexNotFoundError)."""
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine = _open(self.settings)
            return self._engine

    def add(self, files: Sequence[SourceFile], replace: bool = False) -> IngestReport:
        """Return the IngestReport of adding `files`; builds a fresh index when none exists yet."""
        try:
            engine = self.get()
        except IndexNotFoundError:
            return self._build(files, replace)
        return engine.add_files(files, replace=replace)

    def _build(self, files: Sequence[SourceFile], replace: bool) -> IngestReport:
        """Return the report of building a new index from `files`, then open it."""
        from qa_engine.engine import apply_documents, read_documents
        from qa_engine.ingest.pipeline import IngestReport

        with self._lock:
            if self._engine is not None:
                return self._engine.add_files(files, replace=replace)
            report = IngestReport()
            documents = read_documents(files, self.settings, report)
            apply_documents(self.settings.index_dir, self.settings, documents, report, replace=replace)
            if report.generation:
                self._engine = _open(self.settings)
            return report

    def close(self) -> None:
        """Stop following the index; close the engine if this holder opened it (after a background open)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
        if self._loader is not None:
            self._loader.join(timeout=60)
        with self._lock:
            if self._engine is not None and self._owned:
                self._engine.close()
                self._engine = None


def warm_up(engine: Engine) -> None:
    """Run one search per retrieval mode the configured one uses, so that the first client does not pay for loading
    the embedder and compiling the scorers (the first dense search took seconds). A BM25-only server never loads
    the embedder: that would load torch (RSS 230 → 800 MB) for searches it does not run. The reader's model is
    loaded too (the neural reader's encoder; nothing for the heuristic reader)."""
    try:
        engine.warm_up_reader()
    except QAEngineError as exc:
        log.warning("warm-up of the reader failed: %s", exc)
    modes = ("bm25",) if engine.settings.retrieval_mode == "bm25" else ("bm25", "dense")
    for mode in modes:
        try:
            engine.search(WARM_UP_QUERY, k=1, mode=mode)
        except QAEngineError as exc:
            log.warning("warm-up %s search failed: %s", mode, exc)


def _open(settings: Settings) -> Engine:
    """Return Engine.open over `settings.index_dir` (imported late so the API imports without an engine)."""
    from qa_engine.engine import Engine

    return Engine.open(settings.index_dir, settings=settings)
