"""Load test of POST /v1/ask on a real server, against in-process `engine.ask` measured in the same run.

    python bench/load_bench.py                       # 8 clients x 25 requests (about a minute with the build)
    python bench/load_bench.py --clients 16 --requests 50 --index-dir index   # reuse an existing index

Steps (bounded by --budget-s; exits 1 on any failed request or when the budget runs out):
  1. build  Engine.build over data/filings into a temp folder (skipped with --index-dir).
  2. serve  `qa_engine.api.app.serve` in a subprocess on 127.0.0.1 and a free port, so the clients'
            threads do not share a GIL with the server; wait for /readyz.
  3. warm   every question once over HTTP.
  4. seq    one client asks every question SEQUENTIAL_ROUNDS times (HTTP overhead without queueing).
  5. load   --clients threads, each with its own keep-alive httpx client, send --requests questions
            (round-robin over QUESTIONS); per-request wall-clock latency, errors, total throughput.
  6. base   in this process: Engine.open on the same index, every question once to warm, then
            `engine.ask` sequentially for as many calls as the load step made.
Prints p50/p95/max for both and the HTTP/in-process ratio; writes bench/results/load_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FILINGS = ROOT / "data" / "filings"
SEQUENTIAL_ROUNDS = 3  # one client, every question this many times: HTTP overhead without queueing

QUESTIONS = [
    "为什么有研新材2024年稀土材料毛利率为负？",
    "北方稀土2024年上半年营业收入是多少？",
    "稀土精矿关联交易的定价机制是什么？",
    "中国稀土向特定对象发行股票的募集资金用途是什么？",
    "金龙稀土2025年上半年的主要产品有哪些？",
    "有研新材存货为什么增加？",
    "What is the stock code of China Northern Rare Earth?",
    "Why was the gross margin of GRINM's rare earth materials negative in 2024?",
    "How is the price of rare earth concentrate adjusted?",
    "What are the main products of Fujian Golden Dragon Rare-Earth?",
]


@dataclass
class LoadResult:
    """Latencies (seconds) and failures of the concurrent HTTP phase."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=25, help="requests per client")
    parser.add_argument("--index-dir", type=Path, default=None, help="use this index instead of building one")
    parser.add_argument("--budget-s", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--out", type=Path, default=RESULTS / "load_bench.json")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 256 and 1 <= args.requests <= 10_000):
        parser.error("--clients must be 1..256 and --requests 1..10000")
    return args


def build_index(folder: Path) -> float:
    """Return the seconds Engine.build took to index data/filings into `folder`."""
    from qa_engine import Engine, Settings

    started = time.perf_counter()
    report = Engine.build([FILINGS], Settings(index_dir=folder))
    if not report.ok:
        raise SystemExit(f"index build failed: {report.failed}")
    return time.perf_counter() - started


def start_server(index_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """Return the server subprocess (`serve(Settings())` configured through QA_* variables)."""
    env = {
        **os.environ, "QA_INDEX_DIR": str(index_dir), "QA_HOST": "127.0.0.1", "QA_PORT": str(port),
        "QA_API_KEY": "", "QA_REQUEST_TIMEOUT_S": "60",
    }
    code = "from qa_engine.api.app import serve; from qa_engine.settings import Settings; serve(Settings())"
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def client_loop(url: str, index: int, requests: int, deadline: float, result: LoadResult) -> None:
    """Send `requests` questions from one keep-alive client, recording latencies and errors."""
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(requests):
            if time.monotonic() > deadline:
                with result.lock:
                    result.errors.append("budget exhausted")
                return
            question = QUESTIONS[(index + i) % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                response = http.post("/v1/ask", json={"question": question})
                ok, why = response.status_code == 200, f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                ok, why = False, type(exc).__name__
            elapsed = time.perf_counter() - started
            with result.lock:
                result.latencies.append(elapsed)
                if not ok:
                    result.errors.append(why)


def run_load(url: str, clients: int, requests: int, deadline: float) -> LoadResult:
    """Return the latencies and errors of `clients` threads x `requests` asks."""
    result = LoadResult()
    threads = [
        threading.Thread(target=client_loop, args=(url, i, requests, deadline, result)) for i in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic()))
    result.wall_s = time.perf_counter() - started
    return result


def in_process_latencies(index_dir: Path, calls: int, deadline: float) -> list[float]:
    """Return sequential `engine.ask` latencies (seconds) over QUESTIONS, after one warm-up pass."""
    from qa_engine import Engine, Settings

    engine = Engine.open(index_dir, settings=Settings(index_dir=index_dir))
    for question in QUESTIONS:
        engine.ask(question)
    latencies: list[float] = []
    for i in range(calls):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        engine.ask(QUESTIONS[i % len(QUESTIONS)])
        latencies.append(time.perf_counter() - started)
    return latencies


def summarize(latencies: list[float]) -> dict[str, float]:
    """Return count, mean, p50, p95 and max of `latencies` in milliseconds."""
    if not latencies:
        return {"n": 0}
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def percentile(ordered: list[float], q: float) -> float:
    """Return the nearest-rank `q` quantile of the sorted list `ordered`."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    from qa_engine.api.server import free_port as pick

    return pick()


def measure(args: argparse.Namespace, index_dir: Path, build_s: float | None, deadline: float) -> dict:
    """Return the full result record: server load phase, in-process baseline and their ratios."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(index_dir, port)
    try:
        wait_ready(url, server, deadline)
        with httpx.Client(base_url=url, timeout=60) as http:
            for question in QUESTIONS:
                http.post("/v1/ask", json={"question": question}).raise_for_status()
        sequential = run_load(url, 1, SEQUENTIAL_ROUNDS * len(QUESTIONS), deadline)
        load = run_load(url, args.clients, args.requests, deadline)
    finally:
        server.terminate()
        server.wait(timeout=30)
    base = in_process_latencies(index_dir, len(load.latencies) or 1, deadline)
    http_stats, base_stats, seq_stats = summarize(load.latencies), summarize(base), summarize(sequential.latencies)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "config": {"clients": args.clients, "requests_per_client": args.requests, "questions": QUESTIONS},
        "index_build_s": None if build_s is None else round(build_s, 2),
        "http": {
            **http_stats, "errors": len(load.errors), "error_kinds": sorted(set(load.errors)),
            "wall_s": round(load.wall_s, 3),
            "throughput_rps": round(len(load.latencies) / load.wall_s, 2) if load.wall_s else 0.0,
        },
        "http_sequential": {**seq_stats, "errors": len(sequential.errors)},
        "in_process": {**base_stats, "throughput_rps": round(len(base) / sum(base), 2) if base else 0.0},
        "ratio": ratios(http_stats, base_stats),
        "ratio_sequential": ratios(seq_stats, base_stats),
        "command": "python bench/load_bench.py " + " ".join(sys.argv[1:]),
    }


def ratios(http: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    """Return HTTP/in-process ratios of p50, p95 and max latency."""
    keys = ("p50_ms", "p95_ms", "max_ms")
    return {key: round(http[key] / base[key], 2) for key in keys if base.get(key) and key in http}


def report(result: dict) -> None:
    """Print the summary table."""
    http, base, seq = result["http"], result["in_process"], result["http_sequential"]
    print(f"load: {result['config']['clients']} clients x {result['config']['requests_per_client']} requests")
    print(f"{'':16}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'req/s':>10}")
    rows = (("HTTP concurrent", http), ("HTTP 1 client", seq), ("in-process", base))
    for name, row in rows:
        rps = row.get("throughput_rps", "")
        print(f"{name:16}{row['n']:>6}{row['p50_ms']:>10}{row['p95_ms']:>10}{row['max_ms']:>10}{rps:>10}")
    print(f"ratio HTTP concurrent/in-process: {result['ratio']}")
    print(f"ratio HTTP 1 client/in-process:   {result['ratio_sequential']}")
    print(f"errors: {http['errors'] + seq['errors']} {http['error_kinds']}")


def main(argv: list[str] | None = None) -> int:
    """Return the exit code: 0 when every request succeeded within the budget."""
    args = parse_args(argv)
    deadline = time.monotonic() + args.budget_s
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        index_dir, build_s = args.index_dir, None
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            build_s = build_index(index_dir)
        result = measure(args, index_dir, build_s, deadline)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report(result)
    print(f"wrote {args.out}")
    expected = args.clients * args.requests
    failed = result["http"]["errors"] + result["http_sequential"]["errors"]
    return 0 if failed == 0 and result["http"]["n"] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
