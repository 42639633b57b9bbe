"""Throughput of POST /v1/search on `qa-engine serve` with concurrent keep-alive clients, against the same
searches in process and /healthz over HTTP, measured in the same run.

    python bench/load_bench.py                                  # 8 clients, workers 1 and 2, 3 repeats x 5 s
    python bench/load_bench.py --workers 1,2,3 --repeats 5 --index-dir bench/results/index-load
    python bench/load_bench.py --engine-path /tmp/old           # also serve an older tree (git archive) as-is

Steps (bounded by --budget-s; exits 1 on any failed request or when the budget runs out):
  1. build   qa_engine.ingest over data/filings into a temp folder (skipped with --index-dir).
  2. serve   one `qa-engine serve --workers N` subprocess per configuration on 127.0.0.1 (plus the older
             tree's single-worker server with --engine-path); all wait for /readyz, then sit idle while
             the others are measured.
  3. rounds  --repeats rounds; each round measures every configuration once, in turn, so that the machine's
             noise falls on all of them alike: a 1 s warm-up, then --seconds of --clients clients, each with
             one keep-alive http.client connection, split over --client-procs processes (so the clients'
             own GIL does not cap the rate; their CPU time is reported beside the server's).
             Targets: POST /v1/search per configuration, GET /healthz on the first, and `engine.search` in
             this process (one thread, the same queries): the in-process rate of one core.
Reports medians over rounds of req/s, p50 and p95 (each round's own percentiles), the CPU seconds per
second used by the clients and by the server processes (in process: by the engine), the server's CPU
milliseconds per request (the figure least moved by other jobs on the machine), and ratios against the
baselines; writes bench/results/load_bench.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, end_run, machine, save_run, wait_ready

RESULTS = ROOT / "bench" / "results"
FILINGS = ROOT / "data" / "filings"
WARM_UP_S = 1.0
IN_PROCESS = "in-process engine.search"

QUERIES = [
    "有研新材 稀土材料 毛利率 为负",
    "北方稀土 2024年上半年 营业收入",
    "稀土精矿 关联交易 定价机制",
    "中国稀土 向特定对象发行股票 募集资金用途",
    "金龙稀土 主要产品",
    "有研新材 存货 增加",
    "stock code of China Northern Rare Earth",
    "gross margin of GRINM rare earth materials",
    "price of rare earth concentrate adjusted",
    "main products of Fujian Golden Dragon Rare-Earth",
]


@dataclass(frozen=True)
class Target:
    """One thing to load: a request that a server at `port` answers."""

    name: str
    port: int
    method: str
    path: str
    with_query: bool


@dataclass
class Sample:
    """One round of one target: its rate, latency percentiles and CPU use."""

    requests: int = 0
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    client_cpu: float = 0.0  # CPU seconds per wall second, all client processes
    server_cpu: float = 0.0  # CPU seconds per wall second, the server and its workers
    server_cpu_ms: float = 0.0  # server CPU per request: the least noisy figure on a shared machine


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the clients are split over")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to serve with")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per target and round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; medians are over rounds")
    parser.add_argument("--k", type=int, default=10, help="hits per search")
    parser.add_argument("--index-dir", type=Path, default=None, help="use this index instead of building one")
    parser.add_argument("--engine-path", type=Path, default=None,
                        help="also serve this older tree (single worker, its own defaults) as a baseline")
    parser.add_argument("--budget-s", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--out", type=Path, default=RESULTS / "load_bench.json")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    if not (1 <= args.clients <= 256 and 1 <= args.client_procs <= args.clients and args.repeats >= 1):
        parser.error("--clients must be 1..256, --client-procs 1..clients, --repeats >= 1")
    return args


def build_index(folder: Path) -> float:
    """Return the seconds qa_engine.ingest took to index data/filings into `folder`."""
    from qa_engine import Settings, ingest

    started = time.perf_counter()
    report = ingest([FILINGS], Settings(index_dir=folder))
    if not report.ok:
        raise SystemExit(f"index build failed: {report.failed}")
    return time.perf_counter() - started


def start_server(index_dir: Path, port: int, workers: int, engine_path: Path | None) -> subprocess.Popen[bytes]:
    """Return `qa-engine serve` in a subprocess (an older tree takes neither --workers nor its env)."""
    tree = engine_path or ROOT
    path = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "QA_API_KEY": "", "QA_REQUEST_TIMEOUT_S": "60",
           "QA_UPLOAD_DIR": str(index_dir.parent / f"uploads-{port}"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "qa_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--index", str(index_dir)]
    if engine_path is None:
        command += ["--workers", str(workers)]
    return subprocess.Popen(command, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def client_process(target: Target, clients: int, k: int, warm_up_s: float, seconds: float,
                   results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Run `clients` threads against `target`; put (latencies, errors, CPU seconds) of the measured window."""
    import threading

    start = time.monotonic() + 0.2
    measure_from, stop_at = start + warm_up_s, start + warm_up_s + seconds
    latencies: list[float] = []
    errors: list[str] = []
    cpu: list[float] = []

    def loop(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
        own: list[float] = []
        i = index
        while (now := time.monotonic()) < stop_at:
            body = request_body(QUERIES[i % len(QUERIES)], k) if target.with_query else None
            i += 1
            began = time.perf_counter()
            status = send(connection, target, body)
            elapsed = time.perf_counter() - began
            if now >= measure_from:
                own.append(elapsed)
                if status != 200:
                    errors.append(f"HTTP {status}")
        connection.close()
        latencies.extend(own)

    while time.monotonic() < start:
        time.sleep(0.01)
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    while time.monotonic() < measure_from:
        time.sleep(0.01)
    cpu.append(time.process_time())
    for thread in threads:
        thread.join()
    results.put((latencies, errors, time.process_time() - cpu[0]))


def request_body(query: str, k: int) -> bytes:
    return json.dumps({"query": query, "k": k}, ensure_ascii=False).encode()


def send(connection: http.client.HTTPConnection, target: Target, body: bytes | None) -> int:
    """Return the status of one request on the keep-alive `connection` (0 when the connection failed)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection.request(target.method, target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        connection.close()
        return 0


def load(target: Target, args: argparse.Namespace, server_pids: list[int]) -> Sample:
    """Return one round against `target`: --clients over --client-procs processes for --seconds."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    shares = [args.clients // args.client_procs + (i < args.clients % args.client_procs)
              for i in range(args.client_procs)]
    procs = [context.Process(target=client_process, args=(target, n, args.k, WARM_UP_S, args.seconds, results))
             for n in shares]
    for proc in procs:
        proc.start()
    time.sleep(0.2 + WARM_UP_S)
    server_before = cpu_seconds(server_pids)
    outcomes = [results.get(timeout=args.seconds + 120) for _ in procs]
    server_cpu = cpu_seconds(server_pids) - server_before
    for proc in procs:
        proc.join(30)
    latencies = sorted(x for lat, _, _ in outcomes for x in lat)
    return summarize(latencies, [e for _, errs, _ in outcomes for e in errs], args.seconds,
                     sum(c for _, _, c in outcomes), server_cpu)


def summarize(latencies: list[float], errors: list[str], wall_s: float, client_cpu: float,
              server_cpu: float) -> Sample:
    """Return the Sample of one round from its sorted latencies."""
    if not latencies:
        return Sample(errors=errors or ["no request finished"], wall_s=wall_s)
    return Sample(
        requests=len(latencies), errors=errors, wall_s=wall_s, rps=round(len(latencies) / wall_s, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 3), p95_ms=round(percentile(latencies, 0.95) * 1000, 3),
        client_cpu=round(client_cpu / wall_s, 2), server_cpu=round(server_cpu / wall_s, 2),
        server_cpu_ms=round(server_cpu / len(latencies) * 1000, 3),
    )


def percentile(ordered: list[float], q: float) -> float:
    """Return the nearest-rank `q` quantile of the sorted list `ordered`."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def cpu_seconds(pids: list[int]) -> float:
    """Return the user + system CPU seconds of these processes and all their children so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            parent = psutil.Process(pid)
            for proc in [parent, *parent.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def in_process(index_dir: Path, args: argparse.Namespace) -> Sample:
    """Return one round of `engine.search` called back to back in this process for --seconds."""
    engine = open_engine(index_dir)
    latencies: list[float] = []
    cpu_before = time.process_time()
    stop_at = time.monotonic() + args.seconds
    i = 0
    while time.monotonic() < stop_at:
        began = time.perf_counter()
        engine.search(QUERIES[i % len(QUERIES)], k=args.k)
        latencies.append(time.perf_counter() - began)
        i += 1
    return summarize(sorted(latencies), [], args.seconds, 0.0, time.process_time() - cpu_before)


_ENGINES: dict[Path, object] = {}


def open_engine(index_dir: Path):  # type: ignore[no-untyped-def]
    """Return the engine over `index_dir`, opened and warmed on the first call."""
    if index_dir not in _ENGINES:
        from qa_engine import Engine, Settings

        engine = Engine.open(index_dir, settings=Settings(index_dir=index_dir))
        for query in QUERIES:
            engine.search(query, k=10)
        _ENGINES[index_dir] = engine
    return _ENGINES[index_dir]


def median_sample(samples: list[Sample]) -> dict[str, object]:
    """Return the per-field medians of the rounds, with the total requests and errors."""
    keys = ("rps", "p50_ms", "p95_ms", "client_cpu", "server_cpu", "server_cpu_ms")
    medians = {key: round(statistics.median(getattr(s, key) for s in samples), 3) for key in keys}
    errors = [e for s in samples for e in s.errors]
    return {**medians, "requests": sum(s.requests for s in samples), "errors": len(errors),
            "error_kinds": sorted(set(errors)), "rounds": [asdict(s) for s in samples]}


def ratios(rows: dict[str, dict[str, object]], best: str) -> dict[str, float]:
    """Return the req/s of `best` divided by every other row's."""
    top = float(rows[best]["rps"])  # type: ignore[arg-type]
    return {f"{best} / {name}": round(top / float(row["rps"]), 2)  # type: ignore[arg-type]
            for name, row in rows.items() if name != best and row["rps"]}


def serve_all(args: argparse.Namespace, index_dir: Path, deadline: float
              ) -> tuple[dict[str, Target], dict[str, subprocess.Popen[bytes]]]:
    """Return the targets by name and the server process behind each, once every server is ready."""
    from qa_engine.api.server import free_port

    configs = [(f"search, {n} worker{'s' * (n > 1)}", n, None) for n in args.workers]
    if args.engine_path is not None:
        configs.append(("search, older tree", 1, args.engine_path))
    targets: dict[str, Target] = {}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, workers, tree in configs:
        port = free_port()
        processes[name] = start_server(index_dir, port, workers, tree)
        targets[name] = Target(name, port, "POST", "/v1/search", True)
    for name, target in targets.items():
        wait_ready(f"http://127.0.0.1:{target.port}", processes[name], deadline)
    first = configs[0][0]
    healthz = first.replace("search", "healthz")
    targets[healthz] = Target(healthz, targets[first].port, "GET", "/healthz", False)
    processes[healthz] = processes[first]
    return targets, processes


def measure(args: argparse.Namespace, index_dir: Path, deadline: float) -> dict[str, dict[str, object]]:
    """Return the medians per target over --repeats rounds (stops early when the budget runs out)."""
    targets, processes = serve_all(args, index_dir, deadline)
    samples: dict[str, list[Sample]] = {name: [] for name in [*targets, IN_PROCESS]}
    try:
        open_engine(index_dir)
        for _ in range(args.repeats):
            if time.monotonic() + len(samples) * (args.seconds + WARM_UP_S + 2) > deadline:
                print("budget exhausted: fewer rounds than asked", file=sys.stderr)
                break
            for name, target in targets.items():
                samples[name].append(load(target, args, [processes[name].pid]))
            samples[IN_PROCESS].append(in_process(index_dir, args))
    finally:
        for process in set(processes.values()):
            process.terminate()
        for process in set(processes.values()):
            process.wait(timeout=60)
    return {name: median_sample(rounds) for name, rounds in samples.items() if rounds}


def report(run: dict) -> None:
    """Print the summary table and the ratios."""
    config = run["config"]
    print(f"{config['clients']} clients over {config['client_procs']} processes, {config['seconds']} s x "
          f"{config['repeats']} rounds, k = {config['k']} (medians over rounds)")
    print(f"{'':28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'client cpu':>12}{'server cpu':>12}"
          f"{'cpu ms/req':>12}{'errors':>8}")
    for name, row in run["results"].items():
        print(f"{name:28}{row['rps']:>9}{row['p50_ms']:>9}{row['p95_ms']:>9}"
              f"{row['client_cpu']:>12}{row['server_cpu']:>12}{row['server_cpu_ms']:>12}{row['errors']:>8}")
    for pair, ratio in run["ratios"].items():
        print(f"ratio {pair}: {ratio}")


def main(argv: list[str] | None = None) -> int:
    """Return the exit code: 0 when every request succeeded within the budget."""
    args = parse_args(argv)
    started = time.perf_counter()
    deadline = time.monotonic() + args.budget_s
    host = machine()
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        index_dir, build_s = args.index_dir, None
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            build_s = build_index(index_dir)
        results = measure(args, index_dir.resolve(), deadline)
    searches = [name for name in results if name.startswith("search")]
    best = max(searches, key=lambda name: float(results[name]["rps"]))  # type: ignore[arg-type]
    run = {
        "machine": host,
        "config": {"clients": args.clients, "client_procs": args.client_procs, "workers": args.workers,
                   "seconds": args.seconds, "repeats": args.repeats, "k": args.k, "queries": QUERIES,
                   "engine_path": str(args.engine_path) if args.engine_path else None},
        "index_build_s": None if build_s is None else round(build_s, 2),
        "results": results,
        "ratios": ratios(results, best),
        "command": "python bench/load_bench.py " + " ".join(sys.argv[1:]),
    }
    report(run)
    print(end_run(run, host, started))
    save_run(run, args.out)
    failed = sum(int(row["errors"]) for row in results.values())  # type: ignore[call-overload]
    complete = all(len(row["rounds"]) == args.repeats for row in results.values())  # type: ignore[arg-type]
    return 0 if failed == 0 and complete else 1


if __name__ == "__main__":
    sys.exit(main())
