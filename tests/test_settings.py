"""Settings: each choice field refuses a value outside its choices with a message naming both, the retired
company_boost still loads, and the other stages take their defaults from Settings."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from qa_engine.cli import app as cli
from qa_engine.render import prompts_dir
from qa_engine.retrieve.params import RetrievalParams
from qa_engine.settings import Settings, settings_error


@pytest.mark.parametrize(("field", "value", "choices"), [
    ("retrieval_mode", "bm26", "bm25, dense, hybrid"),
    ("backend", "elastic", "local, milvus"),
    ("segmenter", "pkuseg", "auto, rjieba, jieba"),
    ("dense_index", "never", "always, auto"),
])
def test_a_choice_outside_the_choices_names_the_value_and_the_choices(field: str, value: str, choices: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})
    message = str(settings_error(caught.value))
    assert f"unknown {field} {value!r} (QA_{field.upper()}): use one of {choices}" in message


def test_an_environment_value_out_of_range_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_BM25_B", "2")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "bm25_b '2' (QA_BM25_B): input should be less than or equal to 1" in str(settings_error(caught.value))


@pytest.mark.parametrize(("field", "value"), [("read_top_k", 0), ("candidate_pool", -1), ("abstain_threshold", 1.5),
                                              ("port", 70000), ("request_timeout_s", 0)])
def test_a_number_out_of_range_is_refused_naming_the_field_and_the_value(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})
    assert f"{field} {value!r} (QA_{field.upper()}): input should be" in str(settings_error(caught.value))


def test_the_command_line_reports_invalid_settings_without_a_traceback() -> None:
    result = CliRunner().invoke(cli, ["docs"], env={"QA_RETRIEVAL_MODE": "fuzzy", "NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 2
    assert "unknown retrieval_mode 'fuzzy' (QA_RETRIEVAL_MODE): use one of bm25, dense, hybrid" in result.stdout
    assert "Traceback" not in result.stdout


def test_the_retired_company_boost_still_loads_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.warns(UserWarning, match=r"company_boost=2\.0 \(QA_COMPANY_BOOST\) is ignored"):
        assert Settings(company_boost=2.0).retrieval_mode == "bm25"
    monkeypatch.setenv("QA_COMPANY_BOOST", "1.5")
    with pytest.warns(UserWarning, match="company_boost='1.5'"):
        Settings()
    monkeypatch.delenv("QA_COMPANY_BOOST")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Settings()


def test_retrieval_params_take_every_value_from_settings() -> None:
    settings = Settings(retrieval_mode="hybrid", candidate_pool=70, rrf_k=30, bm25_weight=0.7, dense_weight=0.4)
    params = RetrievalParams.from_settings(settings)
    assert (params.mode, params.pool, params.rrf_k, params.bm25_weight, params.dense_weight) == \
        ("hybrid", 70, 30, 0.7, 0.4)
    assert RetrievalParams.from_settings(settings, "dense").mode == "dense"


def test_the_answer_templates_folder_comes_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_PROMPTS_DIR", str(tmp_path))
    assert prompts_dir(Settings().prompts_dir) == tmp_path
    assert prompts_dir(None).name == "prompts"


def test_fields_not_given_come_from_qa_variables_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_READ_TOP_K", "7")
    monkeypatch.setenv("qa_reader", "heuristic")
    monkeypatch.setenv("QA_ALLOWED_HOSTS", "localhost, qa.internal")
    monkeypatch.setenv("QA_NOT_A_SETTING", "ignored")
    given = Settings(read_top_k=3)
    assert given.read_top_k == 3  # a value given wins over the environment
    assert given.reader == "heuristic" and given.allowed_hosts == ["localhost", "qa.internal"]
    assert Settings().read_top_k == 7 and not hasattr(Settings(), "not_a_setting")


def test_the_command_line_starts_without_asyncio() -> None:
    """Settings read the environment themselves: pydantic-settings would import asyncio and its cloud secret
    providers, 0.1 s of every `qa-engine` command."""
    script = "import sys, qa_engine.cli; print(sorted(m for m in ('asyncio', 'pydantic_settings') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.strip() == "[]"
