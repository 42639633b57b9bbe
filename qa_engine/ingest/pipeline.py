"""Files → canonical Documents: collect paths, load, normalise, attach metadata."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa_engine.errors import IngestError
from qa_engine.ingest.loaders import SUPPORTED_SUFFIXES, ParseLimits, load_filing
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
    conflicts: list[str] = field(default_factory=list)  # in `failed` too: indexed with other content, not replaced
    generation: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added, "replaced": self.replaced, "unchanged": self.unchanged, "removed": self.removed,
            "failed": [{"source": s, "error": e} for s, e in self.failed], "conflicts": self.conflicts,
            "generation": self.generation, "ok": self.ok,
        }


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest: where its bytes are read from, its identity in the index and the name shown for it.

    `origin` (the resolved path) is what makes two documents the same: `a/report.txt` and `b/report.txt` are two
    documents. An upload is read from a temporary file (`path`) but has the identity of where it is kept."""

    path: Path
    origin: str
    source: str

    @classmethod
    def at(cls, path: Path, source: str | None = None) -> SourceFile:
        """Return the SourceFile read from and identified by `path`, shown as `source` (default its name)."""
        return cls(path=path, origin=str(path.resolve()), source=source or path.name)


def collect_files(paths: Iterable[Path | str]) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Supported files under `paths` (folders recurse; a file inside one is shown by its path relative to it),
    and (path, error) for those that cannot be used. A file reached twice is listed once."""
    files: dict[str, SourceFile] = {}
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            for file in found:
                item = SourceFile.at(file, file.relative_to(path).as_posix())
                files.setdefault(item.origin, item)
        elif path.is_file():
            if path.name == SIDECAR_NAME:
                continue
            item = SourceFile.at(path)
            files.setdefault(item.origin, item)
        else:
            problems.append((str(path), f"{path.name or path}: no such file or directory"))
    return list(files.values()), problems


def prepare_document(item: SourceFile, limits: ParseLimits | None = None) -> Document:
    """Loads and normalises one file; raises IngestError with the reason."""
    name = item.source.rsplit("/", 1)[-1]
    raw = load_filing(item.path, limits or ParseLimits(), name)
    canonical = normalize_pages(raw.pages)
    if not canonical.text.strip():
        raise IngestError(f"{name}: no text left after normalisation")
    origin = Path(item.origin)
    sidecar = load_sidecar(origin.parent).get(origin.name)
    meta = merge_metadata(detect_metadata(canonical.text, "\n".join(raw.pages)[:20000]), sidecar)
    return Document(
        doc_id=raw.content_hash[:16],
        source=item.source,
        text=canonical.text,
        meta=meta,
        page_starts=canonical.page_starts,
        content_hash=raw.content_hash,
        origin=item.origin,
    )
