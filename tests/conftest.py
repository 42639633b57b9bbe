"""Session fixtures shared by every test folder: one real index over data/filings, the engine on it, and tiny
local models (built here, never downloaded).

    built_index                 Path of an index built once over data/filings with default Settings
    engine                      Engine.open(built_index) (session-wide: do not add/remove through it)
    filings_dir                 data/filings (read-only)
    small_filings               a fresh folder with copies of the two short 北方稀土 filings + their sidecar
    tiny_sentence_transformer   folder of a sentence-transformers model (tiny BERT + mean pooling)
    tiny_cross_encoder          folder of a BertForSequenceClassification(num_labels=1) cross-encoder
    tiny_qa_model               folder of a BertForQuestionAnswering extractive-QA model
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

# Read by huggingface_hub at import time, so set before anything imports it: tests never download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# `tests.helpers` is importable whatever the working directory pytest was started from.
if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest

from qa_engine import Engine, Settings, ingest
from tests.helpers.filings import FILINGS, REPO, copy_filings
from tests.helpers.tiny_models import (
    build_cross_encoder,
    build_extractive_qa,
    build_sentence_transformer,
)

SMALL_FILINGS = ("000_f158551545b1b3bd.txt", "001_7869416333b8ea17.txt")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def filings_dir() -> Path:
    return FILINGS


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index over every filing in data/filings, built once per session with default settings but for dense
    vectors (QA_DENSE_INDEX=always), so that every retrieval mode can be queried on it."""
    folder = tmp_path_factory.mktemp("index")
    report = ingest([FILINGS], Settings(index_dir=folder, dense_index="always"))
    assert report.ok and len(report.added) == 5, report.to_dict()
    return folder


@pytest.fixture(scope="session")
def engine(built_index: Path) -> Iterator[Engine]:
    """The engine over `built_index`; shared by the whole session, so tests must not write through it."""
    with Engine.open(built_index, Settings(index_dir=built_index)) as opened:
        yield opened


@pytest.fixture()
def small_filings(tmp_path: Path) -> Path:
    """A fresh folder holding copies of the two short 北方稀土 filings and the metadata sidecar."""
    return copy_filings(tmp_path / "filings", SMALL_FILINGS)


@pytest.fixture(scope="session")
def tiny_sentence_transformer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sentence_transformer(tmp_path_factory.mktemp("tiny-models") / "sentence-transformer")


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cross_encoder(tmp_path_factory.mktemp("tiny-models") / "cross-encoder")


@pytest.fixture(scope="session")
def tiny_qa_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_extractive_qa(tmp_path_factory.mktemp("tiny-models") / "extractive-qa")
