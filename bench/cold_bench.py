"""Cold start: `qa-engine ask` as a fresh process, `import qa_engine`, and in a fresh process the split of import,
`Engine.open` and the first and second `ask`; medians over repeated runs, this tree beside another one
(`--engine-path`, e.g. an older commit's `qa_engine/` folder) in the same run, alternating.

    python bench/cold_bench.py --index bench/results/index-ask                  # this tree only
    python bench/cold_bench.py --index IDX --engine-path /tmp/old --old-index IDX_OLD --repeats 7
    python bench/cold_bench.py --engine-path /tmp/old --old-env QA_MODEL_CACHE_DIR=/tmp/old-models  # own caches

The index is built from data/filings when `--index` does not exist (an older tree may need its own index:
`--old-index`). Targets (issue 16): ask cold ≤ 0.6 s; first answer ≤ 0.3 s after open.
Writes bench/results/cold_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from common import end_run, machine, save_run

QUESTIONS = ["为什么有研新材2024年稀土材料毛利率为负？", "北方稀土与包钢股份的稀土精矿关联交易怎么定价？"]
# the console script (qa_engine.console since it starts the reader's session early; cli.py's main before)
CONSOLE_SCRIPT = """import pathlib, sys
import qa_engine
if (pathlib.Path(qa_engine.__file__).parent / "console.py").exists():
    from qa_engine.console import main
else:
    from qa_engine.cli import main
sys.argv[0] = 'qa-engine'
main()
"""
SPLIT = """
import json, sys, time
t0 = time.perf_counter()
from qa_engine import Engine, ingest
t1 = time.perf_counter()
engine = Engine.open(sys.argv[1])
t2 = time.perf_counter()
engine.ask(sys.argv[2])
t3 = time.perf_counter()
engine.ask(sys.argv[3])
t4 = time.perf_counter()
heavy = sorted(m for m in ("bm25s", "numba", "scipy", "faiss", "torch", "sentence_transformers", "jieba") if m in sys.modules)
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_ask_s": t3 - t2, "second_ask_s": t4 - t3,
                  "heavy_modules": heavy}))
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    # not cwd=ROOT: `python -c` puts the working folder first on sys.path, ahead of PYTHONPATH
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=BENCH / "results", check=False,
                          timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed (exit {done.returncode}): {done.stderr[-800:]} {done.stdout[-400:]}")
    return time.perf_counter() - t, done.stdout


def one_round(index: Path, env: dict[str, str]) -> dict[str, object]:
    python = sys.executable
    cli = [python, "-c", CONSOLE_SCRIPT]
    row: dict[str, object] = {}
    row["ask_cli_s"], _ = timed([*cli, "ask", QUESTIONS[0], "--index", str(index)], env)
    row["import_qa_engine_s"], _ = timed([python, "-c", "import qa_engine"], env)
    row["python_s"], _ = timed([python, "-c", "pass"], env)
    _, out = timed([python, "-c", SPLIT, str(index), *QUESTIONS], env)
    row.update(json.loads(out.strip().splitlines()[-1]))
    return row


def summary(rows: list[dict[str, object]]) -> dict[str, object]:
    keys = [k for k, v in rows[0].items() if isinstance(v, float)]
    return {**{k: round(statistics.median(float(r[k]) for r in rows), 3) for k in keys},  # type: ignore[arg-type]
            "heavy_modules": rows[0].get("heavy_modules"), "runs": len(rows)}


def ensure_index(index: Path, env: dict[str, str]) -> None:
    if not (index / "store.sqlite").exists():
        code = f"from qa_engine import Settings, ingest; ingest([{str(ROOT / 'data' / 'filings')!r}], " \
               f"Settings(index_dir={str(index)!r}))"
        timed([sys.executable, "-c", code], env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=BENCH / "results" / "index-ask")
    parser.add_argument("--engine-path", type=Path, default=None, help="a folder holding another qa_engine/")
    parser.add_argument("--old-index", type=Path, default=None, help="index for --engine-path (default --index)")
    parser.add_argument("--old-env", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for --engine-path only, e.g. QA_MODEL_CACHE_DIR=/tmp/old-models (repeatable)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reader", default=None, help="QA_READER for every run (default: the Settings default)")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "cold_bench.json")
    args = parser.parse_args(argv)
    (BENCH / "results").mkdir(exist_ok=True)
    started = time.perf_counter()
    base_env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if args.reader:
        base_env["QA_READER"] = args.reader
    variants = {"this tree": (args.index, base_env)}
    if args.engine_path is not None:
        old_env = {**base_env, "PYTHONPATH": f"{args.engine_path}{os.pathsep}{base_env.get('PYTHONPATH', '')}",
                   **dict(item.split("=", 1) for item in args.old_env)}
        variants[f"engine@{args.engine_path}"] = (args.old_index or args.index, old_env)
    for index, env in variants.values():
        ensure_index(index, env)
    for tree in (ROOT, args.engine_path):  # bytecode written first, as `make run` does: no run compiles the package
        if tree is not None:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "qa_engine")], check=True,
                           capture_output=True, timeout=300)
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (index, env) in variants.items():
            rows[name].append(one_round(index, env))
    run: dict[str, object] = {"machine": machine(), "reader": args.reader or "Settings default", "variants": {n: summary(r) for n, r in rows.items()}, "rows": rows}
    totals = end_run(run, run["machine"], started)  # type: ignore[arg-type]
    print(f"medians over {args.repeats} runs, seconds; reader: {run['reader']}")
    names = ("ask_cli_s", "import_qa_engine_s", "python_s", "import_s", "open_s", "first_ask_s", "second_ask_s")
    print(f"{'variant':>32} | " + " ".join(f"{n:>18}" for n in names) + " | heavy modules after two asks")
    for name, row in run["variants"].items():  # type: ignore[union-attr]
        print(f"{name[-32:]:>32} | " + " ".join(f"{row.get(n, float('nan')):18.3f}" for n in names)
              + f" | {row['heavy_modules']}")
    print(totals)
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
