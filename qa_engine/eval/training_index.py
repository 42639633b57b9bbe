"""What the reader-training scripts share: the index over the filings (ingested first with --build) and the gold
set, named by the same three arguments, and how a report's figures are printed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_engine.settings import Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine


def training_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with --index, --build (repeatable) and --gold."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--index", type=Path, default=Path("build/train-index"))
    parser.add_argument("--build", type=Path, action="append", default=[], help="ingest into --index first")
    parser.add_argument("--gold", type=Path, default=Path("eval/gold"))
    return parser


def open_training_index(index: Path, build: Sequence[Path] = ()) -> tuple[Engine, Settings]:
    """The engine over `index` (after ingesting `build` into it, when given) and its settings."""
    from qa_engine.engine import Engine, ingest

    chosen = Settings().model_copy(update={"index_dir": index})
    if build:
        ingest(build, chosen)
    return Engine.open(index, settings=chosen), chosen


def print_fields(report: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Print the named fields of a training report as JSON on stdout."""
    json.dump({key: report[key] for key in keys}, sys.stdout, indent=1)
    print()
