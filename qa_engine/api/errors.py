"""One place that turns every error into JSON `{"error": {"code", "message"}}` with the right HTTP status.

    QAEngineError (engine)            ApiError (this package)
    ├── InvalidQueryError     400     ├── bad_host              400
    ├── DocumentNotFoundError 404     ├── unauthorized          401
    ├── IndexBusyError        409     ├── cross_origin          403
    ├── DocumentExistsError   409     ├── payload_too_large     413
    ├── IngestError           422     ├── unsupported_media_type 415
    ├── IndexNotFoundError    503     └── timeout               504
    ├── IndexMismatchError    503
    ├── IndexCorruptError     503
    └── ConfigError, others   500

Messages reach clients: the server's own folders (index, uploads, working directory) are replaced by their
names, and text that is not valid Unicode is escaped, so that an error can always be encoded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa_engine.errors import QAEngineError

log = logging.getLogger("qa_engine.api")

ENGINE_STATUS: dict[str, int] = {
    "invalid_query": 400,
    "document_not_found": 404,
    "index_busy": 409,
    "document_exists": 409,
    "ingest_error": 422,
    "index_not_found": 503,
    "index_mismatch": 503,
    "index_corrupt": 503,
    "config_error": 500,
    "missing_dependency": 500,
}

HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


class ApiError(Exception):
    """An HTTP-level failure raised by the API layer itself (auth, limits, timeouts)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """Return the JSON error body every failing endpoint uses (always encodable, whatever the input was)."""
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    return JSONResponse(encodable({"error": body}), status_code=status, headers=headers)


def encodable(value: Any) -> Any:
    """Return `value` with every string made valid UTF-8 (lone surrogates escaped as `\\udXXX`)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable(v) for v in value]
    return value


def scrub_paths(message: str, folders: list[Path]) -> str:
    """Return `message` with each of `folders` named by its last part, and the working directory dropped."""
    spelled: dict[str, str] = {}
    for folder in folders:
        for form in {str(folder), str(folder.resolve())}:
            if len(form) > 1:
                spelled[form] = folder.name
    cwd = os.getcwd()
    if len(cwd) > 1:
        spelled[cwd + os.sep] = ""
    for form in sorted(spelled, key=len, reverse=True):
        message = message.replace(form, spelled[form])
    return message


def server_folders(request: Request) -> list[Path]:
    """Return the folders whose paths must not reach clients: the index and the upload folder."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        return []
    folders = [Path(settings.index_dir)]
    if settings.upload_dir:
        folders.append(Path(settings.upload_dir))
    return folders


def status_for(exc: Exception) -> tuple[int, str, str]:
    """Return (HTTP status, error code, client-safe message) for any exception."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, QAEngineError):
        status = ENGINE_STATUS.get(exc.code, 500)
        message = str(exc) if status < 500 or exc.code in {"index_not_found", "index_corrupt"} else _generic(exc)
        return status, exc.code, message or exc.code
    return 500, "internal_error", "internal server error"


def _generic(exc: QAEngineError) -> str:
    """Return a message for a server-side engine failure, hiding paths unless it is a known setup hint."""
    if exc.code in {"index_mismatch", "missing_dependency", "config_error"}:
        return str(exc)
    return "internal server error"


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """Return the JSON error for an engine, API or unexpected exception (never a stack trace)."""
    status, code, message = status_for(exc)
    if status >= 500 and not isinstance(exc, (ApiError, QAEngineError)):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    headers = exc.headers if isinstance(exc, ApiError) else None
    return error_response(status, code, scrub_paths(message, server_folders(request)), headers=headers)


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Return the JSON error for Starlette's own HTTP errors (unknown route, wrong method)."""
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Return a 422 JSON error listing which request fields were invalid."""
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", ""))} for err in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in d["loc"]) for d in details) or "request"
    return error_response(422, "validation_error", f"invalid request: {fields}", details=details)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(QAEngineError, handle_error)
    app.add_exception_handler(ApiError, handle_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_error)
