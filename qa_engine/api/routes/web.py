"""The chat page at `/` and its static files at `/static/*` (vanilla JS, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """Return the chat page."""
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """Return the page icon (browsers ask for /favicon.ico whatever the page links)."""
    return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


def mount_static(app: FastAPI) -> None:
    """Serve `qa_engine/web/` at `/static`."""
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
