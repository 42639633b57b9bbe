"""Several server processes on one port, each listening on its own SO_REUSEPORT socket.

uvicorn's own `--workers` shares one listening socket, and whichever worker wakes first accepts every pending
connection: 20 keep-alive connections of 20 landed on one of two workers, which then did all the work. With a socket
per worker the kernel spreads new connections over the workers by a hash of their addresses. Only processes of
the same user can join a port's SO_REUSEPORT group. Each worker builds its own app, so each opens the index
read-only and follows the generation other processes commit (`state.EngineHolder`). The workers write their
metrics into one temporary folder, so /metrics counts the requests of them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from qa_engine.api.metrics import MULTIPROCESS_DIR_ENV

log = logging.getLogger("uvicorn.error")
CHECK_EVERY_S = 0.5
STOP_TIMEOUT_S = 30.0


def reuse_port_socket(host: str, port: int, backlog: int) -> socket.socket:
    """Return a listening TCP socket on host:port that other sockets of this user may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named explicitly: asyncio sets TCP_NODELAY on accepted connections only when it is IPPROTO_TCP, and
    # without it a response written in two parts (head, body) waits 40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


@contextmanager
def shared_metrics_folder() -> Iterator[None]:
    """A fresh folder the workers started inside share for their metrics (inherited through the environment),
    removed afterwards; a folder the operator set already is kept and left alone."""
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="qa-engine-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR_ENV]
        shutil.rmtree(folder, ignore_errors=True)


def run_worker(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on `sock` until SIGTERM/SIGINT (the entry point of a worker process)."""
    config.configure_logging()
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """Starts `config.workers` worker processes, restarts one that dies, and stops them all on SIGINT/SIGTERM.
    A worker that exits with uvicorn's startup-failure code stops them all: a restart would fail the same way."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.config = config
        self.sockets = [reuse_port_socket(config.host, config.port, config.backlog) for _ in range(config.workers)]
        self.processes: list[BaseProcess] = []
        self.should_exit = threading.Event()
        self.failed = False

    def run(self) -> None:
        """Return when a signal or a failed startup stopped the workers."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.should_exit.set())
        with shared_metrics_folder():
            self.processes = [self._start(sock) for sock in self.sockets]
            log.info("Started %d workers: %s", len(self.processes), [p.pid for p in self.processes])
            while not self.should_exit.wait(CHECK_EVERY_S):
                self._replace_dead()
            self._stop_all()
        if self.failed:
            raise SystemExit(STARTUP_FAILURE)

    def _start(self, sock: socket.socket) -> BaseProcess:
        """Return a started worker process serving on `sock` (spawned: no threads or engine state inherited)."""
        process = multiprocessing.get_context("spawn").Process(target=run_worker, args=(self.config, sock))
        process.start()
        return process

    def _replace_dead(self) -> None:
        """Restart each worker that exited; stop everything when one could not start."""
        for index, process in enumerate(self.processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start; stopping", process.pid)
                self.failed = True
                self.should_exit.set()
                return
            log.warning("worker [%s] exited with code %s; starting another", process.pid, process.exitcode)
            self.processes[index] = self._start(self.sockets[index])

    def _stop_all(self) -> None:
        """Send SIGTERM to every worker (uvicorn then finishes open requests) and wait; kill the stragglers."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        for sock in self.sockets:
            sock.close()
