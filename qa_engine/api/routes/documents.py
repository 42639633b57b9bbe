"""GET/POST/DELETE /v1/documents and the passage text behind a citation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status

from qa_engine.api import uploads
from qa_engine.api.deps import (
    EngineDep,
    HolderDep,
    MetricsDep,
    SettingsDep,
    require_api_key,
    require_document_key,
    run_engine,
    run_engine_write,
)
from qa_engine.api.errors import ApiError
from qa_engine.api.schemas import error_responses
from qa_engine.api.serialize import PASSAGE_CONTEXT_CHARS, passage_to_dict, to_jsonable
from qa_engine.errors import DocumentExistsError, DocumentNotFoundError
from qa_engine.ingest.pipeline import SourceFile

router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(require_api_key)])


@router.get("")
async def list_documents(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Return `{"documents": [DocumentInfo...]}` for every indexed filing."""
    docs = await run_engine(request, "documents", engine.documents)
    return {"documents": to_jsonable(docs)}


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(require_document_key)],
             responses=error_responses(409, 415))
async def upload_document(
    request: Request,
    holder: HolderDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    file: Annotated[UploadFile, File(description="a .txt, .md, .html or .pdf filing")],
    replace: Annotated[bool, Query(description="replace the document uploaded earlier under this name "
                                               "(without it, other content under the same name is a 409)")] = False,
) -> dict[str, Any]:
    """Return the IngestReport fields after indexing the file and keeping it in the upload folder."""
    path = uploads.target_path(uploads.upload_dir(settings), file.filename)
    tmp, size = await uploads.save_upload(file, path, settings.max_upload_bytes)
    try:
        item = SourceFile(path=tmp, origin=str(path), source=path.name)
        report = await run_engine_write(request, "add", holder.add, [item], replace)
        if report.ok:
            uploads.keep(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    metrics.uploads.labels(str(report.ok).lower()).inc()
    if report.conflicts:
        raise DocumentExistsError("; ".join(error for _, error in report.failed))
    if not report.ok:
        raise ApiError(422, "ingest_error", "; ".join(error for _, error in report.failed))
    return {**report.to_dict(), "filename": path.name, "bytes": size}


@router.get("/{doc_id}")
async def get_document(doc_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    """Return the DocumentInfo of one filing (404 when unknown)."""
    docs = await run_engine(request, "documents", engine.documents)
    for info in docs:
        if info.doc_id == doc_id:
            result: dict[str, Any] = to_jsonable(info)
            return result
    raise DocumentNotFoundError(f"no document with id {doc_id!r}: list ids with GET /v1/documents")


@router.get("/{doc_id}/text")
async def document_text(
    doc_id: str, request: Request, engine: EngineDep,
    start: int | None = Query(None, ge=0, description="citation start offset in the canonical text"),
    end: int | None = Query(None, ge=0, description="citation end offset"),
    context: int = Query(PASSAGE_CONTEXT_CHARS, ge=0, le=20_000, description="characters shown either side"),
) -> dict[str, Any]:
    """Return the canonical text around [start, end) (the whole text without them) plus metadata and page."""
    doc = await run_engine(request, "document", engine.document, doc_id)
    return passage_to_dict(doc, start, end, context)


@router.delete("/{doc_id}", dependencies=[Depends(require_document_key)], responses=error_responses(409))
async def delete_document(doc_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    """Return `{"removed": doc_id}` after dropping the filing from the index (404 when unknown)."""
    await run_engine_write(request, "remove", engine.remove, doc_id)
    return {"removed": doc_id}
