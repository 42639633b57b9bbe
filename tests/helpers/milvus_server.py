"""`milvus-lite server` in a subprocess on 127.0.0.1: a real gRPC endpoint, as a production cluster offers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def milvus_lite_server(data_dir: Path, log: Path) -> Iterator[str]:
    """Starts the server on a free port, yields its URI once it answers, and stops it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
               "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, uri, log)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], uri: str, log: Path) -> None:
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            MilvusClient(uri=uri, timeout=2).list_collections()
            return
        except (MilvusException, OSError):  # not listening yet
            time.sleep(0.3)
    raise RuntimeError(f"milvus-lite server at {uri} not ready after {READY_TIMEOUT_S}s: {log.read_text()[-2000:]}")
