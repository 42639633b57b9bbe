"""What every benchmark run records about the machine, and how it ends: end load, total time, JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def git_state() -> str:
    """HEAD commit, with "+dirty" when the working tree has changes (others edit concurrently)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True,
                              cwd=ROOT).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "qa_engine"], check=True, capture_output=True,
                               text=True, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> dict[str, object]:
    return {
        "git": git_state(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)), "python": platform.python_version(),
        "platform": platform.platform(), "loadavg_start": _loadavg(),
    }


def end_run(run: dict[str, object], host: dict[str, object], started: float) -> str:
    """Stamps the end load and the total time into the run; returns the line that reports them."""
    host["loadavg_end"] = _loadavg()
    run["total_s"] = round(time.perf_counter() - started, 1)
    return (f"total {run['total_s']} s; nproc {host['nproc']}; "
            f"load avg start {host['loadavg_start']} end {host['loadavg_end']}")


def latency_summary(values: list[float]) -> dict[str, float]:
    """p50, p95, mean and max of timings (NaN percentiles and n 0 when there are none)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "n": 0}
    return {
        "p50": round(float(np.percentile(array, 50)), 3), "p95": round(float(np.percentile(array, 95)), 3),
        "mean": round(float(array.mean()), 3), "max": round(float(array.max()), 3), "n": int(array.size),
    }


def save_run(run: dict[str, object], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {out}")


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def wait_ready(url: str, server: subprocess.Popen[bytes], deadline: float) -> None:
    """Return once GET {url}/readyz answers 200; exit when the server died or the monotonic deadline passed."""
    import httpx

    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} was not ready within the budget")
