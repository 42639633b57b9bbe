"""What the default server loads: BM25 search and the heuristic reader need neither torch nor an embedding model,
so a server that only answers questions stays small (torch alone took it from about 230 to 800+ MB of RSS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import WHY_QUESTION

pytestmark = pytest.mark.timeout(240)

HEAVY = ("torch", "transformers", "sentence_transformers")
SERVE_AND_ASK = f"""HEAVY = {HEAVY!r}
import json, sys
import httpx
from qa_engine import Settings
from qa_engine.api import create_app
from qa_engine.api.server import BackgroundServer

settings = Settings(index_dir=sys.argv[1], upload_dir=sys.argv[2])
server = BackgroundServer(create_app(settings), startup_timeout_s=120).start("/readyz")
try:
    asked = httpx.post(server.url + "/v1/ask", json=dict(question=sys.argv[3]), timeout=60)
    chat = httpx.post(server.url + "/v1/chat/completions", timeout=60,
                      json=dict(messages=[dict(role="user", content=sys.argv[3])]))
    search = httpx.post(server.url + "/v1/search", json=dict(query=sys.argv[3]), timeout=60)
finally:
    server.stop()
rss_kb = int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
status = [asked.status_code, chat.status_code, search.status_code]
print(json.dumps(dict(status=status, found=asked.json()["found"], loaded=loaded, rss_mb=rss_kb // 1024)))
"""


def test_bm25_server_answers_without_loading_torch(index_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QA_RETRIEVAL_MODE": "bm25", "QA_READER": "heuristic", "QA_RERANKER": ""}
    run = subprocess.run([sys.executable, "-c", SERVE_AND_ASK, str(index_dir), str(tmp_path / "uploads"), WHY_QUESTION],
                         check=False, capture_output=True, text=True, timeout=200, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == [200, 200, 200] and result["found"] is True
    assert result["loaded"] == [], f"the BM25-only path loaded {result['loaded'][:5]}"
    assert result["rss_mb"] < 500, result
