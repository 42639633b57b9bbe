"""Files → canonical Documents: collect paths, load, normalise, attach metadata."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa_engine.errors import IngestError
from qa_engine.ingest.loaders import SUPPORTED_SUFFIXES, load_filing
from qa_engine.ingest.metadata import SIDECAR_NAME, detect_metadata, load_sidecar, merge_metadata
from qa_engine.ingest.normalize import normalize_pages
from qa_engine.models import Document


@dataclass
class IngestReport:
    """What one ingest did, file by file. `ok` is False when any file failed."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    generation: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added, "replaced": self.replaced, "unchanged": self.unchanged, "removed": self.removed,
            "failed": [{"source": s, "error": e} for s, e in self.failed],
            "generation": self.generation, "ok": self.ok,
        }


def collect_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Supported files under `paths` (directories recurse), and (path, error) for those that cannot be used."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            if path.name == SIDECAR_NAME:
                continue
            files.append(path)
        else:
            problems.append((str(path), f"{path}: no such file or directory"))
    return files, problems


def prepare_document(path: Path, max_bytes: int) -> Document:
    """Loads and normalises one file; raises IngestError with the reason."""
    raw = load_filing(path, max_bytes)
    canonical = normalize_pages(raw.pages)
    if not canonical.text.strip():
        raise IngestError(f"{path}: no text left after normalisation")
    sidecar = load_sidecar(path.parent).get(path.name)
    meta = merge_metadata(detect_metadata(canonical.text, "\n".join(raw.pages)[:20000]), sidecar)
    return Document(
        doc_id=raw.content_hash[:16],
        source=raw.source,
        text=canonical.text,
        meta=meta,
        page_starts=canonical.page_starts,
        content_hash=raw.content_hash,
    )
