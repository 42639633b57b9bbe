"""The custom retriever / reader example in eval/README.md runs as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_readme_example_runs(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _python_blocks((REPO / "eval" / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1
    example = tmp_path / "readme_example.py"
    example.write_text(blocks[0], encoding="utf-8")
    monkeypatch.setenv("QA_INDEX_DIR", str(index_dir))
    monkeypatch.chdir(REPO)
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert "bm25 {'recall@1':" in out and "by-length {'recall@1':" in out
    assert "ask(k=3)" in out and "missed:" in out
