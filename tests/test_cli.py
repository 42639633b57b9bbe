"""The command line as people and scripts use it: full ids (or unique prefixes), --json on listings, no line
breaks inside numbers, help with examples and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_engine import Settings, ingest
from qa_engine.cli import app as cli

WHY_QUESTION = "为什么有研新材2024年稀土材料毛利率为负？"
NARROW = {"COLUMNS": "40", "NO_COLOR": "1"}


@pytest.fixture()
def small_index(small_filings: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    assert ingest([small_filings], Settings(index_dir=folder)).ok
    return folder


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env or NARROW, prog_name="qa-engine")


def test_docs_lists_full_ids_in_text_and_json(small_index: Path) -> None:
    listed = json.loads(run("docs", "--json", "--index", str(small_index)).stdout)
    ids = [d["doc_id"] for d in listed]
    assert len(ids) == 2 and all(len(i) == 16 for i in ids)
    assert {"doc_id", "company", "stock_code", "doc_type", "title", "date", "chunks"} <= set(listed[0])
    text = run("docs", "--index", str(small_index)).stdout
    assert all(i in text for i in ids), "a narrow terminal cut the ids"


def test_docs_rm_takes_a_shown_id_or_a_unique_prefix(small_index: Path) -> None:
    first, second = (d["doc_id"] for d in json.loads(run("docs", "--json", "--index", str(small_index)).stdout))
    unknown = run("docs", "rm", "zzzz", "--index", str(small_index))
    assert unknown.exit_code == 2 and "no document" in unknown.stdout
    removed = run("docs", "rm", first[:6], "--index", str(small_index))
    assert removed.exit_code == 0 and f"removed {first}" in removed.stdout
    assert [d["doc_id"] for d in json.loads(run("docs", "--json", "--index", str(small_index)).stdout)] == [second]


def test_docs_rm_refuses_an_ambiguous_prefix(small_index: Path) -> None:
    ids = [d["doc_id"] for d in json.loads(run("docs", "--json", "--index", str(small_index)).stdout)]
    common = next((ids[0][:n] for n in range(16, -1, -1) if ids[1].startswith(ids[0][:n])), "")
    refused = run("docs", "rm", common, "--index", str(small_index))
    assert refused.exit_code == 2 and ("start of 2 document ids" in refused.stdout or not common)


def test_ask_output_has_no_line_breaks_inside_words_or_numbers(built_index: Path) -> None:
    answer = json.loads(run("ask", WHY_QUESTION, "--json", "--index", str(built_index)).stdout)
    text = run("ask", WHY_QUESTION, "--index", str(built_index)).stdout
    assert answer["found"] and answer["sentence"] in text, "the 40-column output broke the sentence"
    assert "2\n024" not in text and "2024年" in text


def test_search_labels_its_score_as_fused(built_index: Path) -> None:
    out = run("search", "毛利率为负", "-k", "2", "--index", str(built_index)).stdout
    assert "fused score" in out


@pytest.mark.parametrize("command", [[], ["ask"], ["search"], ["ingest"], ["docs"], ["docs", "rm"], ["serve"],
                                     ["models", "prepare"], ["eval"]])
def test_help_has_examples_and_plain_usage(command: list[str]) -> None:
    out = run(*command, "--help", env={"COLUMNS": "100"}).stdout
    assert "Examples:" in out or "Example:" in out
    assert "<bool>" not in out and "{" not in out.split("\n\n")[0], out[:300]
    if not command:
        assert "Exit codes:" in out
    if command == ["ask"]:
        assert "Usage: qa-engine ask [OPTIONS] QUESTION" in " ".join(out.split())
