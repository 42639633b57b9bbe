"""In-process `engine.ask` latency on the bundled filings, per stage, against `engine.search` for the same
questions and against a naive ask (jieba + bm25s top 5 + the sentence sharing most question words, over the same
chunk texts; bench/baselines.py), measured in the same run.

    python bench/ask_bench.py            # ~40 questions × 7 rounds, < 8 min on 2 cores (build included)
    python bench/ask_bench.py --quick    # 2 rounds: about a minute with a built index
    python bench/ask_bench.py --reader neural --questions 20 --rounds 3   # the neural reader (target p50 ≤ 400 ms)
    python bench/ask_bench.py --reader neural --torch-too --quick    # its onnx runtime beside torch, same rounds
    python bench/ask_bench.py --reader neural --table-too --quick    # beside the reader with its vector table

The index is built (incrementally: a no-op when unchanged) in bench/results/index-ask from data/filings.
Questions: 40 from eval/gold/*.jsonl, alternating Chinese and English, round-robin over the files (a fixed list when
the gold files are absent). After one warm-up pass, each round asks every question once and searches it
once (k = Settings.read_top_k, what ask retrieves) and runs the naive ask once, in a shuffled order. Per-stage figures come from
`Answer.timings` (retrieve_ms, read_ms, total_ms); `wall` is timed around the call. p50/p95 over all
(question, round) samples. The neural reader is measured with its passage-vector table off, so every ask encodes
its 12 candidates (a question about sentences never seen); `--table-too` times, in the same rounds, the reader
with the table (the warm-up pass fills it, as `qa-engine ingest --reader-vectors` would). Writes
bench/results/ask_bench.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
GOLD = ROOT / "eval" / "gold"
FILINGS = ROOT / "data" / "filings"
sys.path.insert(0, str(BENCH))

from baselines import BM25sSearch, generation_chunks, naive_answer
from common import latency_summary

TARGET_P50_MS = {"heuristic": 30.0, "neural": 400.0}
STAGES = ("retrieve_ms", "read_ms", "total_ms")
OTHERS = {"torch_ask_ms": "on torch", "table_ask_ms": "with its vector table"}

FALLBACK_QUESTIONS = [
    "为什么有研新材2024年稀土材料毛利率为负？",
    "Why was 有研新材's rare-earth materials gross margin negative in 2024?",
    "北方稀土与包钢股份约定的稀土精矿季度调价机制从哪天起执行？",
    "What drove the 74.96% increase in Golden Dragon Rare-Earth's construction in progress?",
    "江华县稀土矿采矿权采用什么方法摊销？",
    "Who is the controlling shareholder of Golden Dragon Rare-Earth?",
    "金龙稀土的实际控制人是谁？",
    "Why did 中稀湖南's rare-earth ore sales revenue more than double in 2021?",
]


def load_questions(limit: int) -> list[dict[str, str]]:
    """Up to `limit` gold questions, alternating zh and en, each language round-robin over the gold files."""
    files = sorted(GOLD.glob("*.jsonl")) if GOLD.is_dir() else []
    if not files:
        return [{"id": f"fixed-{i}", "question": q, "lang": _lang(q)} for i, q in enumerate(FALLBACK_QUESTIONS)]
    per_file = []
    for path in files:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        per_file.append([{"id": r.get("id", ""), "question": r["question"], "lang": r.get("lang") or _lang(r["question"])}
                         for r in rows])
    by_lang = {lang: _round_robin([[r for r in rows if r["lang"] == lang] for rows in per_file]) for lang in ("zh", "en")}
    return _round_robin([by_lang["zh"], by_lang["en"]])[:limit]


def _round_robin(queues: list[list[dict[str, str]]]) -> list[dict[str, str]]:
    merged = []
    for i in range(max((len(q) for q in queues), default=0)):
        merged += [q[i] for q in queues if i < len(q)]
    return merged


def _lang(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) and not text.isascii() else "en"


def measure(engine, naive, questions: list[dict[str, str]], rounds: int, deadline: float, seed: int,  # type: ignore[no-untyped-def]
            others=None) -> dict[str, object]:
    """Interleaved ask/search timings per question and round, and the ask of each of `others` (row name →
    engine: the neural reader on torch, or with its vector table); stops early at `deadline`."""
    k = engine.settings.read_top_k
    rows: list[dict[str, object]] = []
    rng = random.Random(seed)
    done = 0
    for _ in range(rounds):
        order = questions[:]
        rng.shuffle(order)
        for item in order:
            q = item["question"]
            t = time.perf_counter()
            answer = engine.ask(q)
            ask_wall = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            engine.search(q, k=k)
            search_wall = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            naive_answer(naive, q, k)
            naive_wall = (time.perf_counter() - t) * 1000
            rows.append({"lang": item["lang"], "found": answer.found, "ask_wall_ms": ask_wall,
                         "search_ms": search_wall, "naive_ask_ms": naive_wall, **answer.timings})
            for name, other in (others or {}).items():
                t = time.perf_counter()
                other.ask(q)
                rows[-1][name] = (time.perf_counter() - t) * 1000
        done += 1
        if time.perf_counter() > deadline:
            break
    return {"rounds": done, "rows": rows}


def summarise(rows: list[dict[str, object]]) -> dict[str, dict[str, float]]:
    names = (*STAGES, "ask_wall_ms", "search_ms", "naive_ask_ms", *OTHERS)
    table = {name: latency_summary([float(r[name]) for r in rows if name in r]) for name in names}  # type: ignore[arg-type]
    table["other_ms"] = latency_summary([float(r["total_ms"]) - float(r["retrieve_ms"]) - float(r["read_ms"])  # type: ignore[arg-type]
                                  for r in rows])
    return table


def print_report(run: dict[str, object]) -> None:
    overall = run["latency_ms"]
    print(f"\nengine.ask vs engine.search, ms over {run['samples']} samples "
          f"({run['questions']} questions × {run['rounds']} rounds; retrieval mode {run['retrieval_mode']}, "
          f"search k = read_top_k)")
    print(f"{'':>10} | {'all p50':>8} {'all p95':>8} | {'zh p50':>8} {'zh p95':>8} | {'en p50':>8} {'en p95':>8}")
    for name in ("retrieve_ms", "read_ms", "other_ms", "total_ms", "ask_wall_ms", "search_ms", "naive_ask_ms", *OTHERS):
        if not overall[name].get("n"):  # torch_ask_ms without --torch-too
            continue
        cells = []
        for table in (overall, run["latency_ms_by_lang"]["zh"], run["latency_ms_by_lang"]["en"]):
            cell = table[name]
            cells.append(f"{cell.get('p50', float('nan')):8.2f} {cell.get('p95', float('nan')):8.2f}")
        print(f"{name:>10} | " + " | ".join(cells))
    ratio = run["ratios"]
    print(f"\nratio ask total / search (same questions, same run): p50 {ratio['p50']:.2f}×, p95 {ratio['p95']:.2f}×")
    naive = run["naive_ratios"]
    print(f"ratio naive ask (jieba + bm25s + best-overlap sentence) / ask wall: p50 {naive['p50']:.2f}×, "
          f"p95 {naive['p95']:.2f}× (> 1: ours faster)")
    for name, label in OTHERS.items():
        if f"{name}_ratios" in run:
            other = run[f"{name}_ratios"]
            print(f"ratio neural ask {label} / the ask above (wall): p50 {other['p50']:.2f}×, p95 {other['p95']:.2f}×")
    print(f"first (cold) ask in the process: {run['first_ask_ms']:.0f} ms; answered {run['answered_share']:.0%}")
    print(run["target"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=None, help="timed passes (default 7; --quick 2)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budget-s", type=float, default=420.0, help="wall-clock budget for the whole run")
    parser.add_argument("--index", type=Path, default=RESULTS / "index-ask")
    parser.add_argument("--out", type=Path, default=RESULTS / "ask_bench.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reader", default="heuristic", help="Settings.reader: heuristic (default) or neural")
    parser.add_argument("--torch-too", action="store_true",
                        help="with --reader neural: also time its encoder on torch (QA_NEURAL_RUNTIME=torch)")
    parser.add_argument("--table-too", action="store_true",
                        help="with --reader neural: also time it with its passage-vector table")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 7)
    started = time.perf_counter()
    deadline = started + args.budget_s
    from common import end_run, save_run
    from common import machine as machine_facts

    machine = machine_facts()

    from qa_engine import Engine, Settings, ingest

    imported = time.perf_counter()
    report = ingest([FILINGS], Settings(index_dir=args.index))
    built = time.perf_counter()
    settings = Settings(index_dir=args.index, reader=args.reader, reader_vector_cache_mb=0)
    engine = Engine.open(args.index, settings)
    opened = time.perf_counter()
    questions = load_questions(args.questions)
    t = time.perf_counter()
    engine.ask(questions[0]["question"])
    first_ask_ms = (time.perf_counter() - t) * 1000
    naive = BM25sSearch([c.indexed_text() for c in generation_chunks(engine)])
    others = {}
    if args.torch_too:
        others["torch_ask_ms"] = Engine.open(args.index, settings.model_copy(update={"neural_runtime": "torch"}))
    if args.table_too:
        table_mb = Settings.model_fields["reader_vector_cache_mb"].default  # the table as users get it
        others["table_ask_ms"] = Engine.open(args.index, settings.model_copy(update={"reader_vector_cache_mb": table_mb}))
    for item in questions:  # warm-up: JIT, caches, lazy model loads (and the vector table's rows)
        engine.ask(item["question"])
        for other in others.values():
            other.ask(item["question"])
        engine.search(item["question"], k=engine.settings.read_top_k)
        naive_answer(naive, item["question"], engine.settings.read_top_k)
    measured = measure(engine, naive, questions, rounds, deadline, args.seed, others)
    rows = measured["rows"]
    overall = summarise(rows)
    run: dict[str, object] = {
        "machine": machine,
        "setup_s": {"import": round(imported - started, 2), "build": round(built - imported, 2),
                    "open": round(opened - built, 2)},
        "build_report": {"added": len(report.added), "unchanged": len(report.unchanged), "failed": report.failed},
        "retrieval_mode": engine.settings.retrieval_mode, "reader": args.reader,
        "questions": len(questions), "lang_mix": {lg: sum(q["lang"] == lg for q in questions) for lg in ("zh", "en")},
        "rounds": measured["rounds"], "samples": len(rows), "first_ask_ms": round(first_ask_ms, 1),
        "answered_share": round(sum(bool(r["found"]) for r in rows) / max(1, len(rows)), 3),
        "latency_ms": overall,
        "latency_ms_by_lang": {lg: summarise([r for r in rows if r["lang"] == lg]) for lg in ("zh", "en")},
        "ratios": {p: round(overall["total_ms"][p] / overall["search_ms"][p], 2) for p in ("p50", "p95")},
        "naive_ratios": {p: round(overall["naive_ask_ms"][p] / overall["ask_wall_ms"][p], 2) for p in ("p50", "p95")},
    }
    for name in others:
        run[f"{name}_ratios"] = {p: round(overall[name][p] / overall["ask_wall_ms"][p], 2) for p in ("p50", "p95")}
    p50 = overall["total_ms"]["p50"]
    target = TARGET_P50_MS.get(args.reader, TARGET_P50_MS["neural"])
    run["target"] = (f"target ({args.reader} reader: ask p50 ≤ {target:g} ms, total_ms): {p50:.2f} ms → "
                     f"{'MET' if p50 <= target else 'NOT MET'}")
    totals = end_run(run, machine, started)
    print_report(run)
    print(f"setup {run['setup_s']}; {totals}")
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
