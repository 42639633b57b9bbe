"""Opening a built index: `Engine.open` time, resident memory once open, and the first and warm searches and asks,
in fresh processes, this tree beside another one (`--engine-path`, e.g. an older commit's `qa_engine/`) on the
same index, alternating; medians over repeats.

    python bench/open_bench.py --index bench/results/index-1000x --engine-path /tmp/old --repeats 3

Build the index first (`qa-engine ingest bench/results/corpus-1000x --index bench/results/index-1000x`, after
`bench/synthetic.py --scale 1000`). Targets (issue 16): ≤ 3 KB resident a chunk once open; the 1000× corpus
builds and opens in ≤ 8 GB. Writes bench/results/open_bench.json.
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
sys.path.insert(0, str(BENCH))

from common import end_run, machine, save_run
from search_bench import QUERIES

QUESTIONS = ["为什么有研新材2024年稀土材料毛利率为负？", "北方稀土与包钢股份的稀土精矿关联交易怎么定价？",
             "What is the pricing mechanism of the rare earth concentrate related-party transactions?"]
MEASURE = """
import json, sys, time
def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
t0 = time.perf_counter()
from qa_engine import Engine
t1 = time.perf_counter()
before = rss_mb()
engine = Engine.open(sys.argv[1])
t2 = time.perf_counter()
after = rss_mb()
queries, questions, rounds = json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
def ms(call):
    t = time.perf_counter(); call(); return (time.perf_counter() - t) * 1000
first_search = ms(lambda: engine.search(queries[0], k=10))
first_ask = ms(lambda: engine.ask(questions[0]))
searches = [ms(lambda q=q: engine.search(q, k=10)) for _ in range(rounds) for q in queries]
asks = [ms(lambda q=q: engine.ask(q)) for _ in range(rounds) for q in questions]
searches.sort(); asks.sort()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "rss_before_open_mb": before, "rss_after_open_mb": after,
                  "rss_after_asks_mb": rss_mb(), "chunks": engine._snapshot.chunk_count,
                  "first_search_ms": first_search, "first_ask_ms": first_ask,
                  "search_p50_ms": searches[len(searches) // 2], "search_p95_ms": searches[int(len(searches) * 0.95)],
                  "ask_p50_ms": asks[len(asks) // 2], "ask_p95_ms": asks[int(len(asks) * 0.95)]}))
"""


def one_run(index: Path, env: dict[str, str], rounds: int) -> dict[str, float]:
    command = [sys.executable, "-c", MEASURE, str(index.resolve()), json.dumps(QUERIES, ensure_ascii=False),
               json.dumps(QUESTIONS, ensure_ascii=False), str(rounds)]
    # not cwd=ROOT: `python -c` puts the working folder first on sys.path, ahead of PYTHONPATH
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=BENCH / "results", check=False,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {index} failed (exit {done.returncode}): {done.stderr[-800:]}")
    row: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    row["kb_per_chunk"] = (row["rss_after_open_mb"] - row["rss_before_open_mb"]) * 1024 / max(1, row["chunks"])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--engine-path", type=Path, default=None, help="a folder holding another qa_engine/")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the queries in each process")
    parser.add_argument("--reader", default="heuristic", help="QA_READER for every run")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "open_bench.json")
    args = parser.parse_args(argv)
    (BENCH / "results").mkdir(exist_ok=True)
    started = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_READER": args.reader}
    variants = {"this tree": env}
    if args.engine_path is not None:
        variants[f"engine@{args.engine_path}"] = {**env, "PYTHONPATH": f"{args.engine_path}{os.pathsep}"
                                                                      f"{env.get('PYTHONPATH', '')}"}
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, variant_env in variants.items():
            rows[name].append(one_run(args.index, variant_env, args.rounds))
    medians = {name: {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]} for name, runs in rows.items()}
    run: dict[str, object] = {"machine": machine(), "index": str(args.index), "reader": args.reader,
                              "variants": medians, "rows": rows}
    totals = end_run(run, run["machine"], started)  # type: ignore[arg-type]
    names = ("open_s", "rss_after_open_mb", "kb_per_chunk", "first_search_ms", "search_p50_ms", "search_p95_ms",
             "first_ask_ms", "ask_p50_ms", "ask_p95_ms")
    print(f"medians over {args.repeats} fresh processes; {next(iter(medians.values()))['chunks']:.0f} chunks; "
          f"reader {args.reader}")
    print(f"{'variant':>24} | " + " ".join(f"{n:>17}" for n in names))
    for name, row in medians.items():
        print(f"{name[-24:]:>24} | " + " ".join(f"{row[n]:17.2f}" for n in names))
    print(totals)
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
