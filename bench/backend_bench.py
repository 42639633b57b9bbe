"""Ingest throughput and search latency of the local backend vs Milvus (milvus-lite, or a server) on the
N× synthetic corpus, measured in the same run; ratios are Milvus / local.

    python bench/backend_bench.py                         # 10×, milvus-lite .db, 20 queries × 2 rounds
    python bench/backend_bench.py --milvus-uri http://localhost:19530   # a Milvus standalone/cluster

Per backend, in fresh subprocesses run one after the other (a milvus-lite folder is served by one process):
  build    qa_engine.ingest of the corpus into a new index: wall time and chunks/s end to end (chunking, embedding,
           generation files, and for Milvus the upserts). Then the index write alone over the same chunks and
           vectors: bm25s + FAISS build (local) vs upsert into an empty collection (Milvus).
  measure  Engine.open, one warm-up pass, then `--rounds` rounds over the first `--queries` of search_bench's
           queries for bm25 / dense / hybrid, k = 10: latency p50/p95 and sequential queries per second.
Writes bench/results/backend_bench.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

from common import machine, save_run
from search_bench import QUERIES, _summary
from synthetic import make_corpus

MODES = ("bm25", "dense", "hybrid")
BACKENDS = ("local", "milvus")
K = 10


def settings_for(backend: str, index_dir: Path, milvus_uri: str | None):  # type: ignore[no-untyped-def]
    from qa_engine import Settings

    uri = milvus_uri or str(index_dir.with_name(index_dir.name + "-milvus.db"))
    return Settings(index_dir=index_dir, backend=backend, milvus_uri=uri, milvus_collection="bench_chunks",
                    dense_index="always")  # the default corpus size builds no dense index; every mode is measured


# ---- subprocess stages ---------------------------------------------------------------------------
def child_build(backend: str, corpus: Path, index_dir: Path, milvus_uri: str | None) -> dict[str, object]:
    from qa_engine import Engine, ingest

    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(index_dir.with_name(index_dir.name + "-milvus.db"), ignore_errors=True)
    settings = settings_for(backend, index_dir, milvus_uri)
    started = time.perf_counter()
    ingest([corpus], settings)
    build_s = time.perf_counter() - started
    with Engine.open(index_dir, settings) as engine:
        chunks = engine._snapshot.chunk_count
        write_s = time_index_write(backend, engine, settings)
    return {"build_s": round(build_s, 2), "chunks": chunks, "chunks_per_s": round(chunks / build_s, 1),
            "index_write_s": round(write_s, 2), "index_write_chunks_per_s": round(chunks / write_s, 1)}


def time_index_write(backend: str, engine, settings) -> float:  # type: ignore[no-untyped-def]
    """Seconds to write the search index alone from the engine's chunks and stored vectors."""
    from qa_engine.index.dense import DenseIndex
    from qa_engine.index.sparse import SparseIndex
    from qa_engine.index.writer import STORE_FILE
    from qa_engine.store.sqlite_store import SQLiteStore

    store = SQLiteStore(engine.index_dir / STORE_FILE)
    chunks = store.chunks()  # with their terms (an open engine holds none, or none of their terms)
    vectors = store.vectors([c.chunk_id for c in chunks], engine._snapshot.manifest.embed_dim)
    cards = store.cards()
    store.close()
    started = time.perf_counter()
    if backend == "local":
        SparseIndex.build([c.tokens for c in chunks], settings.bm25_k1, settings.bm25_b)
        DenseIndex.build(vectors, settings.hnsw_threshold)
        return time.perf_counter() - started
    from qa_engine.backends.milvus import MilvusBackend

    target = MilvusBackend.connect(settings.model_copy(update={"milvus_collection": "bench_write_only"}))
    target.clear()
    started = time.perf_counter()
    target.upsert(chunks, vectors, cards)
    elapsed = time.perf_counter() - started
    assert target.count() == len(chunks)
    target.clear()
    target.close()
    return elapsed


def child_measure(backend: str, index_dir: Path, milvus_uri: str | None, queries: list[str],
                  rounds: int) -> dict[str, object]:
    from qa_engine import Engine

    settings = settings_for(backend, index_dir, milvus_uri)
    if backend == "milvus":
        import pymilvus  # noqa: F401  (the client library's own memory is the same at any corpus size)
    base_mb = rss_mb()
    started = time.perf_counter()
    engine = Engine.open(index_dir, settings)
    open_s = time.perf_counter() - started
    open_mb = rss_mb()
    for query in queries:
        engine.search(query, k=K, mode="hybrid")
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(rounds):
        for query in queries:
            for mode in MODES:
                t = time.perf_counter()
                engine.search(query, k=K, mode=mode)
                samples[mode].append((time.perf_counter() - t) * 1000)
    served_mb = rss_mb()
    engine.close()
    latency = {mode: _summary(values) for mode, values in samples.items()}
    qps = {mode: round(1000 / latency[mode]["mean"], 1) for mode in MODES}
    memory = {"before_open": base_mb, "open": open_mb, "after_queries": served_mb,
              "engine": round(served_mb - base_mb, 1)}
    return {"open_s": round(open_s, 2), "latency_ms": latency, "qps": qps, "rss_mb": memory}


def rss_mb() -> float:
    """This process's resident memory (the milvus-lite server, a process of its own, is not counted)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# ---- the run -------------------------------------------------------------------------------------
def run_child(args: list[str], timeout_s: float) -> dict[str, object]:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=max(1.0, timeout_s),
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-2000:]}"}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_backend(backend: str, args: argparse.Namespace, corpus: Path, deadline: float) -> dict[str, object]:
    index_dir = args.work / f"backend-index-{backend}-{args.scale}x"
    common = ["--backend", backend, "--index", str(index_dir)] + (["--milvus-uri", args.milvus_uri]
                                                                  if args.milvus_uri else [])
    build = run_child(["--child", "build", "--corpus", str(corpus), *common], deadline - time.perf_counter())
    if "error" in build:
        return {"build": build}
    measure = run_child(["--child", "measure", "--queries", str(args.queries), "--rounds", str(args.rounds), *common],
                        deadline - time.perf_counter())
    return {"build": build, "measure": measure}


def print_report(results: dict[str, dict[str, object]]) -> None:
    local, milvus = results["local"], results["milvus"]
    print("\ningest (qa_engine.ingest end to end; index write alone); ratio = milvus / local (> 1: milvus slower)")
    print(f"{'backend':>8} {'chunks':>7} | {'build s':>8} {'chunks/s':>9} | {'write s':>8} {'chunks/s':>9}")
    for name, part in results.items():
        b = part["build"]
        if "error" in b:
            print(f"{name:>8} ERROR: {str(b['error'])[:300]}")
            continue
        print(f"{name:>8} {b['chunks']:>7} | {b['build_s']:8.1f} {b['chunks_per_s']:9.0f} | "
              f"{b['index_write_s']:8.2f} {b['index_write_chunks_per_s']:9.0f}")
    if "error" not in local["build"] and "error" not in milvus["build"]:
        lb, mb = local["build"], milvus["build"]
        print(f"{'ratio':>8} {'':>7} | {mb['build_s'] / lb['build_s']:8.2f} {'':>9} | "
              f"{mb['index_write_s'] / lb['index_write_s']:8.2f}")
    print("\nsearch latency ms (p50 / p95) and sequential QPS, k = 10; ratio = milvus / local")
    print(f"{'mode':>7} | {'local p50':>9} {'p95':>8} {'QPS':>7} | {'milvus p50':>10} {'p95':>8} {'QPS':>7} | "
          f"{'x p50':>7} {'x p95':>7}")
    lm, mm = local.get("measure", {}), milvus.get("measure", {})
    if "latency_ms" not in lm or "latency_ms" not in mm:
        print("  not measured:", lm.get("error") or mm.get("error"))
        return
    for mode in MODES:
        lo, mi = lm["latency_ms"][mode], mm["latency_ms"][mode]
        print(f"{mode:>7} | {lo['p50']:9.2f} {lo['p95']:8.2f} {lm['qps'][mode]:7.1f} | {mi['p50']:10.2f} "
              f"{mi['p95']:8.2f} {mm['qps'][mode]:7.1f} | {mi['p50'] / lo['p50']:7.1f} {mi['p95'] / lo['p95']:7.1f}")
    print("\nengine resident memory MB (this process; imports and models before open counted apart)")
    print(f"{'backend':>8} | {'before open':>11} {'open':>8} {'served':>8} | {'engine':>8} {'KB/chunk':>9}")
    for name, part in results.items():
        memory, chunks = part.get("measure", {}).get("rss_mb"), part["build"].get("chunks") or 1
        if memory:
            print(f"{name:>8} | {memory['before_open']:11.1f} {memory['open']:8.1f} {memory['after_queries']:8.1f} | "
                  f"{memory['engine']:8.1f} {memory['engine'] * 1024 / chunks:9.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="copies of the bundled filings (default 10)")
    parser.add_argument("--queries", type=int, default=20, help="how many of search_bench's queries (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the queries (default 2)")
    parser.add_argument("--milvus-uri", default=None, help="a Milvus server; default: a milvus-lite .db in --work")
    parser.add_argument("--budget-s", type=float, default=1500.0, help="wall-clock budget for the whole run")
    parser.add_argument("--work", type=Path, default=RESULTS, help="where the corpus and indexes are written")
    parser.add_argument("--out", type=Path, default=RESULTS / "backend_bench.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=("build", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--backend", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "build":
        print(json.dumps(child_build(args.backend, args.corpus, args.index, args.milvus_uri)))
        return 0
    if args.child == "measure":
        queries = QUERIES[: args.queries]
        print(json.dumps(child_measure(args.backend, args.index, args.milvus_uri, queries, args.rounds)))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    deadline = time.perf_counter() + args.budget_s
    corpus_dir = args.work / f"corpus-{args.scale}x"
    corpus = make_corpus(args.scale, corpus_dir, seed=args.seed)
    run: dict[str, object] = {"machine": machine(), "corpus": corpus, "settings": {
        "scale": args.scale, "queries": args.queries, "rounds": args.rounds, "k": K,
        "milvus": args.milvus_uri or "milvus-lite .db"}}
    results = {backend: bench_backend(backend, args, corpus_dir, deadline) for backend in BACKENDS}
    run["backends"] = results
    print_report(results)
    print()
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
