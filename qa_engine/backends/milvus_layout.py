"""How chunks are laid out in one Milvus collection: schema, indexes, analyzer, rows and filter expressions.

    chunk_id  VARCHAR primary key (content hash, as in SQLite)
    doc_id, company, doc_type, date   VARCHAR scalars (filters, operations)
    text      VARCHAR, jieba analyzer (finance dictionary + company names): input of the BM25 function
    sparse    SPARSE_FLOAT_VECTOR written by Milvus's BM25 function from `text`
    dense     FLOAT_VECTOR of the index's embedder (absent when QA_EMBEDDER=none)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np

from qa_engine.backends.base import ChunkFilter
from qa_engine.chunk.tokenizer import stopwords
from qa_engine.models import Chunk, DocumentCard

ID_BYTES = 64
TEXT_BYTES = 65_535
PUNCTUATION = tuple("，。、；：？！（）《》〈〉【】“”‘’「」…—·%,.;:?!()[]<>\"'/\\-+=*&#@")
SPARSE_FIELD, DENSE_FIELD = "sparse", "dense"
SHORT_FIELDS = {"doc_id": ID_BYTES, "company": 256, "doc_type": 128, "date": 16}


def analyzer_params(extra_words: Iterable[str]) -> dict[str, Any]:
    """jieba in search mode with our finance dictionary and the company names, lower-cased, no stopwords."""
    words = sorted({*finance_words(), *extra_words})
    return {
        "tokenizer": {"type": "jieba", "mode": "search", "hmm": False, "dict": ["_default_", *words]},
        "filter": ["lowercase", {"type": "stop", "stop_words": sorted({*stopwords(), *PUNCTUATION})}],
    }


def finance_words() -> list[str]:
    text = resources.files("qa_engine.resources").joinpath("finance_dict.txt").read_text(encoding="utf-8")
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def build_schema(client_cls: Any, dim: int | None, words: Iterable[str]) -> Any:
    """The collection schema; `client_cls` is pymilvus.MilvusClient (imported by the caller, optional extra)."""
    from pymilvus import DataType, Function, FunctionType

    schema = client_cls.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=ID_BYTES, is_primary=True)
    for name, size in SHORT_FIELDS.items():
        schema.add_field(name, DataType.VARCHAR, max_length=size)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True,
                     analyzer_params=analyzer_params(words))
    schema.add_field(SPARSE_FIELD, DataType.SPARSE_FLOAT_VECTOR)
    if dim:
        schema.add_field(DENSE_FIELD, DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=[SPARSE_FIELD]))
    return schema


def build_index_params(client: Any, dense: bool, bm25_k1: float, bm25_b: float) -> Any:
    """BM25 with the same k1/b as the local index (Settings.bm25_k1 / bm25_b)."""
    params = client.prepare_index_params()
    params.add_index(SPARSE_FIELD, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"bm25_k1": bm25_k1, "bm25_b": bm25_b})
    if dense:
        params.add_index(DENSE_FIELD, index_type="AUTOINDEX", metric_type="IP")  # vectors are L2-normalised
    return params


def chunk_rows(chunks: Sequence[Chunk], vectors: np.ndarray | None, cards: Mapping[str, DocumentCard],
               dense: bool) -> list[dict[str, Any]]:
    """One row per chunk; scalar fields come from the chunk's document."""
    rows = []
    for i, chunk in enumerate(chunks):
        meta = cards[chunk.doc_id].meta
        row: dict[str, Any] = {"chunk_id": chunk.chunk_id, "text": fit_bytes(chunk.indexed_text(), TEXT_BYTES)}
        values = {"doc_id": chunk.doc_id, "company": meta.company, "doc_type": meta.doc_type, "date": meta.date}
        row.update({name: fit_bytes(values[name], size) for name, size in SHORT_FIELDS.items()})
        if dense and vectors is not None:
            row[DENSE_FIELD] = vectors[i].astype(np.float32).tolist()
        rows.append(row)
    return rows


def fit_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (Milvus VARCHAR lengths count bytes), never mid-character."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def filter_expression(chunk_filter: ChunkFilter) -> str:
    """The Milvus boolean expression of `chunk_filter` ("" when it lets everything through)."""
    if chunk_filter.doc_ids is None:
        return ""
    return f"doc_id in [{', '.join(quote(d) for d in sorted(chunk_filter.doc_ids))}]"


def documents_expression(doc_ids: Iterable[str]) -> str:
    return filter_expression(ChunkFilter.for_documents(list(doc_ids)))


def quote(value: str) -> str:
    """A Milvus string literal: double quotes, with backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
