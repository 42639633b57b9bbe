"""Index build cost and `engine.search` latency at 1×/10×/100× the bundled filings, against two naive baselines
measured in the same run over the same chunk texts: jieba + rank_bm25, and jieba + bm25s (what a good engineer
writes with bm25s; see bench/baselines.py).

    python bench/search_bench.py                 # default scales (see DEFAULT_SCALES), < 8 min on 2 cores
    python bench/search_bench.py --quick         # 1× only, 2 rounds: about a minute
    python bench/search_bench.py --scales 100 --budget-s 7200   # the 100× run (long: see bench/README.md)

Per scale, in fresh subprocesses (so peak RSS is per stage and imports are not shared):
  build    qa_engine.ingest into a new index folder: wall time and peak RSS (`getrusage(RUSAGE_SELF).ru_maxrss`
           of the build process, imports included).
  measure  Engine.open, a first (cold) query per mode, a warm-up pass (hybrid), then `--rounds` rounds over QUERIES
           for modes bm25 / dense / hybrid and for the baseline, interleaved per round so that machine noise
           hits all of them alike. Baselines: jieba.lcut (default dictionary, HMM on) over each chunk's
           indexed text, then rank_bm25.BM25Okapi (a query is lcut + get_scores + top 10) or bm25s (lcut +
           get_scores + top 10).
Latencies are wall-clock per call (time.perf_counter), p50/p95 over all (query, round) samples.
Writes bench/results/search_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

from baselines import BM25sSearch, RankBM25Search, generation_chunks
from common import end_run, latency_summary, machine, save_run
from synthetic import make_corpus

DEFAULT_SCALES = "1,10"  # 100× does not fit the 8-minute budget on 2 cores: see bench/README.md
MODES = ("bm25", "dense", "hybrid")
BASELINES = ("rank_bm25", "bm25s")
TARGET_P50_MS = 5.0
TARGET_SCALE = 100
K = 10
PLAN_ROUNDS = 2  # engine._plan is also timed alone, in the first rounds only (it is part of every search)

QUERIES = [
    "稀土材料毛利率为负的原因",
    "关联交易定价机制",
    "采矿权摊销年限",
    "稀土精矿季度调价机制",
    "业绩说明会召开时间",
    "独立董事出席业绩说明会",
    "镧铈元素应用领域",
    "毛利率大幅下滑的主要原因",
    "磁材产销量增长",
    "稀土开采总量控制指标",
    "白云鄂博稀土矿元素占比",
    "稀土精矿关联交易总额上限",
    "REO品位每增减1%价格调整",
    "包钢股份履约风险",
    "资产减值损失大幅增加",
    "应收账款增加的原因",
    "存货跌价准备计提比例",
    "无证房产办理产权证",
    "向特定对象发行股票募集资金规模",
    "控股股东持股比例",
    "股份锁定期",
    "硫化锂合资公司",
    "财务性投资认定",
    "申报会计师事务所",
    "中稀湖南应收账款为零",
    "采矿许可证有效期",
    "统计局行政处罚",
    "岗位外包服务",
    "货币资金较上年末减少",
    "在建工程增加原因",
    "经营活动现金流量净额",
    "员工持股平台",
    "实际控制人",
    "前十大股东持股情况",
    "有研新材稀土材料产品",
    "Why was gross margin negative?",
    "rare-earth concentrate pricing formula",
    "related-party transaction cap for 2023",
    "mining right amortisation method",
    "units-of-production method",
    "Why did inventory rise in the first half of 2025?",
    "controlling shareholder",
    "private placement subscriber",
    "lithium sulfide joint venture",
    "construction in progress increase",
    "operating cash flow negative",
    "cash dividend under the 2024 profit distribution",
    "mining quota higher than designed capacity",
    "sales volume higher than output",
    "inventory turnover decline",
]


# ---- subprocess stages ---------------------------------------------------------------------------
def child_build(corpus: Path, index_dir: Path, modes: tuple[str, ...]) -> dict[str, object]:
    """Builds `index_dir` from `corpus` (with dense vectors when `modes` query them); wall times, peak RSS, sizes."""
    started = time.perf_counter()
    from qa_engine import Engine, Settings, ingest

    imported = time.perf_counter()
    shutil.rmtree(index_dir, ignore_errors=True)
    dense = "always" if set(modes) - {"bm25"} else "auto"
    report = ingest([corpus], Settings(index_dir=index_dir, dense_index=dense))
    built = time.perf_counter()
    engine = Engine.open(index_dir)
    snapshot = engine._snapshot
    return {
        "import_s": round(imported - started, 3),
        "build_s": round(built - imported, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_how": "getrusage(RUSAGE_SELF).ru_maxrss of the build subprocess (imports included)",
        "cpu_s": round(_cpu_s(), 1),  # user + system CPU of the build process, all threads: steadier than wall
        "documents": len(snapshot.documents),
        "chunks": snapshot.chunk_count,
        "failed": report.failed,
        "index_mb": round(_folder_bytes(index_dir) / 2**20, 1),
        "dense_index": type(snapshot.dense._index).__name__ if snapshot.dense is not None else None,
    }


def child_measure(
    index_dir: Path, rounds: int, time_limit_s: float, seed: int, result_path: Path | None,
    modes: tuple[str, ...] = MODES, baselines: tuple[str, ...] = BASELINES,
) -> dict[str, object]:
    """Opens the index and times engine.search per mode and the baseline, interleaved per round.

    The result so far is rewritten to `result_path` after the setup and after every round, so that a run
    stopped by the parent's timeout still reports what it measured."""
    started = time.perf_counter()
    from qa_engine import Engine

    result_path = result_path or index_dir.with_name(index_dir.name + ".measure.json")
    result: dict[str, object] = {"rss_after_import_mb": round(_rss_mb(), 1)}
    t = time.perf_counter()
    engine = Engine.open(index_dir)
    result["open_s"] = round(time.perf_counter() - t, 3)
    result["rss_after_open_mb"] = round(_rss_mb(), 1)
    result["documents"], result["chunks"] = len(engine._snapshot.documents), engine._snapshot.chunk_count
    result["default_mode"] = engine.settings.retrieval_mode
    first = {mode: _time_ms(lambda m=mode: engine.search(QUERIES[0], k=K, mode=m)) for mode in modes}
    result["first_query_ms"] = {m: round(v, 2) for m, v in first.items()}
    result["modes"], result["baselines"] = list(modes), list(baselines)
    t = time.perf_counter()
    for query in QUERIES:  # warm-up: hybrid runs the bm25 and dense paths and the planner
        engine.search(query, k=K, mode=modes[-1])
    result["warmup_s"] = round(time.perf_counter() - t, 2)
    searches = _baselines(engine, baselines, result)
    result["queries"] = len(QUERIES)
    _write_json(result_path, result)
    samples: dict[str, list[tuple[str, float]]] = {name: [] for name in (*modes, *searches, "plan")}
    rng = random.Random(seed)
    measure_started = time.perf_counter()
    for round_number in range(rounds):
        order = QUERIES[:]
        rng.shuffle(order)
        for query in order:
            lang = query_lang(query)
            for mode in modes:
                samples[mode].append((lang, _time_ms(lambda q=query, m=mode: engine.search(q, k=K, mode=m))))
            for name, search in searches.items():
                samples[name].append((lang, _time_ms(lambda q=query, s=search: s(q, K))))
            if round_number < PLAN_ROUNDS:
                samples["plan"].append((lang, _time_ms(lambda q=query: engine._plan(q, engine._snapshot))))
        result.update(_latencies(samples), rounds=round_number + 1,
                      measure_s=round(time.perf_counter() - measure_started, 2),
                      peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
        _write_json(result_path, result)
        if time.perf_counter() - started > time_limit_s:
            break
    return result


def _baselines(engine, names: tuple[str, ...], result: dict[str, object]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The baselines' search functions by sample name, built over the chunks' indexed texts; their build times
    and the bm25 overlap go into `result`. rank_bm25 and bm25s share one jieba pass (its time counts for both)."""
    if not names:
        return {}
    chunks = generation_chunks(engine)
    texts = [c.indexed_text() for c in chunks]
    tokens = None
    searches: dict[str, object] = {}
    if "rank_bm25" in names:
        baseline = RankBM25Search(texts)
        tokens, times = baseline.tokens, baseline.build_times
        result["baseline_build"] = times
        result["bm25_top10_overlap_with_baseline"] = _overlap(engine, baseline, [c.chunk_id for c in chunks])
        searches["baseline"] = baseline.search
    if "bm25s" in names:
        fast = BM25sSearch(texts, tokens)
        times = result.get("baseline_build", fast.build_times)  # type: ignore[assignment]
        shared = {k: times[k] for k in ("jieba_init_s", "tokenize_s")}
        result["bm25s_baseline_build"] = {**fast.build_times, **shared,
                                          "total_s": round(sum(shared.values()) + fast.build_times["index_s"], 3)}
        searches["bm25s"] = fast.search
    del texts, chunks
    for query in QUERIES:  # warm-up
        for search in searches.values():
            search(query, K)  # type: ignore[operator]
    return searches


def _latencies(samples: dict[str, list[tuple[str, float]]]) -> dict[str, object]:
    return {
        "latency_ms": {name: latency_summary([v for _, v in values]) for name, values in samples.items()},
        "latency_ms_by_lang": {
            lang: {name: latency_summary([v for lg, v in values if lg == lang]) for name, values in samples.items()}
            for lang in ("zh", "en")
        },
    }


def _write_json(path: Path, value: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _overlap(engine, baseline: RankBM25Search, chunk_ids: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Mean share of the baseline's top 10 chunks that our bm25 mode also returns (a sanity check only);
    `chunk_ids` in the generation's order, as the baseline indexed them."""
    position = {chunk_id: i for i, chunk_id in enumerate(chunk_ids)}
    shares = []
    for query in QUERIES:
        ours = {position[h.chunk_id] for h in engine.search(query, k=K, mode="bm25")}
        theirs = set(baseline.search(query, K))
        shares.append(len(ours & theirs) / max(1, len(theirs)))
    return round(float(np.mean(shares)), 3)


# ---- helpers -------------------------------------------------------------------------------------
def query_lang(query: str) -> str:
    """'zh' when the query holds any CJK character, else 'en' (for the per-language split only)."""
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in query) else "en"


def _time_ms(call) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    call()
    return (time.perf_counter() - t) * 1000


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_child(args: list[str], timeout_s: float, result_path: Path | None = None) -> dict[str, object]:
    """Runs this script as a stage subprocess; its last stdout line is the JSON result. On a timeout or a
    crash, the partial result the child left in `result_path` (if any) is returned with an "error"."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    if result_path is not None:
        result_path.unlink(missing_ok=True)
        command += ["--result", str(result_path)]
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=max(1.0, timeout_s),
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {**_partial(result_path), "error": f"timed out after {timeout_s:.0f} s"}
    if done.returncode != 0:
        return {**_partial(result_path), "error": f"exit {done.returncode}: {done.stderr.strip()[-2000:]}"}
    if result_path is not None:
        result_path.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _partial(result_path: Path | None) -> dict[str, object]:
    if result_path is None or not result_path.is_file():
        return {}
    return {**json.loads(result_path.read_text(encoding="utf-8")), "partial": True}


# ---- the run -------------------------------------------------------------------------------------
def bench_scale(scale: int, args: argparse.Namespace, deadline: float) -> dict[str, object]:
    corpus_dir = args.work / f"corpus-{scale}x"
    index_dir = args.work / f"index-{scale}x"
    t = time.perf_counter()
    corpus = make_corpus(scale, corpus_dir, seed=args.seed)
    result: dict[str, object] = {"scale": scale, "corpus": corpus, "corpus_s": round(time.perf_counter() - t, 2)}
    if args.reuse_index and (index_dir / "store.sqlite").exists():
        result["build"] = {"skipped": "--reuse-index"}
    else:
        t = time.perf_counter()
        result["build"] = run_child(["--child", "build", "--corpus", str(corpus_dir), "--index", str(index_dir),
                                     "--modes", args.modes], deadline - time.perf_counter())
        result["build"]["wall_s"] = round(time.perf_counter() - t, 2)  # type: ignore[index]
        if "error" in result["build"]:  # type: ignore[operator]
            return result
    remaining = deadline - time.perf_counter()
    t = time.perf_counter()
    share = 0.9 if scale == max(args.scale_list) else 0.25  # leave room for the larger scales' builds
    result["measure"] = run_child(
        ["--child", "measure", "--index", str(index_dir), "--rounds", str(args.rounds),
         "--time-limit-s", str(max(5.0, remaining * share)), "--seed", str(args.seed), "--modes", args.modes,
         "--baselines", args.baselines],
        remaining, args.work / f"measure-{scale}x.partial.json",
    )
    result["measure"]["wall_s"] = round(time.perf_counter() - t, 2)  # type: ignore[index]
    return result


def print_report(results: list[dict[str, object]]) -> None:
    print()
    print("index build (fresh subprocess: read, normalise, chunk, tokenise, index, embed) vs the baselines' tokenise +"
          " index over our chunk texts (rank_bm25 / bm25s); the like-for-like build baseline is bench/ingest_bench.py")
    print(f"{'scale':>5} {'docs':>5} {'chunks':>7} {'MB':>6} | {'build s':>8} {'cpu s':>6} {'peakRSS':>8} | "
          f"{'rank_bm25 s':>11} {'bm25s s':>8} | {'open s':>7} {'RSS open':>8}")
    for r in results:
        b, m = r.get("build", {}), r.get("measure", {})
        for stage, part in (("build", b), ("measure", m)):
            if "error" in part:
                note = "partial results kept" if part.get("partial") else "no results"
                print(f"{r['scale']:>4}× {stage} ERROR ({note}): {part['error'][:300]}")
        if "error" in b or "rss_after_open_mb" not in m:
            continue
        fast = m.get("bm25s_baseline_build", {}).get("total_s", float("nan"))
        rank = m.get("baseline_build", {}).get("total_s", float("nan"))
        print(f"{r['scale']:>4}× {m.get('documents', '?'):>5} {m.get('chunks', '?'):>7} "
              f"{r['corpus']['bytes'] / 2**20:6.1f} | {b.get('build_s') or 0:8.1f} {b.get('cpu_s', 0):6.0f} "
              f"{b.get('peak_rss_mb', 0):7.0f}M | {rank:11.1f} {fast:8.1f} | "
              f"{m.get('open_s', 0):7.2f} {m.get('rss_after_open_mb', 0):7.0f}M")
    print("\nsearch latency, ms (p50 / p95); ratio = baseline / ours (> 1: ours faster); * = default mode;"
          " baselines: rank_bm25 and bm25s (both jieba.lcut)")
    print(f"{'scale':>5} {'mode':>7} | {'ours p50':>9} {'ours p95':>9} | {'rank p50':>9} {'rank p95':>9} | "
          f"{'x p50':>7} {'x p95':>7} | {'bm25s p50':>9} {'bm25s p95':>9} | {'x p50':>7} {'x p95':>7} | first ms")
    for r in results:
        m = r.get("measure", {})
        if "latency_ms" not in m:
            continue
        missing = {"p50": float("nan"), "p95": float("nan")}
        base, fast = m["latency_ms"].get("baseline", missing), m["latency_ms"].get("bm25s", missing)
        for mode in m.get("modes", MODES):
            ours = m["latency_ms"][mode]
            label = mode + ("*" if mode == m.get("default_mode") else "")
            print(f"{r['scale']:>4}× {label:>7} | {ours['p50']:9.2f} {ours['p95']:9.2f} | {base['p50']:9.2f} "
                  f"{base['p95']:9.2f} | {base['p50'] / ours['p50']:7.2f} {base['p95'] / ours['p95']:7.2f} | "
                  f"{fast['p50']:9.2f} {fast['p95']:9.2f} | {fast['p50'] / ours['p50']:7.2f} "
                  f"{fast['p95'] / ours['p95']:7.2f} | {m['first_query_ms'][mode]:.0f}")
    print("\nby query language, ms (p50 / p95): plan = engine._plan (glossary + company lookup) alone")
    print(f"{'scale':>5} {'lang':>4} | {'plan':>15} | {'bm25':>15} | {'hybrid':>15} | {'rank_bm25':>15} | {'bm25s':>15}")
    for r in results:
        m = r.get("measure", {})
        for lang, table in m.get("latency_ms_by_lang", {}).items():
            cells = [f"{table[n]['p50']:7.2f}/{table[n]['p95']:7.2f}"
                     for n in ("plan", "bm25", "hybrid", "baseline", "bm25s") if n in table]
            print(f"{r['scale']:>4}× {lang:>4} | " + " | ".join(cells))
    print()
    print(target_line(results))


def target_line(results: list[dict[str, object]]) -> str:
    at = [r for r in results if r["scale"] == TARGET_SCALE and "latency_ms" in r.get("measure", {})]
    if not at:
        return (f"target (search p50 ≤ {TARGET_P50_MS:g} ms at {TARGET_SCALE}×): not measured in this run "
                f"(run with --scales {TARGET_SCALE}; last measured numbers are in bench/README.md)")
    measure = at[0]["measure"]
    mode = measure.get("default_mode", "hybrid")
    p50 = measure["latency_ms"][mode]["p50"]
    verdict = "MET" if p50 <= TARGET_P50_MS else "NOT MET"
    others = ", ".join(f"{m} {measure['latency_ms'][m]['p50']:.2f} ms" for m in measure.get("modes", MODES) if m != mode)
    return (f"target (search p50 ≤ {TARGET_P50_MS:g} ms at {TARGET_SCALE}×, default mode {mode}): {p50:.2f} ms → "
            f"{verdict} ({others})")


def _names(value: str) -> tuple[str, ...]:
    return tuple(name for name in value.split(",") if name and name != "none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default=None, help=f"comma-separated copies of the corpus (default {DEFAULT_SCALES})")
    parser.add_argument("--rounds", type=int, default=None, help="timed passes over the queries (default 5)")
    parser.add_argument("--quick", action="store_true", help="1× only, 2 rounds (about a minute)")
    parser.add_argument("--budget-s", type=float, default=450.0, help="wall-clock budget for the whole run")
    parser.add_argument("--work", type=Path, default=RESULTS, help="where corpora and indexes are written")
    parser.add_argument("--out", type=Path, default=RESULTS / "search_bench.json")
    parser.add_argument("--reuse-index", action="store_true", help="skip the build when the index exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default=",".join(MODES),
                        help="retrieval modes to time (default all; bm25 alone builds the index without vectors)")
    parser.add_argument("--baselines", default=",".join(BASELINES),
                        help="rank_bm25,bm25s (default), a subset, or none: rank_bm25 needs about 16 KB a chunk")
    parser.add_argument("--child", choices=("build", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time-limit-s", type=float, default=120.0, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "build":
        print(json.dumps(child_build(args.corpus, args.index, _names(args.modes)), ensure_ascii=False))
        return 0
    if args.child == "measure":
        result = child_measure(args.index, args.rounds, args.time_limit_s, args.seed, args.result,
                               _names(args.modes), _names(args.baselines))
        print(json.dumps(result, ensure_ascii=False))
        return 0
    args.scales = args.scales or ("1" if args.quick else DEFAULT_SCALES)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    deadline = started + args.budget_s
    run = {"machine": machine(), "settings": {"scales": args.scales, "rounds": args.rounds, "k": K,
                                                "queries": len(QUERIES), "quick": args.quick, "modes": args.modes,
                                                "baselines": args.baselines}, "scales": []}
    args.scale_list = [int(s) for s in args.scales.split(",")]
    for scale in args.scale_list:
        if time.perf_counter() > deadline:
            run["scales"].append({"scale": scale, "build": {"error": "skipped: --budget-s exhausted"}})
            continue
        print(f"[{time.perf_counter() - started:6.1f}s] {scale}×: corpus, build, measure ...", flush=True)
        run["scales"].append(bench_scale(scale, args, deadline))
    totals = end_run(run, run["machine"], started)
    run["target"] = target_line(run["scales"])
    print_report(run["scales"])
    print(totals)
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
