"""Resolves `Settings.backend` to a search backend: the one place that knows which backends exist."""

from __future__ import annotations

from typing import get_args

from qa_engine.backends.base import SearchBackend
from qa_engine.backends.local import LocalBackend
from qa_engine.errors import ConfigError
from qa_engine.settings import BackendName, Settings

BACKENDS: tuple[str, ...] = get_args(BackendName)


def open_backend(settings: Settings) -> SearchBackend:
    """A connected backend for `settings`; raises ConfigError / MissingDependencyError naming the fix."""
    if settings.backend == "local":
        return LocalBackend()
    if settings.backend == "milvus":
        from qa_engine.backends.milvus import MilvusBackend

        return MilvusBackend.connect(settings)
    raise ConfigError(f"unknown backend {settings.backend!r} (QA_BACKEND): use one of {', '.join(BACKENDS)}")
