"""Search backends: the local files (default) or a Milvus collection, chosen by `Settings.backend`."""

from qa_engine.backends.base import ChunkFilter, ScoredChunk, SearchBackend, SearchRequest
from qa_engine.backends.factory import BACKENDS, open_backend

__all__ = ["BACKENDS", "ChunkFilter", "ScoredChunk", "SearchBackend", "SearchRequest", "open_backend"]
