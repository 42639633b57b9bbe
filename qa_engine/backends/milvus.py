"""Milvus backend (pymilvus): BM25 over a jieba-analysed text field plus dense vectors, fused by rank.

Works against a Milvus standalone/distributed server (`http://host:19530`) and against milvus-lite (a local
`.db` path or `milvus-lite server`). Designed around milvus-lite's quirks: the collection is loaded after every
(re)connect; BM25 hits are read by their order only, since lite returns negated scores; fusion uses ranks,
never raw scores; a `.db` folder is served by one process at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_engine.backends.base import ScoredChunk, SearchRequest, prefer_docs
from qa_engine.backends.milvus_layout import (
    DENSE_FIELD,
    SPARSE_FIELD,
    build_index_params,
    build_schema,
    chunk_rows,
    documents_expression,
    filter_expression,
)
from qa_engine.chunk.tokenizer import company_words
from qa_engine.errors import ConfigError, MissingDependencyError
from qa_engine.index.snapshot import Snapshot
from qa_engine.models import Chunk, DocumentCard
from qa_engine.retrieve.fusion import rrf_fuse
from qa_engine.settings import Settings

BATCH_ROWS = 500
CONNECT_TIMEOUT_S = 10.0
CONSISTENCY = "Strong"  # a search right after a write sees it (the snapshot filter covers the rest)


@dataclass(frozen=True)
class _Route:
    """One ranked list to fetch: BM25 over `text`, or nearest neighbours of the query vector."""

    field: str
    query: Any  # the query text, or its vector
    weight: float


class MilvusBackend:
    """One collection per index folder; rows are keyed by chunk id, so re-upserting a chunk replaces it."""

    def __init__(self, client: Any, collection: str, bm25: tuple[float, float]) -> None:
        self._client = client
        self._name = collection
        self._bm25 = bm25  # (k1, b), fixed when the collection is created
        self._exists = False
        self._has_dense = False
        self._load()

    @classmethod
    def connect(cls, settings: Settings) -> MilvusBackend:
        """Connects to settings.milvus_uri; raises ConfigError naming the URI when it is unset or unreachable."""
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:
            raise MissingDependencyError.for_package("pymilvus", "milvus") from exc
        uri = settings.milvus_uri
        if not uri:
            raise ConfigError("QA_BACKEND=milvus needs QA_MILVUS_URI: a milvus-lite file (index/milvus.db) "
                              "or a server address (http://localhost:19530)")
        try:
            client = MilvusClient(uri=uri, token=settings.milvus_token or "", timeout=CONNECT_TIMEOUT_S)
            return cls(client, settings.milvus_collection, (settings.bm25_k1, settings.bm25_b))
        except Exception as exc:  # pymilvus raises MilvusException, grpc errors or OSError by transport
            raise ConfigError(f"cannot use Milvus at QA_MILVUS_URI={uri!r}: {exc}") from exc

    def _load(self) -> None:
        self._exists = bool(self._client.has_collection(self._name))
        if self._exists:
            self._client.load_collection(self._name)  # milvus-lite serves nothing from an unloaded collection
            fields = self._client.describe_collection(self._name)["fields"]
            self._has_dense = any(f["name"] == DENSE_FIELD for f in fields)

    # ---- reading ----------------------------------------------------------------------------------
    def search(self, snapshot: Snapshot, request: SearchRequest) -> list[ScoredChunk]:
        doc_ids = request.chunk_filter.doc_ids
        if not self._exists:
            self._load()  # another process (an ingest) may have created it since
        if not self._exists or (doc_ids is not None and not doc_ids):
            return []
        routes = self._routes(request)
        expr = filter_expression(request.chunk_filter)
        pool = max(request.params.pool, request.k)
        if len(routes) == 2 and routes[0].weight == routes[1].weight:
            rankings, weights = [self._fused_ids(routes, pool, expr, request.params.rrf_k)], [1.0]
        else:
            rankings, weights = [self._ranked_ids(r, pool, expr) for r in routes], [r.weight for r in routes]
        fused = rrf_fuse(rankings, weights, request.params.rrf_k)
        chunks = snapshot.chunks_by_id([chunk_id for chunk_id, _ in fused])  # drops writes not committed
        scored = [ScoredChunk(chunks[chunk_id], score) for chunk_id, score in fused if chunk_id in chunks]
        if request.params.prefer_named_company and request.named_docs and request.chunk_filter.is_open:
            scored = prefer_docs(scored, request.named_docs)
        return scored[: request.k]

    def _routes(self, request: SearchRequest) -> list[_Route]:
        params = request.params
        routes = []
        if params.uses_bm25:
            routes.append(_Route(SPARSE_FIELD, request.text, params.bm25_weight))
        if params.uses_dense and self._has_dense and request.vector is not None:
            routes.append(_Route(DENSE_FIELD, request.vector.astype(np.float32).tolist(), params.dense_rank_weight))
        return routes

    def _ranked_ids(self, route: _Route, limit: int, expr: str) -> list[str]:
        hits = self._client.search(self._name, data=[route.query], anns_field=route.field, limit=limit,
                                   filter=expr, output_fields=[])
        return [_hit_id(h) for h in hits[0]]

    def _fused_ids(self, routes: list[_Route], limit: int, expr: str, rrf_k: int) -> list[str]:
        """Milvus's own RRF (unweighted: used when both routes weigh the same)."""
        from pymilvus import AnnSearchRequest, RRFRanker

        requests = [AnnSearchRequest(data=[r.query], anns_field=r.field, param={}, limit=limit, expr=expr or None)
                    for r in routes]
        hits = self._client.hybrid_search(self._name, requests, RRFRanker(rrf_k), limit=limit, output_fields=[])
        return [_hit_id(h) for h in hits[0]]

    def count(self) -> int:
        """Rows in the collection (0 when it does not exist yet)."""
        if not self._exists:
            return 0
        rows = self._client.query(self._name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    # ---- writing ----------------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray | None, cards: Mapping[str, DocumentCard]) -> None:
        if not len(chunks):
            return
        self._ensure_collection(None if vectors is None else int(vectors.shape[1]), cards)
        rows = chunk_rows(chunks, vectors, cards, self._has_dense)
        for start in range(0, len(rows), BATCH_ROWS):
            self._client.upsert(self._name, rows[start : start + BATCH_ROWS])

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        ids = sorted(doc_ids)
        if not self._exists or not ids:
            return
        for start in range(0, len(ids), BATCH_ROWS):
            self._client.delete(self._name, filter=documents_expression(ids[start : start + BATCH_ROWS]))

    def clear(self) -> None:
        if self._client.has_collection(self._name):
            self._client.drop_collection(self._name)
        self._exists = self._has_dense = False

    def _ensure_collection(self, dim: int | None, cards: Mapping[str, DocumentCard]) -> None:
        if self._exists:
            return
        from pymilvus import MilvusClient

        schema = build_schema(MilvusClient, dim, company_words(list(cards.values())))
        self._client.create_collection(self._name, schema=schema, consistency_level=CONSISTENCY,
                                       index_params=build_index_params(self._client, bool(dim), *self._bm25))
        self._load()

    def close(self) -> None:
        self._client.close()


def _hit_id(hit: Any) -> str:
    return str(hit.get("chunk_id") or hit.get("id"))
