"""The pieces of `serve --workers N` that need no server: sockets sharing a port, and what cannot be shared."""

from __future__ import annotations

import select
import socket

import pytest

from qa_engine import Settings
from qa_engine.api.app import check_workers
from qa_engine.api.server import LOCALHOST
from qa_engine.api.workers import reuse_port_socket
from qa_engine.errors import ConfigError


def test_connections_are_spread_over_the_sockets_of_one_port() -> None:
    first = reuse_port_socket(LOCALHOST, 0, backlog=64)
    second = reuse_port_socket(LOCALHOST, first.getsockname()[1], backlog=64)
    clients = [socket.create_connection(first.getsockname(), timeout=5) for _ in range(32)]
    accepted = {id(first): 0, id(second): 0}
    for listener in (first, second):
        listener.setblocking(False)
        while select.select([listener], [], [], 0.2)[0]:
            listener.accept()[0].close()
            accepted[id(listener)] += 1
    for sock in (*clients, first, second):
        sock.close()
    assert sum(accepted.values()) == 32
    assert min(accepted.values()) >= 4, accepted  # picked by a hash of the client port: fewer has odds of 1 in 400,000


@pytest.mark.parametrize(("workers", "uri", "refused"),
                         [(2, "index/milvus.db", True), (1, "index/milvus.db", False),
                          (2, "http://milvus.internal:19530", False)])
def test_a_milvus_lite_file_is_served_by_one_worker(workers: int, uri: str, refused: bool) -> None:
    settings = Settings(workers=workers, backend="milvus", milvus_uri=uri)
    if refused:
        with pytest.raises(ConfigError, match="one process at a time"):
            check_workers(settings)
    else:
        check_workers(settings)
