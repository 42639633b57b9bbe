"""qa_engine: question answering with exact citations over Chinese financial filings."""

__version__ = "0.1.0"

from qa_engine.engine import DocumentInfo, Engine, ingest_paths
from qa_engine.errors import QAEngineError
from qa_engine.ingest.pipeline import IngestReport
from qa_engine.models import Answer, Chunk, Citation, Document, DocumentMeta, Filters, Hit, Turn
from qa_engine.settings import Settings


def ingest(paths, settings: Settings | None = None, rebuild: bool = False) -> IngestReport:  # type: ignore[no-untyped-def]
    """Ingests files or folders into settings.index_dir (default `index/`) and returns the per-file report."""
    return Engine.build(paths, settings, rebuild=rebuild)


__all__ = [
    "Answer", "Chunk", "Citation", "Document", "DocumentInfo", "DocumentMeta", "Engine", "Filters", "Hit",
    "IngestReport", "QAEngineError", "Settings", "Turn", "ingest", "ingest_paths", "__version__",
]
