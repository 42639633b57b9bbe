"""Command line of the harness: `python -m qa_engine.eval [...]`, also reached as `qa-engine eval [...]`."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qa_engine.errors import QAEngineError
from qa_engine.eval.check import DEFAULT_TOLERANCE, check_results, expected_from_results
from qa_engine.eval.gold import GoldFormatError, GoldItem, GoldProblem, load_gold, read_gold, validate_gold
from qa_engine.eval.report import write_json, write_outputs
from qa_engine.eval.runner import EvalConfig, EvalResult, run_eval

DEFAULT_PROG = "python -m qa_engine.eval"
DEFAULT_EXPECTED = Path("eval/expected.json")
_SECRET_ENV = ("QA_API_KEY",)


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    """Return the argument parser of the harness."""
    parser = argparse.ArgumentParser(prog=prog, description="Evaluate qa_engine on the gold set.")
    parser.add_argument("--help-harness", action="help", help="show this help (for `qa-engine eval`)")
    parser.add_argument("--index", type=Path, default=None,
                        help="index folder (default: index/, or a fresh temporary one with --build)")
    parser.add_argument("--gold", type=Path, default=Path("eval/gold"), help="gold .jsonl file or folder")
    parser.add_argument("--out", type=Path, default=Path("eval/runs/latest"), help="output folder")
    parser.add_argument("--modes", default="bm25,dense,hybrid", help="retrieval modes to compare, comma-separated")
    parser.add_argument("--readers", default="", help="reader variants, comma-separated (default: the configured one)")
    parser.add_argument("--k", type=int, default=20, help="retrieval depth (default: 20)")
    parser.add_argument("--split", choices=("train", "dev", "test"), default=None,
                        help="only the gold items of this split of eval/split.json (default: all, reported per split)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N gold items")
    parser.add_argument("--build", type=Path, action="append", default=[], metavar="PATH",
                        help="ingest PATH into --index before evaluating (repeatable); without --index, "
                        "into a fresh temporary index, so the run is reproducible")
    parser.add_argument("--validate", action="store_true", help="only check that gold spans are verbatim in their docs")
    parser.add_argument("--check", action="store_true", help="fail when a score drops below --expected")
    parser.add_argument("--expected", type=Path, default=DEFAULT_EXPECTED, help="expected scores (eval/expected.json)")
    parser.add_argument("--tolerance", type=float, default=None, help="allowed absolute drop (default: 0.02)")
    parser.add_argument("--update-expected", action="store_true", help="write --expected from this run")
    parser.add_argument("--results", type=Path, default=None, metavar="RESULTS_JSON",
                        help="use a saved results.json instead of running (with --check / --update-expected)")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = DEFAULT_PROG) -> int:
    """Run the harness; return the exit code (1: gold invalid or a score dropped, 2: bad usage)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(prog).parse_args(args_list)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with _index_folder(args) as index:
            config = _config(args, index, reproduce_command(prog, args_list))
            return validate_main(config) if args.validate else _evaluate(config, args)
    except (QAEngineError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


cli_main = main


@contextmanager
def _index_folder(args: argparse.Namespace) -> Iterator[Path]:
    """Yield --index; with --build and no --index, a temporary folder removed afterwards."""
    if args.index is not None or not args.build or args.results is not None:
        yield args.index or Path("index")
        return
    with tempfile.TemporaryDirectory(prefix="qa-eval-index-") as tmp:
        yield Path(tmp)


def _config(args: argparse.Namespace, index: Path, command: str) -> EvalConfig:
    return EvalConfig(
        index=index, gold=args.gold, out=args.out, k=args.k, limit=args.limit,
        modes=_comma_list(args.modes), readers=_comma_list(args.readers), build=tuple(args.build), command=command,
        split=args.split,
    )


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _evaluate(config: EvalConfig, args: argparse.Namespace) -> int:
    results = _saved_results(args.results) if args.results else _run(config)
    if args.update_expected:
        command = str(results.get("meta", {}).get("command") or config.command)
        write_json(args.expected, expected_from_results(results, command, args.tolerance or DEFAULT_TOLERANCE))
        print(f"wrote {args.expected}")
    if not args.check:
        return 0
    code, table = check_results(results, args.expected, args.tolerance)
    print(table)
    return code


def _run(config: EvalConfig) -> dict[str, Any]:
    result = run_eval(config)
    written = write_outputs(result, config.out)
    print(summary(result))
    print("wrote " + ", ".join(str(p) for p in written))
    return result.to_dict()


def _saved_results(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def validate_main(config: EvalConfig) -> int:
    """Print every gold problem (format, unknown doc, non-verbatim span); return 1 when there is any."""
    from qa_engine.eval.runner import open_corpus

    try:
        gold, unsplit = _gold_to_validate(config)
    except GoldFormatError as exc:
        print(f"invalid gold file: {exc}", file=sys.stderr)
        return 1
    problems = validate_gold(gold, open_corpus(config)) + unsplit
    for problem in problems:
        print(f"gold problem: {problem}", file=sys.stderr)
    print(f"{len(gold)} gold items, {len(problems)} problem(s)")
    return 1 if problems else 0


def _gold_to_validate(config: EvalConfig) -> tuple[list[GoldItem], list[GoldProblem]]:
    """The items to check, and one problem per filing the split file lacks. Without `--split` every item is
    checked, so new gold can be validated before its filings are assigned to a split."""
    from qa_engine.eval.splits import load_split_map, no_split_message, split_file_for, unassigned_filings

    if config.split is not None:
        return load_gold(config.gold, split=config.split), []
    items = read_gold(config.gold)
    missing = unassigned_filings(items, load_split_map(split_file_for(config.gold)))
    return items, [GoldProblem(qid, no_split_message(doc)) for doc, qid in missing.items()]


def summary(result: EvalResult) -> str:
    """Return a short plain-text summary of the overall scores."""
    lines = [f"{result.meta['items']} items, primary retrieval {result.meta['primary_retrieval']}"]
    for name, value in result.overall.items():
        lines.append(f"  {name:<24} {'-' if value is None else round(value, 4)}")
    return "\n".join(lines)


def reproduce_command(prog: str, argv: Sequence[str]) -> str:
    """Return the command line that reproduces this run: QA_* settings from the environment, then the args."""
    env = [f"{key}={shlex.quote(value)}" for key, value in sorted(os.environ.items())
           if key.startswith("QA_") and key not in _SECRET_ENV]
    args = [a for a in argv if a not in ("--update-expected", "--check")]
    return " ".join([*env, prog, *(shlex.quote(a) for a in args)])
