"""One place that turns every error into JSON `{"error": {"code", "message"}}` with the right HTTP status.

    QAEngineError (engine)          ApiError (this package)
    ├── InvalidQueryError   400     ├── unauthorized          401
    ├── DocumentNotFoundError 404   ├── payload_too_large     413
    ├── IndexBusyError      409     ├── unsupported_media_type 415
    ├── IngestError         422     └── timeout               504
    ├── IndexNotFoundError  503
    ├── IndexMismatchError  503
    └── ConfigError, others 500
"""

from __future__ import annotations

import logging
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
    "ingest_error": 422,
    "index_not_found": 503,
    "index_mismatch": 503,
    "config_error": 500,
    "missing_dependency": 500,
}

HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
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
    """Return the JSON error body every failing endpoint uses."""
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_for(exc: Exception) -> tuple[int, str, str]:
    """Return (HTTP status, error code, client-safe message) for any exception."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, QAEngineError):
        status = ENGINE_STATUS.get(exc.code, 500)
        message = str(exc) if status < 500 or exc.code == "index_not_found" else _generic(exc)
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
    return error_response(status, code, message, headers=headers)


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
