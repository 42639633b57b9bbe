"""Resolve the configured reader: 'heuristic' (fast, offline), 'neural' (the heuristic reader's top sentences
reranked by the fine-tuned encoder shipped in resources/neural_reader/), or a transformers extractive-QA model."""

from __future__ import annotations

from qa_engine.read.base import Reader
from qa_engine.settings import Settings


def make_reader(settings: Settings) -> Reader:
    if settings.reader == "heuristic":
        from qa_engine.read.heuristic import HeuristicReader

        return HeuristicReader()
    if settings.reader == "neural":
        from qa_engine.read.neural import NeuralReader

        return NeuralReader(settings=settings)
    from qa_engine.read.transformers_reader import TransformersReader

    return TransformersReader(settings.reader, settings=settings)
