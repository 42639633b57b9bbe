"""Backend fixtures: the same small corpus indexed by every backend the contract suite covers.

    backend_kind    "local" | "milvus-lite-file" | "milvus-lite-server" | "milvus-cluster" (opt-in)
    make_settings   builds Settings for a fresh index folder (and a fresh Milvus collection) of that backend
    contract_corpus a folder with the two short 北方稀土 filings and a small made-up filing of another company
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qa_engine import Settings
from tests.helpers.filings import copy_filings

SMALL = ("000_f158551545b1b3bd.txt", "001_7869416333b8ea17.txt")
OTHER_FILE = "900_lithium.txt"
OTHER_TEXT = """测试锂电股份有限公司
关于设立硫化锂合资公司的公告
本公司董事会及全体董事保证本公告内容不存在任何虚假记载。
公司拟与合作方共同出资设立硫化锂合资公司，注册资本为人民币5,000万元，公司持股比例为51%。
合资公司主要从事硫化锂及固态电解质材料的研发、生产和销售。
本次投资的资金来源为公司自有资金，不会对公司2022年度经营业绩产生重大影响。
"""
OTHER_META = {"company": "测试锂电股份有限公司", "short_name": "测试锂电", "stock_code": "900001", "exchange": "SSE",
              "doc_type": "对外投资公告", "title": "关于设立硫化锂合资公司的公告", "date": "2022-04"}

MILVUS = pytest.mark.milvus
KINDS = [
    "local",
    pytest.param("milvus-lite-file", marks=MILVUS),
    pytest.param("milvus-lite-server", marks=MILVUS),
    pytest.param("milvus-cluster", marks=[MILVUS, pytest.mark.skipif(
        not os.environ.get("QA_MILVUS_URI"), reason="set QA_MILVUS_URI to run the suite against a Milvus cluster")]),
]


def write_corpus(folder: Path) -> Path:
    copy_filings(folder, SMALL)
    (folder / OTHER_FILE).write_text(OTHER_TEXT, encoding="utf-8")
    sidecar = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    sidecar[OTHER_FILE] = OTHER_META
    (folder / "metadata.json").write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def contract_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("contract-corpus"))


@pytest.fixture(scope="session")
def lite_server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("pymilvus", reason="pymilvus not installed: pip install 'qa-engine[milvus]'")
    pytest.importorskip("milvus_lite", reason="milvus-lite not installed: pip install 'qa-engine[milvus]'")
    from tests.helpers.milvus_server import milvus_lite_server

    folder = tmp_path_factory.mktemp("milvus-lite-server")
    with milvus_lite_server(folder / "data", folder / "server.log") as uri:
        yield uri


@pytest.fixture(scope="module", params=KINDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind != "local":
        pytest.importorskip("pymilvus", reason="pymilvus not installed: pip install 'qa-engine[milvus]'")
    return kind


@pytest.fixture(scope="module")
def make_settings(backend_kind: str, request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Settings]]:
    """Settings for a new, empty index of `backend_kind` on every call; cluster collections dropped afterwards."""
    collections: list[str] = []

    def make() -> Settings:
        folder = tmp_path_factory.mktemp(f"index-{backend_kind}")
        name = f"qa_test_{uuid.uuid4().hex[:12]}"
        collections.append(name)
        return Settings(index_dir=folder, backend="local" if backend_kind == "local" else "milvus",
                        milvus_uri=_uri(backend_kind, folder, request), milvus_collection=name,
                        dense_index="always")

    yield make
    if backend_kind == "milvus-cluster":
        _drop(os.environ["QA_MILVUS_URI"], collections)


def _uri(kind: str, folder: Path, request: pytest.FixtureRequest) -> str | None:
    if kind == "milvus-lite-file":
        return str(folder / "milvus.db")
    if kind == "milvus-lite-server":
        return str(request.getfixturevalue("lite_server_uri"))
    if kind == "milvus-cluster":
        return os.environ["QA_MILVUS_URI"]
    return None


def _drop(uri: str, collections: list[str]) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri, token=os.environ.get("QA_MILVUS_TOKEN", ""))
    for name in collections:
        if client.has_collection(name):
            client.drop_collection(name)
    client.close()
