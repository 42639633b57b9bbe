"""Fixtures of the eval tests: the session index of tests/conftest.py, and one harness run on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_engine import Engine, ingest
from qa_engine.eval.corpus import Corpus

REPO = Path(__file__).resolve().parents[2]
GOLD_DIR = REPO / "eval" / "gold"
MORE_FILINGS = REPO / "data" / "filings-more"
E2E_ITEMS = 15


@pytest.fixture(scope="session")
def index_dir(built_index: Path) -> Path:
    """The session's index over data/filings (tests/conftest.py builds it once for every test folder)."""
    return built_index


@pytest.fixture(scope="session")
def corpus(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The texts of every filing the gold set is written on: data/filings (the session index) and
    data/filings-more (indexed here, on its own: a few seconds)."""
    from qa_engine import Settings

    folder = tmp_path_factory.mktemp("more-index")
    report = ingest([MORE_FILINGS], Settings(index_dir=folder))
    assert not report.failed, report.failed
    with Engine.open(folder, Settings(index_dir=folder)) as more:
        extra = Corpus.from_engine(more)
    base = Corpus.from_engine(engine)
    return Corpus(doc_ids={**base.doc_ids, **extra.doc_ids}, texts={**base.texts, **extra.texts})


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
