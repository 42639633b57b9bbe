"""Saving uploaded filings: a sanitised file name that cannot leave the upload folder, a size cap.

An upload is streamed to a temporary file (`.upload-*`) and indexed from there under the identity of its final
name; it takes that name only once the index holds it. A file under a final name is therefore always indexed,
and what a server killed mid-upload leaves behind is a temporary file, removed when the next server starts.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path, PurePosixPath

from fastapi import UploadFile

from qa_engine.api.errors import ApiError
from qa_engine.settings import Settings

ALLOWED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf"})
MAX_NAME_CHARS = 120
READ_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-()（）\[\] ]+")
TEMP_PREFIX = ".upload-"
log = logging.getLogger("qa_engine.api")


def upload_dir(settings: Settings) -> Path:
    """Return the folder uploads are saved in: `settings.upload_dir` or `<index_dir>/uploads`."""
    return Path(settings.upload_dir) if settings.upload_dir else Path(settings.index_dir) / "uploads"


def sanitize_filename(raw: str | None) -> str:
    """Return a safe base name for `raw`: no folders, no control or shell characters, no leading dots."""
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/")
    name = PurePosixPath(name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if dot and len(suffix) <= 10:
        stem = stem[: MAX_NAME_CHARS - len(suffix) - 1].strip(" .") or "upload"
        return f"{stem}.{suffix.lower()}"
    return (name[:MAX_NAME_CHARS].strip(" .") or "upload")


def target_path(folder: Path, raw_name: str | None) -> Path:
    """Return where an upload named `raw_name` is stored; refuses names that are not allowed filings."""
    name = sanitize_filename(raw_name)
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        allowed = ", ".join(sorted(ALLOWED_SUFFIXES))
        raise ApiError(415, "unsupported_media_type", f"{name!r}: only {allowed} files can be uploaded")
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root:  # belt and braces: sanitize_filename already removed every separator
        raise ApiError(400, "bad_request", f"{raw_name!r} is not a valid file name")
    return path


async def save_upload(upload: UploadFile, path: Path, max_bytes: int) -> tuple[Path, int]:
    """Return (temporary file, byte count): the upload streamed next to `path`, 413 past `max_bytes`.
    The caller moves it to `path` with `keep` once indexed, and removes it otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(READ_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ApiError(413, "payload_too_large", f"upload exceeds the limit of {max_bytes} bytes")
                out.write(chunk)
        if size == 0:
            raise ApiError(400, "bad_request", "the uploaded file is empty")
        os.chmod(tmp_name, 0o644)
    except BaseException:
        os.unlink(tmp_name)
        raise
    return Path(tmp_name), size


def keep(tmp: Path, path: Path) -> None:
    """Give the indexed upload its final name (replacing an earlier version)."""
    os.replace(tmp, path)


def remove_stale_temporaries(folder: Path, older_than: float | None = None) -> list[str]:
    """Return the names of the `.upload-*` files removed from `folder`: uploads a killed server never indexed."""
    cutoff = time.time() if older_than is None else older_than
    removed: list[str] = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(f"{TEMP_PREFIX}*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
        except OSError as exc:
            log.warning("could not remove the stale upload %s: %s", path.name, exc)
    if removed:
        log.info("removed %d upload(s) left by a server that stopped mid-ingest", len(removed))
    return removed
