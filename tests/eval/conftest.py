"""Shared fixtures of the eval tests: one real index over data/filings per session, and one harness run on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine.eval.corpus import Corpus
from qa_engine.settings import Settings

REPO = Path(__file__).resolve().parents[2]
FILINGS = REPO / "data" / "filings"
GOLD_DIR = REPO / "eval" / "gold"
E2E_ITEMS = 15


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index over every filing in data/filings, built once per session with default settings."""
    from qa_engine.engine import Engine

    path = tmp_path_factory.mktemp("eval-index")
    report = Engine.build([FILINGS], Settings(index_dir=path))
    assert report.ok, report.failed
    return path


@pytest.fixture(scope="session")
def corpus(index_dir: Path) -> Corpus:
    from qa_engine.engine import Engine

    with Engine.open(index_dir, settings=Settings(index_dir=index_dir)) as engine:
        return Corpus.from_engine(engine)


@pytest.fixture(scope="session")
def harness_run(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m qa_engine.eval` on the first 15 gold items at k=10: run/latest/* and run/expected.json."""
    from qa_engine.eval import main

    run = tmp_path_factory.mktemp("eval-run")
    code = main([
        "--index", str(index_dir), "--gold", str(GOLD_DIR), "--out", str(run / "latest"),
        "--limit", str(E2E_ITEMS), "--k", "10", "--update-expected", "--expected", str(run / "expected.json"),
    ])
    assert code == 0
    return run
