"""The frozen split by filing: items take their filing's split, unknown filings are refused, --split selects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_engine.eval.gold import GoldFormatError, load_gold, read_gold
from qa_engine.eval.metrics import calibration_bins, expected_calibration_error
from qa_engine.eval.splits import load_split_map, unassigned_filings

ITEM = {"id": "x-1", "question": "哪天？", "lang": "zh", "type": "date", "doc": "a.txt",
        "answers": ["2024年9月10日"], "evidence": None}


def _gold(tmp_path: Path, filings: dict[str, str] | None, *items: dict[str, object]) -> Path:
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "g.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    if filings is not None:
        (tmp_path / "split.json").write_text(json.dumps({"filings": filings}), "utf-8")
    return gold


def test_items_take_their_filings_split_and_unanswerable_their_own(tmp_path: Path) -> None:
    gold = _gold(tmp_path, {"a.txt": "train", "b.txt": "test"}, ITEM, {**ITEM, "id": "x-2", "doc": "b.txt"},
                 {**ITEM, "id": "u-1", "doc": None, "answers": [], "split": "test"},
                 {**ITEM, "id": "u-2", "doc": None, "answers": []})
    splits = {item.qid: item.split for item in load_gold(gold)}
    assert splits == {"x-1": "train", "x-2": "test", "u-1": "test", "u-2": "train"}
    assert [item.qid for item in load_gold(gold, split="test")] == ["x-2", "u-1"]
    assert load_gold(gold, split="dev") == []


def test_a_filing_missing_from_the_split_file_is_an_error(tmp_path: Path) -> None:
    gold = _gold(tmp_path, {"a.txt": "train"}, ITEM, {**ITEM, "id": "x-2", "doc": "c.txt"})
    with pytest.raises(GoldFormatError, match="c.txt"):
        load_gold(gold)


def test_unassigned_filings_names_each_missing_filing_once(tmp_path: Path) -> None:
    gold = _gold(tmp_path, {"a.txt": "train"}, ITEM, {**ITEM, "id": "x-2", "doc": "c.txt"},
                 {**ITEM, "id": "x-3", "doc": "c.txt"}, {**ITEM, "id": "x-4", "doc": "d.txt", "split": "dev"},
                 {**ITEM, "id": "u-1", "doc": None, "answers": []})
    items = read_gold(gold)
    assert unassigned_filings(items, load_split_map(tmp_path / "split.json")) == {"c.txt": "x-2"}
    assert unassigned_filings(items, None) == {}


@pytest.mark.parametrize("filings", [{"a.txt": "holdout"}])
def test_an_unknown_split_name_is_an_error(tmp_path: Path, filings: dict[str, str]) -> None:
    with pytest.raises(GoldFormatError, match="holdout"):
        load_gold(_gold(tmp_path, filings, ITEM))


def test_without_a_split_file_every_item_is_unsplit(tmp_path: Path) -> None:
    assert {item.split for item in load_gold(_gold(tmp_path, None, ITEM))} == {"unsplit"}


def test_the_committed_split_keeps_test_filings_apart() -> None:
    """Every gold item has a split; no filing's questions sit in two splits; test holds filings and items."""
    items = load_gold(Path("eval/gold"))
    by_doc: dict[str, set[str]] = {}
    for item in items:
        if item.doc:
            by_doc.setdefault(item.doc, set()).add(item.split or "")
    assert all(len(splits) == 1 for splits in by_doc.values())
    test_docs = [doc for doc, splits in by_doc.items() if splits == {"test"}]
    assert len(test_docs) >= 10
    assert sum(item.split == "test" for item in items) >= 120
    assert not any(doc.startswith("00") for doc in test_docs)  # the five bundled filings tuned the reader


def test_calibration_bins_and_error() -> None:
    bins = calibration_bins([0.05, 0.15, 0.95, 0.99], [False, False, True, False])
    assert [b.count for b in bins] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert bins[9].accuracy == 0.5
    # |0.5 - 0.97| * 2 + |0 - 0.05| + |0 - 0.15|, over 4 questions
    assert expected_calibration_error([0.05, 0.15, 0.95, 0.99], [False, False, True, False]) == pytest.approx(
        (0.47 * 2 + 0.05 + 0.15) / 4)
    assert expected_calibration_error([], []) is None
