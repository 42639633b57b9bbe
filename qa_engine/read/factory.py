"""Resolve the configured reader: 'heuristic' (offline default) or a transformers extractive-QA model id/path."""

from __future__ import annotations

from qa_engine.read.base import Reader
from qa_engine.settings import Settings


def make_reader(settings: Settings) -> Reader:
    if settings.reader == "heuristic":
        from qa_engine.read.heuristic import HeuristicReader

        return HeuristicReader()
    from qa_engine.read.transformers_reader import TransformersReader

    return TransformersReader(settings.reader, settings=settings)
