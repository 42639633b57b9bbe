"""Gold loading and validation; the whole committed gold set must be verbatim in the indexed filings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from qa_engine.eval import Corpus, GoldFormatError, GoldItem, load_gold, main, validate_gold

GOLD_DIR = Path(__file__).resolve().parents[2] / "eval" / "gold"
CORPUS = Corpus(doc_ids={"a.txt": "d1"}, texts={"d1": "公司于2024年9月10日召开业绩说明会。"})
ITEM = {"id": "x-1", "question": "哪天？", "lang": "zh", "type": "date", "doc": "a.txt",
        "answers": ["2024年9月10日"], "evidence": None}


def _write(path: Path, *items: Mapping[str, object]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def test_load_gold_parses_items(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", ITEM, {**ITEM, "id": "x-2", "answers": [], "doc": None})
    items = load_gold(tmp_path)
    assert items[0] == GoldItem("x-1", "哪天？", "zh", "date", "a.txt", ("2024年9月10日",), split="unsplit")
    assert items[0].answerable and not items[1].answerable


@pytest.mark.parametrize("bad", [{"type": "when"}, {"lang": "fr"}, {"answers": "2024"}, {"answers": [""]}])
def test_load_gold_names_file_and_line_of_a_bad_item(tmp_path: Path, bad: dict[str, object]) -> None:
    path = _write(tmp_path / "a.jsonl", ITEM, {**ITEM, "id": "x-2", **bad})
    with pytest.raises(GoldFormatError, match=rf"{path.name}:2"):
        load_gold(tmp_path)


def test_load_gold_rejects_duplicate_ids(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", ITEM, ITEM)
    with pytest.raises(GoldFormatError, match="duplicate gold id 'x-1'"):
        load_gold(tmp_path)


def test_validate_gold_reports_non_verbatim_spans_and_unknown_docs() -> None:
    items = [
        GoldItem("ok", "q", "zh", "date", "a.txt", ("2024年9月10日",)),
        GoldItem("respaced", "q", "zh", "date", "a.txt", ("2024年 9月10日",)),
        GoldItem("unknown", "q", "zh", "date", "z.txt", ("2024",)),
        GoldItem("anydoc", "q", "zh", "date", None, ("业绩说明会",)),
    ]
    problems = {p.item_id: p.message for p in validate_gold(items, CORPUS)}
    assert set(problems) == {"respaced", "unknown"}
    assert "'2024年 9月10日' is not a verbatim substring of a.txt" in problems["respaced"]
    assert "not in the index" in problems["unknown"]


@pytest.mark.slow
def test_committed_gold_set_is_verbatim_in_the_filings(corpus: Corpus) -> None:
    if not list(GOLD_DIR.glob("*.jsonl")):
        pytest.skip("no gold files yet")
    gold = load_gold(GOLD_DIR)
    problems = validate_gold(gold, corpus)
    assert not problems, "\n".join(map(str, problems))
    assert any(not item.answerable for item in gold), "the gold set needs unanswerable items"


@pytest.mark.slow
def test_validate_cli_exits_non_zero_on_a_bad_span(index_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    good = {**ITEM, "doc": "000_f158551545b1b3bd.txt", "answers": ["2024年9月10日"]}
    _write(tmp_path / "g.jsonl", good, {**good, "id": "x-2", "answers": ["不存在的答案片段"]})
    assert main(["--validate", "--index", str(index_dir), "--gold", str(tmp_path)]) == 1
    assert "x-2: answer span '不存在的答案片段' is not a verbatim substring" in capsys.readouterr().err
    _write(tmp_path / "g.jsonl", good)
    assert main(["--validate", "--index", str(index_dir), "--gold", str(tmp_path)]) == 0


@pytest.mark.slow
def test_validate_checks_spans_before_the_filings_have_splits(index_dir: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """New gold is validated whole, and each filing the split file lacks is one problem, not a stop."""
    gold = tmp_path / "gold"
    gold.mkdir()
    (tmp_path / "split.json").write_text(json.dumps({"filings": {"001_7869416333b8ea17.txt": "train"}}), "utf-8")
    first = {**ITEM, "doc": "000_f158551545b1b3bd.txt", "answers": ["2024年9月10日"]}
    _write(gold / "g.jsonl", first, {**first, "id": "x-2"}, {**first, "id": "x-3", "answers": ["不存在的答案片段"]})
    assert main(["--validate", "--index", str(index_dir), "--gold", str(gold)]) == 1
    captured = capsys.readouterr()
    assert "x-3: answer span '不存在的答案片段' is not a verbatim substring" in captured.err
    assert captured.err.count("has no split in split.json") == 1
    assert "x-1: filing '000_f158551545b1b3bd.txt' has no split in split.json" in captured.err
    assert "3 gold items, 2 problem(s)" in captured.out
