"""An offline embedder learned from the indexed filings: jieba vocabulary, PPMI-SVD word vectors, saved as a
sentence-transformers `StaticEmbedding` folder (mean of idf-scaled word vectors).

Training, saving and encoding run on numpy: a StaticEmbedding is a table lookup and a mean, so neither the build nor
a dense query imports sentence-transformers and torch (6 s on 2 cores). The folder still loads in
sentence-transformers, which gives the same vectors (tests/test_embed_static.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.base import l2_normalise

if TYPE_CHECKING:
    from scipy import sparse

WINDOW = 5
MIN_DF = 2
MAX_VOCAB = 60_000
MAX_TRAIN_DOCS = 30_000
CONTEXT_SMOOTHING = 0.75
SPECIAL_TOKENS = ("[PAD]", "[UNK]")
UNK = 1
WEIGHTS_KEY = "embedding.weight"


class StaticCorpusEmbedder:
    """Splits texts with the index's tokenizer, then averages the model's word vectors (unknown words count as zero)."""

    def __init__(self, model_dir: Path, tokenizer: FinanceTokenizer) -> None:
        from safetensors.numpy import load_file

        self.model_dir = model_dir
        self._weights = load_file(str(model_dir / "model.safetensors"))[WEIGHTS_KEY].astype(np.float32)
        self._vocab: dict[str, int] = _read_vocab(model_dir / "tokenizer.json")
        self._tokenizer = tokenizer
        self.dim = int(self._weights.shape[1])
        self.model_id = f"static:{model_dir.name}"

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        return self.encode_tokens([self._tokenizer.search_terms(t) for t in texts])

    def encode_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Vectors of texts already split by this embedder's tokenizer (chunks keep theirs in `Chunk.tokens`)."""
        vectors = np.zeros((len(token_lists), self.dim), dtype=np.float32)
        vocab = self._vocab
        for row, tokens in enumerate(token_lists):
            ids = [vocab.get(t, UNK) for t in tokens]
            if ids:
                vectors[row] = self._weights[ids].mean(axis=0)
        return l2_normalise(vectors)


def _read_vocab(path: Path) -> dict[str, int]:
    vocab: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return vocab


def train_static_embedder(token_lists: Sequence[Sequence[str]], dim: int, out_parent: Path) -> Path:
    """Learns word vectors from chunk token lists and saves a StaticEmbedding model; returns its folder."""
    docs = list(token_lists)[:MAX_TRAIN_DOCS]
    vocab, idf = _vocabulary(docs)
    vectors = _ppmi_svd(docs, vocab, dim)
    weights = np.zeros((len(SPECIAL_TOKENS) + len(vocab), vectors.shape[1]), dtype=np.float32)
    weights[len(SPECIAL_TOKENS):] = vectors * idf[:, None]
    digest = hashlib.sha1("\n".join(vocab).encode() + weights.tobytes()[:1_000_000]).hexdigest()[:12]
    folder = out_parent / f"static-{digest}"
    if not folder.exists():
        _save_model(vocab, weights, folder)
    return folder


def _vocabulary(docs: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    df = Counter(t for doc in docs for t in set(doc))
    min_df = MIN_DF if len(docs) >= 50 else 1
    vocab = [t for t, n in df.most_common(MAX_VOCAB) if n >= min_df and not t.isspace()]
    idf = np.array([math.log(1 + len(docs) / df[t]) for t in vocab], dtype=np.float32)
    return vocab, idf


def _ppmi_svd(docs: Sequence[Sequence[str]], vocab: list[str], dim: int) -> np.ndarray:
    """Rows of U·sqrt(S) from the truncated SVD of the windowed PPMI matrix."""
    from scipy import sparse  # training only: a process that just encodes never imports scipy
    from scipy.sparse.linalg import svds

    index = {t: i for i, t in enumerate(vocab)}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for doc in docs:
        ids = np.array([index[t] for t in doc if t in index], dtype=np.int64)
        for d in range(1, WINDOW + 1):
            if len(ids) > d:
                rows += [ids[:-d], ids[d:]]
                cols += [ids[d:], ids[:-d]]
    n = len(vocab)
    if n < 3:  # svds needs k < n: a vocabulary this small gets one-hot vectors
        return np.eye(n, dtype=np.float32)
    if not rows:
        return np.zeros((n, 1), dtype=np.float32)
    counts = sparse.coo_matrix(
        (np.ones(sum(len(r) for r in rows), dtype=np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    ).tocsr()
    ppmi = _ppmi(counts)
    k = max(1, min(dim, n - 2))
    with _one_blas_thread():
        u, s, _ = svds(ppmi, k=k, random_state=0)
    order = np.argsort(-s)
    return l2_normalise(u[:, order] * np.sqrt(s[order]))


def _ppmi(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    from scipy import sparse

    total = counts.sum()
    row = np.asarray(counts.sum(axis=1)).ravel()
    col = np.asarray(counts.sum(axis=0)).ravel() ** CONTEXT_SMOOTHING
    col = col / col.sum()
    coo = counts.tocoo()
    pmi = np.log((coo.data / total) / ((row[coo.row] / total) * col[coo.col]))
    keep = pmi > 0
    return sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """svds is sparse mat-vecs and small dense steps: BLAS threads only contend for the cores (3-10x slower on a
    busy 2-core machine with OpenBLAS's default), so it runs on one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _save_model(vocab: list[str], weights: np.ndarray, folder: Path) -> None:
    """Writes the files sentence-transformers saves for a StaticEmbedding model, without importing it."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    token_ids = {t: i for i, t in enumerate(SPECIAL_TOKENS + tuple(vocab))}
    tokenizer = Tokenizer(WordLevel(token_ids, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file({WEIGHTS_KEY: np.ascontiguousarray(weights, dtype=np.float32)}, str(tmp / "model.safetensors"))
    tokenizer.save(str(tmp / "tokenizer.json"))
    module = [{"idx": 0, "name": "0", "path": "", "type": _static_module_type()}]
    (tmp / "modules.json").write_text(json.dumps(module, indent=2), encoding="utf-8")
    config = {"__version__": {"sentence_transformers": _version("sentence-transformers")},
              "model_type": "SentenceTransformer", "prompts": {}, "default_prompt_name": None,
              "similarity_fn_name": "cosine"}
    (tmp / "config_sentence_transformers.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tmp.rename(folder)


def _static_module_type() -> str:
    """The StaticEmbedding class path the installed sentence-transformers saves (it moved in 6.0)."""
    version = _version("sentence-transformers")
    if version and int(version.split(".")[0]) >= 6:
        return "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding"
    return "sentence_transformers.models.StaticEmbedding"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""
