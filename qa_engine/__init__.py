"""qa_engine: question answering with exact citations over Chinese financial filings.

The public names below are imported on first use (PEP 562), so that `import qa_engine` or a submodule import
(`qa_engine.settings`, `qa_engine.chunk.tokenizer`) does not load the whole engine and its libraries."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_engine.version import __version__

_EXPORTS = {
    "DocumentInfo": "qa_engine.engine", "Engine": "qa_engine.engine", "ingest_paths": "qa_engine.engine",
    "QAEngineError": "qa_engine.errors", "IngestReport": "qa_engine.ingest.pipeline",
    "Answer": "qa_engine.models", "Chunk": "qa_engine.models", "Citation": "qa_engine.models",
    "Document": "qa_engine.models", "DocumentMeta": "qa_engine.models", "Filters": "qa_engine.models",
    "Hit": "qa_engine.models", "Turn": "qa_engine.models", "Settings": "qa_engine.settings",
}

if TYPE_CHECKING:
    from qa_engine.engine import DocumentInfo, Engine, ingest_paths
    from qa_engine.errors import QAEngineError
    from qa_engine.ingest.pipeline import IngestReport
    from qa_engine.models import Answer, Chunk, Citation, Document, DocumentMeta, Filters, Hit, Turn
    from qa_engine.settings import Settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qa_engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


# The subpackage qa_engine.ingest is imported first (its __init__ is empty), so that importing it later cannot
# replace the function below as the package's `ingest` attribute.
importlib.import_module("qa_engine.ingest")


def ingest(paths: Iterable[str | Path], settings: Settings | None = None, rebuild: bool = False,
           replace: bool = False) -> IngestReport:
    """Ingests files or folders into settings.index_dir (default `index/`) and returns the per-file report
    (`qa_engine.engine.ingest`: the one way to write an index; an open Engine writes with `add` and `remove`)."""
    from qa_engine.engine import ingest as ingest_into_index

    return ingest_into_index(paths, settings, rebuild=rebuild, replace=replace)


__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "DocumentInfo",
    "DocumentMeta",
    "Engine",
    "Filters",
    "Hit",
    "IngestReport",
    "QAEngineError",
    "Settings",
    "Turn",
    "__version__",
    "ingest",
    "ingest_paths",
]
