"""Soak test: clients asking and searching on a real server while other processes and clients write the index.

    python bench/soak.py                              # 8 clients x 120 s (plus about 30 s to build and start)
    python bench/soak.py --clients 8 --duration-s 300 --index-dir index

Steps (exits 1 on any error):
  1. build   qa_engine.ingest over data/filings into a temp folder (a copy of --index-dir when given).
  2. serve   `qa-engine serve` in its own process on 127.0.0.1 and a free port; wait for /readyz.
  3. soak    for --duration-s: --clients threads, each with its own keep-alive client, alternate /v1/ask
             and /v1/search (questions round-robin, a company filter on every third search), while
               - an ingester runs `qa-engine ingest NEW_FILE --index ...` in a separate process every
                 --write-every-s seconds (the server must follow it), and `qa-engine docs rm` on every second one;
               - an uploader POSTs a new filing to /v1/documents every --write-every-s seconds, re-uploads it
                 once unchanged, and DELETEs every second one.
  4. check   every document written and not removed is listed by the server at the end.
An error is any transport failure, any 5xx, any unexpected 4xx (a 409 on a deliberate conflict is expected and
counted apart), or a read that fails to see a finished write within --follow-s. Prints counts, latency
percentiles and the server's peak memory (VmHWM); writes bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, end_run, machine, save_run, wait_ready

FILINGS = ROOT / "data" / "filings"
RESULTS = ROOT / "bench" / "results"
QUESTIONS = [
    "为什么有研新材2024年稀土材料毛利率为负？",
    "北方稀土2024年上半年营业收入是多少？",
    "稀土精矿关联交易的定价机制是什么？",
    "中国稀土向特定对象发行股票的募集资金用途是什么？",
    "金龙稀土2025年上半年的主要产品有哪些？",
    "What is the stock code of China Northern Rare Earth?",
    "Why was the gross margin of GRINM's rare earth materials negative in 2024?",
]
COMPANIES = ["北方稀土", "有研新材", "中国稀土"]


@dataclass
class Tally:
    """What every thread saw, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    writes: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1
            self.latencies.setdefault(kind, []).append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)
        print(f"  error: {message}", flush=True)


def filing(company: str, serial: int) -> str:
    """Return a small synthetic filing for `company` (text differs by `serial`)."""
    lines = [f"{company}股份有限公司2024年第{serial}号临时公告", "一、基本情况"]
    lines += [f"{company}第{i}项业务实现营业收入{serial * 10 + i}万元，同比增长{(serial + i) % 9}%。" for i in range(30)]
    return "\n".join(lines) + "\n"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Return the finished `qa-engine ARGS...` run in its own process (its exit status is checked by the caller)."""
    return subprocess.run([sys.executable, "-m", "qa_engine.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reader(url: str, stop: threading.Event, tally: Tally, client_no: int) -> None:
    """Alternate ask and search until `stop`; record statuses and latencies."""
    turn = client_no
    with httpx.Client(base_url=url, timeout=60) as http:
        while not stop.is_set():
            turn += 1
            question = QUESTIONS[turn % len(QUESTIONS)]
            if turn % 2:
                kind, path, body = "ask", "/v1/ask", {"question": question}
            else:
                body = {"query": question, "k": 5}
                if turn % 3 == 0:
                    body["filters"] = {"company": COMPANIES[turn % len(COMPANIES)]}
                kind, path = "search", "/v1/search"
            started = time.perf_counter()
            try:
                response = http.post(path, json=body)
            except httpx.HTTPError as exc:
                tally.error(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            tally.record(kind, response.status_code, time.perf_counter() - started)
            if response.status_code != 200:
                tally.error(f"{kind}: {response.status_code} {response.text[:200]}")


def listed(http: httpx.Client) -> set[str]:
    return {d["source"] for d in http.get("/v1/documents").json()["documents"]}


def wait_listed(http: httpx.Client, source: str, present: bool, follow_s: float, tally: Tally) -> None:
    deadline = time.monotonic() + follow_s
    while time.monotonic() < deadline:
        if (source in listed(http)) == present:
            return
        time.sleep(0.1)
    tally.error(f"the server did not {'show' if present else 'drop'} {source} within {follow_s} s")


def ingester(url: str, index: Path, work: Path, stop: threading.Event, tally: Tally, args: argparse.Namespace) -> None:
    """Run `qa-engine ingest` / `docs rm` in other processes; check the server follows."""
    serial = 0
    with httpx.Client(base_url=url, timeout=60) as http:
        while not stop.wait(args.write_every_s):
            serial += 1
            path = work / f"cli_{serial:03d}.txt"
            path.write_text(filing("北方稀土", 1000 + serial), encoding="utf-8")
            done = cli("ingest", str(path), "--index", str(index))
            if done.returncode != 0:
                tally.error(f"cli ingest: exit {done.returncode}: {done.stdout[-300:]} {done.stderr[-300:]}")
                continue
            tally.writes["cli ingest"] += 1
            wait_listed(http, path.name, True, args.follow_s, tally)
            if serial % 2 == 0:
                doc_id = next(d["doc_id"] for d in http.get("/v1/documents").json()["documents"]
                              if d["source"] == path.name)
                removed = cli("docs", "rm", doc_id, "--index", str(index))
                if removed.returncode != 0:
                    tally.error(f"cli docs rm: exit {removed.returncode}: {removed.stdout[-300:]}")
                    continue
                tally.writes["cli docs rm"] += 1
                wait_listed(http, path.name, False, args.follow_s, tally)


def uploader(url: str, stop: threading.Event, tally: Tally, args: argparse.Namespace) -> None:
    """Upload new filings, re-upload one unchanged and one conflicting, delete every second one."""
    serial = 0
    with httpx.Client(base_url=url, timeout=120) as http:
        while not stop.wait(args.write_every_s):
            serial += 1
            name = f"upload_{serial:03d}.txt"
            body = filing("有研新材", 2000 + serial).encode()
            for attempt, (content, expected) in enumerate([(body, 201), (body, 201), (body + b"x", 409)]):
                started = time.perf_counter()
                try:
                    response = http.post("/v1/documents", files={"file": (name, content, "text/plain")})
                except httpx.HTTPError as exc:
                    tally.error(f"upload: {type(exc).__name__}: {exc}")
                    break
                tally.record("upload", response.status_code, time.perf_counter() - started)
                if response.status_code != expected:
                    tally.error(f"upload #{attempt} of {name}: {response.status_code} {response.text[:200]}")
            tally.writes["upload"] += 1
            if serial % 2 == 0:
                doc_id = next((d["doc_id"] for d in http.get("/v1/documents").json()["documents"]
                               if d["source"] == name), None)
                started = time.perf_counter()
                response = http.delete(f"/v1/documents/{doc_id}")
                tally.record("delete", response.status_code, time.perf_counter() - started)
                if response.status_code != 200:
                    tally.error(f"delete {name}: {response.status_code} {response.text[:200]}")
                tally.writes["delete"] += 1


def start_server(index: Path, uploads: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QA_UPLOAD_DIR": str(uploads), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "qa_engine.cli", "serve", "--port", str(port), "--index", str(index)]
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, time.monotonic() + 300)
    except SystemExit as exc:
        raise SystemExit(f"{exc}: see {log}") from None
    return server


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
            "max_ms": round(1000 * ordered[-1], 1), "n": len(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=120)
    parser.add_argument("--write-every-s", type=float, default=5)
    parser.add_argument("--follow-s", type=float, default=5, help="how soon the server must show a finished write")
    parser.add_argument("--index-dir", type=Path, help="copy this index instead of building one")
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json")
    args = parser.parse_args()
    started_run = time.perf_counter()
    host = machine()
    work = Path(tempfile.mkdtemp(prefix="qa-soak-"))
    index = work / "index"
    if args.index_dir:
        shutil.copytree(args.index_dir, index, ignore=shutil.ignore_patterns(".lock", "uploads"))
    else:
        built = cli("ingest", str(FILINGS), "--index", str(index))
        if built.returncode != 0:
            raise SystemExit(built.stdout + built.stderr)
    port = free_port()
    server = start_server(index, work / "uploads", port, work / "serve.log")
    url = f"http://127.0.0.1:{port}"
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=reader, args=(url, stop, tally, i)) for i in range(args.clients)]
    threads += [threading.Thread(target=ingester, args=(url, index, work, stop, tally, args)),
                threading.Thread(target=uploader, args=(url, stop, tally, args))]
    print(f"soak: {args.clients} clients x {args.duration_s:.0f} s against {url}, writes every "
          f"{args.write_every_s:.0f} s", flush=True)
    try:
        for thread in threads:
            thread.start()
        time.sleep(args.duration_s)
        stop.set()
        for thread in threads:
            thread.join(300)
        peak = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    run = {
        "machine": host, "clients": args.clients, "duration_s": args.duration_s,
        "requests": dict(sorted(tally.statuses.items())), "writes": dict(tally.writes),
        "latency": {kind: percentiles(values) for kind, values in tally.latencies.items()},
        "errors": len(tally.errors), "error_samples": tally.errors[:20], "server_peak_rss_mb": peak,
    }
    print(f"requests: {run['requests']}\nwrites: {run['writes']}\nlatency: {run['latency']}")
    print(f"errors: {run['errors']}; server peak RSS {peak} MB; {end_run(run, host, started_run)}")
    save_run(run, args.out)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
