"""Peak memory for PDF decompression bombs: the server's own, and the bounded PDF reader child's.

    python bench/bomb_memory.py                         # bombs inflating to 300 and 600 MB (0.9 and 1.8 MB files)
    python bench/bomb_memory.py --inflated-mb 300 --unbounded-baseline

For each bomb (tests/helpers/hostile_pdfs.py, raw zlib):
  reader   `load_filing` in this process with the default limits: the PDF child's peak RSS
           (RUSAGE_CHILDREN), the wall time and the error it reports;
  server   upload to `qa-engine serve` in its own process: HTTP status, the limit the message names, the
           server's resident memory before and its peak (VmHWM) after, and the peak of its reader child
           (polled from /proc every 10 ms).
  baseline (--unbounded-baseline) pypdfium2 on the same file in a child without any limit, as the server did
           before: its peak RSS. Needs several GB free.
Writes bench/results/bomb_memory.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, end_run, machine, save_run, wait_ready

sys.path.insert(0, str(ROOT))
from tests.helpers.hostile_pdfs import write_flate_bomb

UNBOUNDED = """
import resource, sys, pypdfium2 as pdfium
pdf = pdfium.PdfDocument(sys.argv[1])
for page in pdf:
    page.get_textpage().get_text_range()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def status_mb(pid: int, field: str) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in text.splitlines() if x.startswith(f"{field}:")), None)
    return round(int(line.split()[1]) / 1024, 1) if line else 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


READER = """
import json, resource, sys, time
from pathlib import Path
from qa_engine.errors import IngestError
from qa_engine.ingest.loaders import ParseLimits, load_filing
started = time.perf_counter()
try:
    load_filing(Path(sys.argv[1]), ParseLimits())
    outcome = "read"
except IngestError as exc:
    outcome = str(exc)
print(json.dumps({"child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                  "seconds": round(time.perf_counter() - started, 2), "outcome": outcome}, ensure_ascii=False))
"""


def reader_peak(bomb: Path) -> dict[str, object]:
    """Run load_filing with default limits in a fresh process; its PDF child's peak is its RUSAGE_CHILDREN."""
    done = subprocess.run([sys.executable, "-c", READER, str(bomb)], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def server_peak(bomb: Path, work: Path) -> dict[str, object]:
    """Upload `bomb` to a fresh `qa-engine serve` over a fresh index; return its memory figures."""
    port = free_port()
    index = work / f"index-{port}"
    subprocess.run([sys.executable, "-m", "qa_engine.cli", "ingest", str(ROOT / "data" / "filings"), "--index",
                    str(index)], check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "qa_engine.cli", "serve", "--port", str(port), "--index",
                               str(index)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, time.monotonic() + 300)
        before = status_mb(server.pid, "VmRSS")
        child_peak, done = [0.0], threading.Event()

        def poll_children() -> None:
            while not done.is_set():
                for child in children(server.pid):
                    child_peak[0] = max(child_peak[0], status_mb(child, "VmHWM"))
                time.sleep(0.01)

        poller = threading.Thread(target=poll_children)
        poller.start()
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/documents", files={"file": (bomb.name, bomb.read_bytes(), "application/pdf")},
                              timeout=300)
        seconds = time.perf_counter() - started
        done.set()
        poller.join()
        return {"status": response.status_code, "message": response.json()["error"]["message"],
                "seconds": round(seconds, 2), "server_rss_before_mb": before,
                "server_peak_rss_mb": status_mb(server.pid, "VmHWM"),
                "server_rss_after_mb": status_mb(server.pid, "VmRSS"), "reader_child_peak_rss_mb": child_peak[0]}
    finally:
        server.terminate()
        server.wait(60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port



def unbounded_peak(bomb: Path) -> float:
    done = subprocess.run([sys.executable, "-c", UNBOUNDED, str(bomb)], capture_output=True, text=True, check=False)
    return float(done.stdout.strip() or 0) if done.returncode == 0 else -1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inflated-mb", type=int, nargs="+", default=[300, 600])
    parser.add_argument("--unbounded-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bomb_memory.json")
    args = parser.parse_args()
    started = time.perf_counter()
    host = machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="qa-bombs-") as tmp:
        work = Path(tmp)
        for inflated in args.inflated_mb:
            bomb = write_flate_bomb(work / f"bomb_{inflated}mb.pdf", inflated)
            row: dict[str, object] = {"inflated_mb": inflated, "file_kb": round(bomb.stat().st_size / 1024)}
            row["reader"] = reader_peak(bomb)
            row["server"] = server_peak(bomb, work)
            if args.unbounded_baseline:
                row["unbounded_reader_peak_rss_mb"] = unbounded_peak(bomb)
            print(row, flush=True)
            results.append(row)
    run = {"machine": host, "limits": {"pdf_max_memory_mb": 1024, "pdf_timeout_s": 120}, "bombs": results}
    print(end_run(run, host, started))
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
