"""`run_eval`: open the index, run every retrieval mode and reader variant, and collect one `EvalResult`."""

from __future__ import annotations

import dataclasses
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_engine.eval.corpus import Corpus
from qa_engine.eval.gold import GoldItem, load_gold, validate_gold
from qa_engine.eval.intervals import Interval, reader_intervals
from qa_engine.eval.metrics import Score, calibration_bins
from qa_engine.eval.reading import AnswerJudgement, ReaderEval, evaluate_reader, score_answers
from qa_engine.eval.retrieval import (
    EngineRetriever,
    QueryJudgement,
    RetrievalEval,
    evaluate_retriever,
    score_judgements,
)
from qa_engine.settings import RETRIEVAL_MODES, Settings

if TYPE_CHECKING:
    from qa_engine.engine import Engine

RERANK_SUFFIX = "+rerank"


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate: which index, which gold set, which ablations; where to write the results."""

    index: Path = Path("index")
    gold: Path = Path("eval/gold")
    out: Path = Path("eval/runs/latest")
    modes: tuple[str, ...] = RETRIEVAL_MODES
    k: int = 20
    readers: tuple[str, ...] = ()  # empty: only the configured `settings.reader`
    limit: int | None = None  # evaluate the first N gold items only
    build: tuple[Path, ...] = ()  # ingest these files/folders into `index` first
    settings: Settings | None = None  # None: Settings() from the environment (QA_*)
    command: str = ""  # the command line, recorded in results.json
    split: str | None = None  # only this split of the gold set (train / dev / test); None: all, reported per split

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        unknown = [m for m in self.modes if m not in RETRIEVAL_MODES]
        if unknown:
            raise ValueError(f"unknown retrieval mode(s) {unknown}: use {', '.join(RETRIEVAL_MODES)}")


@dataclass(frozen=True)
class AblationRow:
    """One named variant (a retrieval mode or a reader) and its scores."""

    name: str
    kind: str  # "retrieval" | "reader"
    metrics: dict[str, Score]
    by_split: dict[str, Mapping[str, Score]] = field(default_factory=dict)
    by_lang: dict[str, Mapping[str, Score]] = field(default_factory=dict)  # readers: each language's scores


@dataclass(frozen=True)
class EvalResult:
    """Everything one run measured; `to_dict()` is what results.json holds."""

    meta: dict[str, Any]
    overall: dict[str, Score]
    by_type: dict[str, dict[str, Score]]
    by_lang: dict[str, dict[str, Score]]
    ablations: tuple[AblationRow, ...]
    latency: dict[str, dict[str, float]]
    recall_curves: dict[str, dict[int, float]]
    hit_by_type: dict[str, dict[str, Score]]  # reader row -> question type -> answer hit rate
    items: tuple[dict[str, Any], ...] = field(default=())
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> {overall, by_type, by_lang}
    by_filing: dict[str, dict[str, Score]] = field(default_factory=dict)
    calibration: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # reader row -> bins
    # "split" or "split · lang" -> reader row (or "<first row> - <row>") -> metric -> 95% interval by filing
    intervals: dict[str, dict[str, dict[str, Interval | None]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["recall_curves"] = {m: {str(k): v for k, v in c.items()} for m, c in self.recall_curves.items()}
        return data


def run_eval(config: EvalConfig) -> EvalResult:
    """Return the scores of the engine at `config.index` on the gold set, with every ablation."""
    settings = _settings(config)
    if config.build:
        _build(config.build, settings)
    gold = load_gold(config.gold, config.limit, config.split)
    engines = _EngineCache(config.index, settings)
    corpus = Corpus.from_engine(engines.get())
    problems = validate_gold(gold, corpus)
    for problem in problems:
        print(f"warning: gold problem: {problem}", file=sys.stderr)
    retrieval = _retrieval_ablations(engines, settings, gold, corpus, config)
    readers = {f"reader={name}": _evaluate_one_reader(engines, name, settings, gold, corpus)
               for name in (config.readers or (settings.reader,))}
    return _assemble(config, settings, gold, retrieval, readers, len(problems))


def _evaluate_one_reader(engines: _EngineCache, name: str, settings: Settings, gold: Sequence[GoldItem],
                         corpus: Corpus) -> ReaderEval:
    """Ask without abstention and abstain at the reader's own threshold: one pass gives both what `ask` shows
    and the reader's best sentence before abstention (sentence hit, calibration)."""
    threshold = engines.get(reader=name, reranker=settings.reranker).abstain_threshold
    engine = engines.get(reader=name, reranker=settings.reranker, abstain_threshold=0.0)
    return evaluate_reader(engine, gold, corpus, threshold=threshold)


def open_corpus(config: EvalConfig) -> Corpus:
    """Return the corpus of the index at `config.index`, ingesting `config.build` first if given."""
    settings = _settings(config)
    if config.build:
        _build(config.build, settings)
    return Corpus.from_engine(_EngineCache(config.index, settings).get())


def _settings(config: EvalConfig) -> Settings:
    return (config.settings or Settings()).model_copy(update={"index_dir": config.index})


def _build(paths: Sequence[Path], settings: Settings) -> None:
    """Ingests `paths` with dense vectors whatever QA_DENSE_INDEX says: the retrieval ablations query them."""
    from qa_engine.engine import ingest

    report = ingest(paths, settings.model_copy(update={"dense_index": "always"}))
    for source, message in report.failed:
        print(f"warning: could not ingest {source}: {message}", file=sys.stderr)


class _EngineCache:
    """Engines over one index, opened once per (reader, reranker) variant."""

    def __init__(self, index: Path, settings: Settings) -> None:
        self._index, self._settings = index, settings
        self._open: dict[tuple[str, str | None, float | None], Engine] = {}

    def get(self, reader: str | None = None, reranker: str | None = None,
            abstain_threshold: float | None = None) -> Engine:
        from qa_engine.engine import Engine

        key = (reader or self._settings.reader, reranker, abstain_threshold)
        if key not in self._open:
            update: dict[str, Any] = {"reader": key[0], "reranker": reranker}
            if abstain_threshold is not None:
                update["abstain_threshold"] = abstain_threshold
            self._open[key] = Engine.open(self._index, settings=self._settings.model_copy(update=update))
        return self._open[key]


def _retrieval_ablations(engines: _EngineCache, settings: Settings, gold: Sequence[GoldItem], corpus: Corpus,
                         config: EvalConfig) -> dict[str, RetrievalEval]:
    """Return one RetrievalEval per mode (without reranking), plus `<mode>+rerank` rows when a reranker is set.

    The reranked rows are hybrid's and the configured mode's (the one `ask` uses) when that differs.
    """
    rows = {mode: evaluate_retriever(EngineRetriever(engines.get(), mode), gold, corpus, config.k)
            for mode in config.modes}
    if settings.reranker:
        reranking = engines.get(reranker=settings.reranker)
        for mode in dict.fromkeys(("hybrid", settings.retrieval_mode)):
            rows[mode + RERANK_SUFFIX] = evaluate_retriever(EngineRetriever(reranking, mode), gold, corpus, config.k)
    return rows


def _primary_mode(settings: Settings, retrieval: dict[str, RetrievalEval]) -> str | None:
    """Return the retrieval row that matches the configured pipeline (what `ask` uses)."""
    wanted = settings.retrieval_mode + (RERANK_SUFFIX if settings.reranker else "")
    return wanted if wanted in retrieval else next(iter(retrieval), None)


def _assemble(config: EvalConfig, settings: Settings, gold: Sequence[GoldItem],
              retrieval: dict[str, RetrievalEval], readers: dict[str, ReaderEval], gold_problems: int) -> EvalResult:
    primary_mode = _primary_mode(settings, retrieval)
    queries = retrieval[primary_mode].judgements if primary_mode else ()
    reader = next(iter(readers.values()))
    group_scores = _GroupScores(queries, reader.judgements, config.k)
    splits = sorted({item.split or "" for item in gold})
    return EvalResult(
        meta={**_meta(config, settings, gold, primary_mode, reader, list(readers)), "gold_problems": gold_problems},
        overall=group_scores.for_items(lambda item: True),
        by_type=group_scores.by(lambda item: item.qtype),
        by_lang=group_scores.by(lambda item: item.lang),
        ablations=_ablation_rows(retrieval, readers, splits, config.k),
        latency=_latency(retrieval, reader),
        recall_curves={name: row.curve for name, row in retrieval.items()},
        hit_by_type={name: _hit_by_type(row.judgements) for name, row in readers.items()},
        items=_items(gold, queries, reader.judgements),
        splits={split: group_scores.breakdown(_in_group(_split_of, split)) for split in splits},
        by_filing=group_scores.by(_filing_of),
        calibration={name: _calibration(row.judgements) for name, row in readers.items()},
        intervals=_intervals(readers, splits),
    )


def _split_of(item: GoldItem) -> str:
    return item.split or ""


def _filing_of(item: GoldItem) -> str:
    return f"{item.split}/{item.doc}" if item.doc else f"{item.split}/(unanswerable)"


def _intervals(readers: dict[str, ReaderEval], splits: Sequence[str]
               ) -> dict[str, dict[str, dict[str, Interval | None]]]:
    """Each split's (and each of its languages') reader scores with their intervals from resampled filings."""
    out = {}
    for split in splits:
        in_split = {name: [j for j in row.judgements if _split_of(j.item) == split] for name, row in readers.items()}
        langs = sorted({j.item.lang for judgements in in_split.values() for j in judgements})
        group = split or "all items"
        out[group] = reader_intervals(in_split)
        for lang in langs:
            out[f"{group} · {lang}"] = reader_intervals(
                {name: [j for j in judgements if j.item.lang == lang] for name, judgements in in_split.items()})
    return out


def _calibration(judgements: Sequence[AnswerJudgement]) -> list[dict[str, Any]]:
    """Reliability-diagram bins: the reader's confidence in its best sentence against whether it held the answer."""
    scored = [j for j in judgements if j.error is None]
    bins = calibration_bins([j.confidence for j in scored], [j.top_hit for j in scored])
    return [dataclasses.asdict(b) for b in bins]


@dataclass(frozen=True)
class _GroupScores:
    """Retrieval (primary mode) and reader scores of any subset of the gold items."""

    queries: Sequence[QueryJudgement]
    answers: Sequence[AnswerJudgement]
    k: int

    def for_items(self, keep: Callable[[GoldItem], bool]) -> dict[str, Score]:
        answers = [j for j in self.answers if keep(j.item)]
        scores: dict[str, Score] = {
            "n": len(answers), "n_answerable": sum(j.item.answerable for j in answers),
        }
        scores.update(score_judgements([q for q in self.queries if keep(q.item)], self.k))
        scores.update(score_answers(answers))
        return scores

    def by(self, key: Callable[[GoldItem], str], within: Callable[[GoldItem], bool] = lambda item: True
           ) -> dict[str, dict[str, Score]]:
        groups = sorted({key(j.item) for j in self.answers if within(j.item)})
        return {group: self.for_items(_both(within, _in_group(key, group))) for group in groups}

    def breakdown(self, keep: Callable[[GoldItem], bool]) -> dict[str, Any]:
        """Return overall, by_type and by_lang scores of the items `keep` selects."""
        return {"overall": self.for_items(keep), "by_type": self.by(lambda item: item.qtype, keep),
                "by_lang": self.by(lambda item: item.lang, keep)}


def _both(first: Callable[[GoldItem], bool], second: Callable[[GoldItem], bool]) -> Callable[[GoldItem], bool]:
    return lambda item: first(item) and second(item)


def _in_group(key: Callable[[GoldItem], str], group: str) -> Callable[[GoldItem], bool]:
    return lambda item: key(item) == group


def _ablation_rows(retrieval: dict[str, RetrievalEval], readers: dict[str, ReaderEval], splits: Sequence[str],
                   k: int) -> tuple[AblationRow, ...]:
    """One row per retrieval mode and reader, each also scored per split (for the side-by-side table)."""
    rows = [AblationRow(name, "retrieval", dict(row.scores),
                        {s: score_judgements([j for j in row.judgements if _split_of(j.item) == s], k) for s in splits})
            for name, row in retrieval.items()]
    rows += [AblationRow(name, "reader", dict(row.scores),
                         {s: score_answers([j for j in row.judgements if _split_of(j.item) == s]) for s in splits},
                         {lang: score_answers([j for j in row.judgements if j.item.lang == lang])
                          for lang in sorted({j.item.lang for j in row.judgements})})
             for name, row in readers.items()]
    return tuple(rows)


def _latency(retrieval: dict[str, RetrievalEval], reader: ReaderEval) -> dict[str, dict[str, float]]:
    """Return p50/p95 of each `ask` stage (answer.timings) and of `search` per retrieval mode."""
    latency = dict(reader.latency)
    latency.update({f"search_ms[{name}]": row.latency for name, row in retrieval.items()})
    return latency


def _hit_by_type(judgements: Sequence[AnswerJudgement]) -> dict[str, Score]:
    types = sorted({j.item.qtype for j in judgements if j.item.answerable})
    return {t: score_answers([j for j in judgements if j.item.qtype == t])["answer_hit"] for t in types}


def _items(gold: Sequence[GoldItem], queries: Sequence[QueryJudgement],
           answers: Sequence[AnswerJudgement]) -> tuple[dict[str, Any], ...]:
    """Return one row per gold item: the answer judgement plus the first relevant retrieval rank."""
    ranks = {q.item.qid: q.ranking.first_relevant_rank() for q in queries}
    return tuple({**a.to_dict(), "first_relevant_rank": ranks.get(a.item.qid)} for a in answers)


def _meta(config: EvalConfig, settings: Settings, gold: Sequence[GoldItem], primary_mode: str | None,
          reader: ReaderEval, readers: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "command": config.command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "index": str(config.index),
        "gold": str(config.gold),
        "split": config.split,
        "items_by_split": {s: sum(item.split == s for item in gold) for s in sorted({i.split or "" for i in gold})},
        "items": len(gold),
        "answerable": sum(item.answerable for item in gold),
        "k": config.k,
        "primary_retrieval": primary_mode,
        "errors": sum(j.error is not None for j in reader.judgements),
        "settings": {key: _jsonable(getattr(settings, key)) for key in (
            "backend", "retrieval_mode", "reader", "reranker", "embedder", "chunk_tokens", "read_top_k")}
        | {"abstain_threshold": reader.threshold},
        "python": platform.python_version(),
        "reader_training": {name: training_report(name.removeprefix("reader=")) for name in readers},
    }


def training_report(reader: str) -> dict[str, Any]:
    """What a trained reader's own files say of its held-out scores: the heuristic reader's leave-one-filing-out
    and by-question cross-validation, the neural reader's dev split; {} for an untrained reader."""
    import json
    from importlib import resources

    if reader == "heuristic":
        raw = resources.files("qa_engine.resources").joinpath("reader_weights.json").read_text("utf-8")
        keys: tuple[str, ...] = ("trained_on", "cv_by_filing", "cv_by_question", "calibrated_on")
    elif reader == "neural":
        from qa_engine.read.neural import HEAD_FILE, shipped_folder

        head = shipped_folder() / HEAD_FILE
        if not head.exists():
            return {}
        raw, keys = head.read_text("utf-8"), ("trained_on", "dev")
    else:
        return {}
    data = json.loads(raw)
    return {key: data[key] for key in keys if key in data}


def _jsonable(value: object) -> object:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
