"""The frozen split of the gold set by filing: every filing belongs to exactly one of train, dev or test.

`eval/split.json` assigns whole filings once, so questions on one filing never sit on both sides:

    {"frozen": "2026-12-05", "rule": "...", "filings": {"000_f158551545b1b3bd.txt": "train", ...}}

`train` may fit weights, `dev` may choose thresholds and rules, `test` is only ever scored. A gold item takes
its filing's split; an unanswerable item (no filing) carries its own `"split"` field, and one without it is
`train` (the unanswerable items written with the first five filings, which tuned the reader).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from qa_engine.eval.gold import GoldFormatError, GoldItem

SPLITS = ("train", "dev", "test")
SPLIT_FILE = "split.json"
UNSPLIT = "unsplit"  # no split file: every item in one group
_DEFAULT_FOR_UNANSWERABLE = "train"


@dataclass(frozen=True)
class SplitMap:
    """Filing file name → split."""

    filings: Mapping[str, str]

    def split_of(self, item: GoldItem) -> str:
        """Return the item's split; raises GoldFormatError for a filing the split file does not list."""
        if item.split is not None:
            return item.split
        if item.doc is None:
            return _DEFAULT_FOR_UNANSWERABLE
        if self.lacks(item):
            raise GoldFormatError(f"{item.qid}: {no_split_message(item.doc)}")
        return self.filings[item.doc]

    def lacks(self, item: GoldItem) -> bool:
        """Whether the item takes its split from a filing this map does not list."""
        return item.split is None and item.doc is not None and item.doc not in self.filings

    def files_in(self, split: str) -> list[str]:
        """Return the filing file names assigned to `split`, sorted."""
        return sorted(name for name, value in self.filings.items() if value == split)


def split_file_for(gold: Path) -> Path:
    """Return where the split file of a gold folder (or file) lives: beside the folder, `eval/split.json`."""
    folder = gold.parent if gold.is_file() else gold
    return folder.parent / SPLIT_FILE


def load_split_map(path: Path) -> SplitMap | None:
    """Return the split file's map, or None when there is none; raises GoldFormatError on bad content."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    filings = data.get("filings") if isinstance(data, dict) else None
    if not isinstance(filings, dict):
        raise GoldFormatError(f"{path}: expected an object with a 'filings' object")
    bad = {name: value for name, value in filings.items() if value not in SPLITS}
    if bad:
        raise GoldFormatError(f"{path}: splits must be one of {SPLITS}, got {bad}")
    return SplitMap(filings=dict(filings))


def unassigned_filings(items: Sequence[GoldItem], split_map: SplitMap | None) -> dict[str, str]:
    """Filings that gold items name and the split file does not list, each with the first item naming it
    (none without a split file: then every item is `unsplit`)."""
    if split_map is None:
        return {}
    missing: dict[str, str] = {}
    for item in items:
        if item.doc is not None and split_map.lacks(item):
            missing.setdefault(item.doc, item.qid)
    return missing


def no_split_message(doc: str) -> str:
    return f"filing {doc!r} has no split in {SPLIT_FILE}: add it there"


def assign_splits(items: Sequence[GoldItem], split_map: SplitMap | None) -> list[GoldItem]:
    """Return the items with `split` filled in (UNSPLIT for all when there is no split file)."""
    if split_map is None:
        return [replace(item, split=item.split or UNSPLIT) for item in items]
    return [replace(item, split=split_map.split_of(item)) for item in items]


def select_split(items: Sequence[GoldItem], split: str | None) -> list[GoldItem]:
    """Return the items of one split (all of them for None)."""
    if split is None:
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return [item for item in items if item.split == split]
