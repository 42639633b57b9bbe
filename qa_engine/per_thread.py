"""One object per thread and per process, made on the thread's first use: what SQLite connections need (a
connection is not shared between threads, and never used across a fork)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerThread(Generic[T]):
    """`get()` gives the calling thread its own object, made by `make` on first use and again in a forked child."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._local = threading.local()

    def get(self) -> T:
        held: tuple[int, T] | None = getattr(self._local, "held", None)
        if held is None or held[0] != os.getpid():
            held = (os.getpid(), self._make())
            self._local.held = held
        return held[1]
