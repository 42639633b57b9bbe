"""The `qa-engine` console script (qa_engine/console.py): a command that only reads ends without the interpreter's
teardown once its output is flushed, other commands exit as usual, and `ask` starts the neural reader's session
while it imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa_engine import console
from qa_engine.read import session_preload
from tests.helpers.tiny_models import build_doubling_onnx

REPO = Path(__file__).resolve().parents[1]
# an exit handler that a normal interpreter exit runs and the console script's early exit skips
SCRIPT = ("import atexit, sys; atexit.register(lambda: print('teardown', file=sys.stderr)); "
          "from qa_engine.console import main; sys.argv[0] = 'qa-engine'; main()")


def _run(*arguments: str, index: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_READER": "heuristic", "HF_HUB_OFFLINE": "1"}
    if index is not None:
        env["QA_INDEX_DIR"] = str(index)
    return subprocess.run([sys.executable, "-c", SCRIPT, *arguments], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300, check=False)


def test_ask_prints_its_whole_answer_and_skips_the_teardown(built_index: Path) -> None:
    done = _run("ask", "为什么有研新材2024年稀土材料毛利率为负？", index=built_index)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "稀土材料" in done.stdout and "[1]" in done.stdout
    assert "teardown" not in done.stderr


def test_a_long_json_listing_through_a_pipe_is_flushed_whole(built_index: Path) -> None:
    done = _run("search", "稀土精矿关联交易的定价", "-k", "20", "--json", index=built_index)
    assert done.returncode == 0, done.stderr[-2000:]
    hits = json.loads(done.stdout)  # the whole document, not a buffer's worth of it
    assert len(hits) == 20 and len(done.stdout) > 8192
    assert "teardown" not in done.stderr


def test_an_error_keeps_its_exit_code_and_message(built_index: Path) -> None:
    done = _run("ask", "   ", index=built_index)
    assert done.returncode == 2
    assert "error" in (done.stdout + done.stderr).lower()


def test_other_commands_exit_as_usual(tmp_path: Path) -> None:
    done = _run("--help")
    assert done.returncode == 0 and "ask" in done.stdout
    assert "teardown" in done.stderr
    one_filing = tmp_path / "filings"
    one_filing.mkdir()
    (one_filing / "notice.txt").write_text("公司2024年实现营业收入1,234.56万元，同比下降12.3%。\n", encoding="utf-8")
    done = _run("ingest", str(one_filing), index=tmp_path / "index")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "teardown" in done.stderr


@pytest.mark.parametrize(("arguments", "command"), [(["ask", "q"], "ask"), (["--json", "search", "q"], "search"),
                                                    (["--help"], None), ([], None)])
def test_the_command_is_the_first_word_that_is_not_an_option(arguments: list[str], command: str | None) -> None:
    assert console._command(arguments) == command


def test_ask_starts_the_neural_readers_session_from_the_cache_hint(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    cache = tmp_path / "models"
    model = build_doubling_onnx(cache / session_preload.ONNX_DIR / "export" / "encoder.onnx")
    session_preload.remember_served(cache, "onnx", model)
    monkeypatch.setenv("QA_MODEL_CACHE_DIR", str(cache))
    monkeypatch.setenv("QA_READER", "heuristic")
    console._start_reader_session()
    assert session_preload.take(model) is None  # the heuristic reader loads no session
    monkeypatch.setenv("QA_READER", "neural")
    console._start_reader_session()
    assert session_preload.take(model) is not None


@pytest.mark.parametrize(("preset", "expected"), [(None, "__all__"), ("logfire", "logfire")])
def test_pydantic_plugins_are_not_looked_for_unless_asked(preset: str | None, expected: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if preset is None:
        monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", preset)
    monkeypatch.setattr(sys, "argv", ["qa-engine", "--help"])
    with pytest.raises(SystemExit) as done:
        console.main()
    assert done.value.code == 0
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == expected
