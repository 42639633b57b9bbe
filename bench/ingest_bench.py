"""Ingest throughput (chunks/s end to end, per stage) at 1×/10× the bundled filings, against a naive build that
does the same work (read, normalise, chunk, tokenise, bm25s index, save) measured in the same run.

    python bench/ingest_bench.py                         # scales 1,10; 3 repeats each, medians
    python bench/ingest_bench.py --scales 10 --repeats 5
    python bench/ingest_bench.py --engine-path /tmp/old  # also time another qa_engine tree (an older commit's
                                                         # `qa_engine/` folder) in the same run: before/after

Every build runs in a fresh subprocess (imports included, as `qa-engine ingest` pays them), into a new index
folder, with default Settings unless `--env K=V` is given. Builds of the variants alternate within each repeat so
that machine noise hits them alike; the report gives medians and the ratios of medians. Stage times come from
wrapping the writer's stages (`_chunk`, `_vectors`, `write_generation`, `_commit`) and `read_documents`.
Writes bench/results/ingest_bench.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

from common import end_run, machine, save_run
from synthetic import make_corpus

STAGES = {"qa_engine.engine": ("read_documents",),
          "qa_engine.index.writer": ("_chunk", "_vectors", "write_generation", "_commit", "_send_new_chunks")}


def child_engine(corpus: Path, index_dir: Path) -> dict[str, object]:
    started = time.perf_counter()
    import qa_engine
    from qa_engine import Settings, ingest

    imported = time.perf_counter()
    stage_s = _wrap_stages()
    shutil.rmtree(index_dir, ignore_errors=True)
    ingest([corpus], Settings(index_dir=index_dir))
    built = time.perf_counter()
    chunks = _chunk_count(index_dir)
    return {"import_s": round(imported - started, 3), "build_s": round(built - imported, 3),
            "total_s": round(built - started, 3), "chunks": chunks, "chunks_per_s": round(chunks / (built - started), 1),
            "stages_s": {k: round(v, 3) for k, v in stage_s.items()}, "cpu_s": round(_cpu_s(), 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "code": str(Path(qa_engine.__file__).parent)}


def child_naive(corpus: Path, index_dir: Path) -> dict[str, object]:
    started = time.perf_counter()
    from baselines import naive_build

    shutil.rmtree(index_dir, ignore_errors=True)
    result = naive_build(corpus, index_dir)
    total = time.perf_counter() - started
    return {"total_s": round(total, 3), "chunks": result.chunks, "chunks_per_s": round(result.chunks / total, 1),
            "stages_s": result.seconds, "cpu_s": round(_cpu_s(), 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _wrap_stages() -> dict[str, float]:
    import importlib

    totals: dict[str, float] = {}
    for module_name, names in STAGES.items():
        module = importlib.import_module(module_name)
        for name in names:
            if hasattr(module, name):
                setattr(module, name, _timed(getattr(module, name), name, totals))
    return totals


def _timed(function, name: str, totals: dict[str, float]):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - t
    return wrapper


def _chunk_count(index_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(index_dir / "store.sqlite") as conn:
        return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(kind: str, corpus: Path, index_dir: Path, code: Path | None, env: dict[str, str],
              timeout_s: float) -> dict[str, object]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--corpus", str(corpus),
               "--index", str(index_dir)]
    child_env = {**os.environ, **env}
    if code is not None:
        child_env["PYTHONPATH"] = f"{code}{os.pathsep}{child_env.get('PYTHONPATH', '')}"
    t = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=max(1.0, timeout_s), cwd=ROOT,
                              env=child_env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-1500:]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - t, 3)
    return result


def median_of(rows: list[dict[str, object]], key: str) -> float:
    values = [float(r[key]) for r in rows if key in r]  # type: ignore[arg-type]
    return round(statistics.median(values), 3) if values else float("nan")


def summarise(rows: list[dict[str, object]]) -> dict[str, object]:
    ok = [r for r in rows if "error" not in r]
    stages = sorted({s for r in ok for s in r.get("stages_s", {})})  # type: ignore[union-attr]
    return {"runs": len(ok), "errors": [r["error"] for r in rows if "error" in r],
            "chunks": ok[0]["chunks"] if ok else None,
            **{k: median_of(ok, k) for k in ("process_wall_s", "total_s", "chunks_per_s", "cpu_s", "peak_rss_mb")},
            "stages_s": {s: round(statistics.median([r["stages_s"].get(s, 0.0) for r in ok]), 3)  # type: ignore[union-attr]
                         for s in stages}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine-path", type=Path, action="append", default=[],
                        help="a folder holding another `qa_engine/` package to time beside this one")
    parser.add_argument("--env", action="append", default=[], help="K=V for the engine builds (e.g. QA_EMBEDDER=none)")
    parser.add_argument("--budget-s", type=float, default=1200.0)
    parser.add_argument("--work", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=RESULTS / "ingest_bench.json")
    parser.add_argument("--child", choices=("engine", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child = child_engine if args.child == "engine" else child_naive
        print(json.dumps(child(args.corpus, args.index), ensure_ascii=False))
        return 0
    env = dict(item.split("=", 1) for item in args.env)
    variants: list[tuple[str, str, Path | None]] = [("engine", "engine", None)]
    variants += [(f"engine@{path}", "engine", path) for path in args.engine_path]
    variants.append(("naive bm25s build", "naive", None))
    started = time.perf_counter()
    deadline = started + args.budget_s
    run: dict[str, object] = {"machine": machine(), "env": env, "scales": []}
    for scale in (int(s) for s in args.scales.split(",")):
        corpus_dir = args.work / f"corpus-{scale}x"
        corpus = make_corpus(scale, corpus_dir)
        rows: dict[str, list[dict[str, object]]] = {name: [] for name, _, _ in variants}
        for repeat in range(args.repeats):
            for name, kind, code in variants:
                if time.perf_counter() > deadline:
                    break
                index_dir = args.work / f"ingest-{scale}x-{kind}"
                rows[name].append(run_child(kind, corpus_dir, index_dir, code, env if kind == "engine" else {},
                                            deadline - time.perf_counter()))
                print(f"[{time.perf_counter() - started:6.1f}s] {scale}× {name} #{repeat + 1}: "
                      f"{rows[name][-1].get('total_s', rows[name][-1].get('error'))}", flush=True)
        run["scales"].append({"scale": scale, "bytes": corpus["bytes"],
                              "variants": {name: summarise(r) for name, r in rows.items()}, "rows": rows})
    totals = end_run(run, run["machine"], started)
    print_report(run)
    print(totals)
    save_run(run, args.out)
    return 0


def print_report(run: dict[str, object]) -> None:
    print("\ningest, medians (fresh process each, imports included); ratio = this variant's time / engine's")
    print(f"{'scale':>5} {'variant':>40} | {'chunks':>7} {'wall s':>7} {'chunks/s':>9} {'cpu s':>7} {'peak MB':>8} "
          f"{'ratio':>6} | stages s")
    for entry in run["scales"]:  # type: ignore[attr-defined]
        base = entry["variants"]["engine"]["total_s"]
        for name, summary in entry["variants"].items():
            stages = " ".join(f"{k}={v}" for k, v in summary["stages_s"].items())
            ratio = summary["total_s"] / base if base and not math.isnan(base) else float("nan")
            print(f"{entry['scale']:>4}× {name[-40:]:>40} | {summary['chunks'] or 0:>7} {summary['total_s']:7.2f} "
                  f"{summary['chunks_per_s']:9.1f} {summary['cpu_s']:7.1f} {summary['peak_rss_mb']:8.0f} "
                  f"{ratio:6.2f} | {stages}")


if __name__ == "__main__":
    sys.exit(main())
