"""Run the app under a real uvicorn server in a background thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

import httpx
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from typing import Self

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class BackgroundServer:
    """A uvicorn server on 127.0.0.1 and a free port, started in a daemon thread; use as a context manager."""

    def __init__(self, app: FastAPI, port: int | None = None, startup_timeout_s: float = 30.0) -> None:
        self.port = port or free_port()
        self.url = f"http://{LOCALHOST}:{self.port}"
        self.startup_timeout_s = startup_timeout_s
        config = uvicorn.Config(app, host=LOCALHOST, port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)

    def start(self, ready_path: str = "/healthz") -> Self:
        """Return self once `ready_path` answers 200 (raises RuntimeError after `startup_timeout_s`)."""
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._answers_200(ready_path):
                return self
            if not self._thread.is_alive():
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.url}{ready_path} did not answer 200 within {self.startup_timeout_s}s")

    def _answers_200(self, path: str) -> bool:
        """Return True when GET `path` answers 200."""
        try:
            return httpx.get(f"{self.url}{path}", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait up to `timeout_s` for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self.start("/readyz")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
