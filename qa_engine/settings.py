"""All tunables in one typed Settings object (env prefix `QA_`), passed in explicitly.

A pydantic model that fills the fields not given from `QA_*` environment variables (names in any case), as
pydantic-settings' BaseSettings would with this configuration: that library also imports asyncio and its cloud
secret providers, 0.1 s of every cold start."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Annotated, Literal, TypeGuard, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from qa_engine.errors import ConfigError

RetrievalMode = Literal["bm25", "dense", "hybrid"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)
BackendName = Literal["local", "milvus"]
Segmenter = Literal["auto", "rjieba", "jieba"]  # "auto": rjieba when installed
DenseIndexPolicy = Literal["always", "auto"]
NeuralRuntime = Literal["onnx", "onnx-int8", "torch"]
CHOICE_FIELDS = ("segmenter", "backend", "dense_index", "retrieval_mode", "neural_runtime")
# settings that are no longer read, and why: an old environment or config file still loads, with a warning
RETIRED = {"company_boost": "it was never read"}


def is_retrieval_mode(value: str) -> TypeGuard[RetrievalMode]:
    return value in RETRIEVAL_MODES


ENV_PREFIX = "QA_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True)

    index_dir: Path = Path("index")

    # chunking (sizes in jieba tokens)
    chunk_tokens: int = Field(160, ge=16, le=4096)
    chunk_overlap_sentences: int = Field(1, ge=0, le=8)
    max_file_bytes: int = Field(200 * 1024 * 1024, ge=1)
    max_document_chars: int = Field(5_000_000, ge=1)  # extracted text of one filing; a 300-page report has ~0.6M
    # PDFs are parsed in a child process bounded in memory (address space) and time, so that a decompression
    # bomb (a small file whose streams inflate to GBs) fails alone with a 422 naming the limit
    pdf_max_pages: int = Field(2000, ge=1)
    pdf_max_memory_mb: int = Field(1024, ge=64)
    pdf_timeout_s: float = Field(120.0, gt=0)
    user_dict: Path | None = None
    segmenter: Segmenter = "auto"  # rjieba and jieba make the same cuts, rjieba ~10x faster

    # retrieval
    backend: BackendName = "local"
    embedder: str = "static"  # "static" (corpus-trained, offline) | "none" | a sentence-transformers id/path
    embed_dim: int = Field(256, ge=8, le=4096)
    # "auto": dense vectors only when retrieval_mode uses them (a BM25-only index skips training the embedder: ingest
    # 1.6x faster at 10x); "always": every index gets them, so that any query may ask for dense or hybrid (the
    # evaluation's builds do)
    dense_index: DenseIndexPolicy = "auto"
    retrieval_mode: RetrievalMode = "bm25"  # bm25 measured best on the gold set (eval/README.md)
    # BM25 saturation and length normalisation; flat optimum on the gold set for k1 0.7-1.0, b 0.2-0.6 (eval/README.md)
    bm25_k1: float = Field(0.9, gt=0, le=5)
    bm25_b: float = Field(0.5, ge=0, le=1)
    rrf_k: int = Field(60, ge=1)
    bm25_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(0.2, ge=0)
    candidate_pool: int = Field(50, ge=1)
    hnsw_threshold: int = Field(100_000, ge=1)
    reranker: str | None = None  # a sentence-transformers CrossEncoder id/path
    rerank_top: int = Field(20, ge=1)
    aliases_file: Path | None = None
    glossary_file: Path | None = None
    synonyms_file: Path | None = None  # extra Chinese shorthand → filing wording rows
    # English words outside the glossary looked up in CC-CEDICT (retrieve/dictionary.py), kept where the index uses them
    english_dictionary: bool = True

    # pretrained models (QA_EMBEDDER, QA_RERANKER, QA_READER): where models converted on this machine are kept
    model_cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "qa_engine" / "models")

    # reading
    # "neural" (default): the heuristic reader's top sentences reranked by the fine-tuned e5 encoder (about
    # 0.1-0.3 s a question); "heuristic": the feature model alone (a few ms, no torch); or a transformers
    # extractive-QA model id/path
    reader: str = "neural"
    # how the neural reader runs its encoder: "onnx" (default; exported once into model_cache_dir, no torch at
    # run time) or "torch", which give the same vectors; "onnx-int8", a quantised copy (fastest, vectors within
    # about 0.04)
    neural_runtime: NeuralRuntime = "onnx"
    # the neural reader's sentence vectors kept by content beside its encoder (read/passage_vectors.py), up to
    # this size (about 1.6 KB a sentence); 0 encodes every question's candidates afresh
    reader_vector_cache_mb: int = Field(2048, ge=0)
    read_top_k: int = Field(5, ge=1)
    abstain_threshold: float | None = Field(None, ge=0, le=1)  # None: the reader's own, calibrated on the dev split with its weights
    max_question_chars: int = Field(2000, ge=1)
    prompts_dir: Path | None = None  # the answer templates; None: the repository's prompts/

    # serving
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    api_key: str | None = None
    protect_documents: bool = True
    max_body_bytes: int = Field(1 * 1024 * 1024, ge=1)
    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1)
    request_timeout_s: float = Field(30.0, gt=0)
    upload_dir: Path | None = None
    # Host header values served (against DNS rebinding); "*" serves any. The bind address is always allowed.
    # Comma-separated in the environment: QA_ALLOWED_HOSTS=localhost,qa.internal
    allowed_hosts: list[str] = ["localhost", "127.0.0.1", "::1"]
    # origins besides the server's own that may write (POST/DELETE); a browser page elsewhere is refused
    allowed_origins: list[str] = []
    index_poll_s: float = Field(0.5, gt=0)  # how often a server looks for a generation another process committed
    workers: Annotated[int, Field(ge=1, le=64)] = 1  # server processes, each opening the index read-only
    access_log: bool = False  # one uvicorn log line per request

    # milvus (QA_BACKEND=milvus)
    milvus_uri: str | None = None  # a milvus-lite path ending in .db, or a server: http://host:19530
    milvus_collection: str = "qa_engine_chunks"  # one collection per index folder
    milvus_token: str | None = None  # "user:password" or an API key, for clusters with authentication

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: object) -> object:
        """Return the given values, each field not given taken from its QA_ variable; warn of each retired
        setting they or the environment set."""
        given = dict(data) if isinstance(data, dict) else {}
        for variable, value in os.environ.items():
            name = variable[len(ENV_PREFIX):].lower()
            if variable[: len(ENV_PREFIX)].upper() == ENV_PREFIX and name in cls.model_fields:
                given.setdefault(name, value)
        for retired, why in RETIRED.items():
            retired_variable = f"{ENV_PREFIX}{retired.upper()}"
            retired_value = given.get(retired, os.environ.get(retired_variable))
            if retired_value is not None:
                warnings.warn(f"{retired}={retired_value!r} ({retired_variable}) is ignored: {why}; remove it",
                              UserWarning, stacklevel=2)
        return given if isinstance(data, dict) else data

    @field_validator(*CHOICE_FIELDS, mode="before")
    @classmethod
    def _one_of_the_choices(cls, value: object, info: ValidationInfo) -> object:
        """Return `value` when it is one of the field's choices; raise naming the value and the choices."""
        name = info.field_name or ""
        choices = get_args(cls.model_fields[name].annotation)
        if value not in choices:
            raise ValueError(f"unknown {name} {value!r} (QA_{name.upper()}): use one of {', '.join(choices)}")
        return value

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Return a list for a comma-separated environment value; lists pass through."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def settings_error(exc: ValidationError) -> ConfigError:
    """Return one ConfigError naming each invalid setting, its environment variable, value and the fix."""
    problems = []
    for error in exc.errors():
        if error["type"] == "value_error":  # our own validators' messages already name all of it
            problems.append(str(error["ctx"]["error"]))
            continue
        name = ".".join(str(part) for part in error["loc"])
        problems.append(f"{name} {error.get('input')!r} (QA_{name.upper()}): {error['msg'].lower()}")
    return ConfigError("invalid settings: " + "; ".join(problems))
