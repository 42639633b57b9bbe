"""Evaluation harness of qa_engine: gold questions → retrieval and reader scores, ablations, report, check.

    run_eval(EvalConfig(...)) -> EvalResult        the whole harness (what `python -m qa_engine.eval` runs)
    evaluate_retriever(retriever, gold, corpus)    score any `retrieve(query, k) -> list[Hit]`
    evaluate_reader(reader, gold, corpus)          score any `ask(question) -> Answer` (or such a callable)
    load_gold / validate_gold                      read eval/gold/*.jsonl; check spans are verbatim
    main(argv) / cli_main(argv)                    the command line; returns the exit code
"""

from qa_engine.eval.check import check_results, compare, flatten_scores
from qa_engine.eval.cli import cli_main, main
from qa_engine.eval.corpus import Corpus
from qa_engine.eval.gold import GoldFormatError, GoldItem, GoldProblem, load_gold, validate_gold
from qa_engine.eval.reading import AsksQuestions, ReaderEval, evaluate_reader
from qa_engine.eval.report import write_outputs
from qa_engine.eval.retrieval import EngineRetriever, RetrievalEval, Retriever, evaluate_retriever
from qa_engine.eval.runner import AblationRow, EvalConfig, EvalResult, run_eval

__all__ = [
    "AblationRow", "AsksQuestions", "Corpus", "EngineRetriever", "EvalConfig", "EvalResult", "GoldFormatError",
    "GoldItem", "GoldProblem", "ReaderEval", "RetrievalEval", "Retriever", "check_results", "cli_main", "compare",
    "evaluate_reader", "evaluate_retriever", "flatten_scores", "load_gold", "main", "run_eval", "validate_gold",
    "write_outputs",
]
