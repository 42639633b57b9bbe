"""Gold questions: `GoldItem`, loading from `eval/gold/*.jsonl`, and the verbatim-span validator."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_engine.eval.corpus import Corpus

QUESTION_TYPES = ("why", "number", "date", "entity", "list", "yesno")
LANGS = ("zh", "en")
_REQUIRED = ("id", "question", "lang", "type", "doc", "answers")


class GoldFormatError(ValueError):
    """A gold file line that is not a valid gold item; the message names the file and line."""


@dataclass(frozen=True)
class GoldItem:
    """One gold question; `answers` are alternative verbatim spans, empty when unanswerable."""

    qid: str  # "id" in the file
    question: str
    lang: str
    qtype: str  # "type" in the file
    doc: str | None
    answers: tuple[str, ...]
    evidence: str | None = None
    split: str | None = None  # train / dev / test (see qa_engine/eval/splits.py); None until assigned

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GoldItem:
        """Return the item parsed from one JSON object; raises ValueError naming the bad field."""
        missing = [key for key in _REQUIRED if key not in data]
        if missing:
            raise ValueError(f"missing field(s) {missing}")
        if data["type"] not in QUESTION_TYPES:
            raise ValueError(f"type {data['type']!r} is not one of {QUESTION_TYPES}")
        if data["lang"] not in LANGS:
            raise ValueError(f"lang {data['lang']!r} is not one of {LANGS}")
        answers = data["answers"]
        if not isinstance(answers, list) or not all(isinstance(a, str) and a for a in answers):
            raise ValueError(f"answers must be a list of non-empty strings, got {answers!r}")
        return cls(
            qid=str(data["id"]),
            question=str(data["question"]),
            lang=data["lang"],
            qtype=data["type"],
            doc=data["doc"] or None,
            answers=tuple(answers),
            evidence=data.get("evidence") or None,
            split=_split_field(data),
        )


def _split_field(data: dict[str, Any]) -> str | None:
    split = data.get("split")
    if split is not None and split not in ("train", "dev", "test"):
        raise ValueError(f"split {split!r} is not one of train, dev, test")
    return str(split) if split is not None else None


def gold_files(path: Path) -> list[Path]:
    """Return the `.jsonl` files at `path` (a file or a folder), sorted by name."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no gold files (*.jsonl) in {path}")
    return files


def load_gold(path: Path | str, limit: int | None = None, split: str | None = None) -> list[GoldItem]:
    """Return the gold items of a file or folder, in file order, each with its split (from `eval/split.json`
    beside the gold folder), only those of `split` when given; raises GoldFormatError on bad lines."""
    from qa_engine.eval.splits import assign_splits, load_split_map, select_split, split_file_for

    items = select_split(assign_splits(read_gold(path), load_split_map(split_file_for(Path(path)))), split)
    return items[:limit] if limit is not None else items


def read_gold(path: Path | str) -> list[GoldItem]:
    """Return the gold items of a file or folder, in file order, before their splits are assigned; raises
    GoldFormatError on bad lines and repeated ids."""
    items: list[GoldItem] = []
    for file in gold_files(Path(path)):
        items.extend(_read_file(file))
    _check_unique_ids(items)
    return items


def _read_file(file: Path) -> Iterable[GoldItem]:
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield GoldItem.from_dict(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise GoldFormatError(f"{file}:{number}: {exc}") from exc


def _check_unique_ids(items: Sequence[GoldItem]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.qid in seen:
            raise GoldFormatError(f"duplicate gold id {item.qid!r}")
        seen.add(item.qid)


@dataclass(frozen=True)
class GoldProblem:
    """A gold item that does not match the indexed corpus."""

    item_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.item_id}: {self.message}"


def validate_gold(items: Sequence[GoldItem], corpus: Corpus) -> list[GoldProblem]:
    """Return every problem: unknown doc, or an answer span that is not verbatim in its doc's text."""
    problems: list[GoldProblem] = []
    for item in items:
        problems.extend(_item_problems(item, corpus))
    return problems


def _item_problems(item: GoldItem, corpus: Corpus) -> list[GoldProblem]:
    if item.doc is None:
        texts = list(corpus.texts.values())
        where = "any indexed document"
    elif item.doc not in corpus.doc_ids:
        return [GoldProblem(item.qid, f"doc {item.doc!r} is not in the index")]
    else:
        texts = [corpus.text_of(item.doc)]
        where = item.doc
    return [
        GoldProblem(item.qid, f"answer span {span!r} is not a verbatim substring of {where}")
        for span in item.answers
        if not any(span in text for text in texts)
    ]
