"""Schemathesis against a live server on 127.0.0.1: every operation in the OpenAPI schema, with valid and
invalid inputs, must answer without a 5xx, with a declared status, content type and body shape.

Bounded: QA_FUZZ_EXAMPLES examples per operation (default 12), fixed seed, no example database, and a
wall-clock cap for the whole module (QA_FUZZ_BUDGET_S, default 240 s) after which the remaining operations are
skipped. The server works on a private copy of the index (the fuzzer uploads and deletes).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa_engine import Settings
from qa_engine.api import create_app
from qa_engine.api.server import BackgroundServer
from tests.helpers.index_copy import copy_index

EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "12"))
BUDGET_S = float(os.environ.get("QA_FUZZ_BUDGET_S", "240"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
STATUSES: Counter[int] = Counter()

pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(BUDGET_S) + 120)]


@pytest.fixture(scope="module")
def fuzz_server(index_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                start_server: Callable[..., BackgroundServer]) -> BackgroundServer:
    folder = tmp_path_factory.mktemp("fuzz")
    copy_index(index_dir, folder / "index")
    app_settings = Settings(index_dir=folder / "index", upload_dir=folder / "uploads", max_upload_bytes=256 * 1024,
                            pdf_max_memory_mb=256, pdf_timeout_s=20)
    return start_server(create_app(app_settings))


@pytest.fixture(scope="module")
def fuzz_started(fuzz_server: BackgroundServer) -> float:
    """Return when fuzzing began (the budget counts from here, not from collection)."""
    return time.monotonic()


# The schema does not depend on the settings, so it is read from an app at collection time (one test per
# operation); the requests go to the live server.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_and_never_answers_5xx(case: schemathesis.Case, fuzz_server: BackgroundServer,
                                            fuzz_started: float) -> None:
    if time.monotonic() - fuzz_started > BUDGET_S:
        pytest.skip(f"fuzzing budget of {BUDGET_S:.0f} s spent (QA_FUZZ_BUDGET_S)")
    response = case.call(base_url=fuzz_server.url, timeout=60)
    STATUSES[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)


def test_fuzzing_saw_no_5xx() -> None:
    """Runs after the fuzz tests in this module: a summary that fails on any 5xx."""
    if not STATUSES:
        pytest.skip("the fuzz tests were not selected")
    print(f"\nschemathesis statuses: {dict(sorted(STATUSES.items()))}")
    assert not [status for status in STATUSES if status >= 500]
