"""Choosing a backend from Settings, and the errors that name the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qa_engine import Settings
from qa_engine.backends import open_backend
from qa_engine.backends.local import LocalBackend
from qa_engine.errors import ConfigError


def test_local_is_the_default() -> None:
    assert isinstance(open_backend(Settings(backend="local")), LocalBackend)


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(ValidationError, match="'elastic'.*local, milvus"):
        Settings(backend="elastic")
    unchecked = Settings().model_copy(update={"backend": "elastic"})  # model_copy skips validation
    with pytest.raises(ConfigError, match="'elastic'.*local, milvus"):
        open_backend(unchecked)


@pytest.mark.milvus
def test_milvus_without_uri_says_how_to_set_it() -> None:
    pytest.importorskip("pymilvus")
    with pytest.raises(ConfigError, match="QA_MILVUS_URI"):
        open_backend(Settings(backend="milvus", milvus_uri=None))


@pytest.mark.milvus
def test_unreachable_milvus_names_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pymilvus")
    from qa_engine.backends import milvus
    from tests.helpers.milvus_server import free_port

    monkeypatch.setattr(milvus, "CONNECT_TIMEOUT_S", 1.0)
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConfigError, match=f"QA_MILVUS_URI='{uri}'"):
        open_backend(Settings(backend="milvus", milvus_uri=uri))


def test_missing_pymilvus_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from qa_engine.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "pymilvus", None)  # makes `import pymilvus` raise ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'qa-engine\[milvus\]'"):
        open_backend(Settings(backend="milvus", milvus_uri="x.db"))
