"""How one search ranks: the retrieval mode and the fusion's pool, RRF constant and weights."""

from __future__ import annotations

from dataclasses import dataclass

from qa_engine.settings import RetrievalMode, Settings


@dataclass(frozen=True)
class RetrievalParams:
    """Its values come from Settings (`from_settings`), the one place with defaults."""

    mode: RetrievalMode
    pool: int
    rrf_k: int
    bm25_weight: float
    dense_weight: float
    prefer_named_company: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, mode: RetrievalMode | None = None) -> RetrievalParams:
        """Return the configured parameters, in `mode` when given (else settings.retrieval_mode)."""
        return cls(mode=mode or settings.retrieval_mode, pool=settings.candidate_pool, rrf_k=settings.rrf_k,
                   bm25_weight=settings.bm25_weight, dense_weight=settings.dense_weight)

    @property
    def uses_bm25(self) -> bool:
        return self.mode in ("bm25", "hybrid")

    @property
    def uses_dense(self) -> bool:
        return self.mode in ("dense", "hybrid")

    @property
    def dense_rank_weight(self) -> float:
        """The dense ranking's weight in the fusion (alone, it is the whole ranking)."""
        return self.dense_weight if self.mode == "hybrid" else 1.0
