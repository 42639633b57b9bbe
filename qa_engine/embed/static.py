"""An offline embedder learned from the indexed filings: jieba vocabulary, PPMI-SVD word vectors,
served as a sentence-transformers `StaticEmbedding` (mean of idf-scaled word vectors)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import svds

from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.base import embedding_dim as _embedding_dim
from qa_engine.embed.base import l2_normalise

WINDOW = 5
MIN_DF = 2
MAX_VOCAB = 60_000
MAX_TRAIN_DOCS = 30_000
CONTEXT_SMOOTHING = 0.75
SPECIAL_TOKENS = ("[PAD]", "[UNK]")


class StaticCorpusEmbedder:
    """Pre-tokenises with the finance jieba tokenizer, then runs a sentence-transformers StaticEmbedding."""

    def __init__(self, model_dir: Path, tokenizer: FinanceTokenizer) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_dir = model_dir
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._tokenizer = tokenizer
        self.dim = _embedding_dim(self._model)
        self.model_id = f"static:{model_dir.name}"

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        return self.encode_tokens([self._tokenizer.search_terms(t) for t in texts])

    def encode_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Vectors of texts already split by this embedder's tokenizer (chunks keep theirs in `Chunk.tokens`)."""
        pre = [" ".join(tokens) for tokens in token_lists]
        vectors = self._model.encode(pre, batch_size=256, convert_to_numpy=True, show_progress_bar=False)
        return l2_normalise(np.asarray(vectors, dtype=np.float32).reshape(len(token_lists), self.dim))


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
    u, s, _ = svds(ppmi, k=k, random_state=0)
    order = np.argsort(-s)
    return l2_normalise(u[:, order] * np.sqrt(s[order]))


def _ppmi(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    total = counts.sum()
    row = np.asarray(counts.sum(axis=1)).ravel()
    col = np.asarray(counts.sum(axis=0)).ravel() ** CONTEXT_SMOOTHING
    col = col / col.sum()
    coo = counts.tocoo()
    pmi = np.log((coo.data / total) / ((row[coo.row] / total) * col[coo.col]))
    keep = pmi > 0
    return sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)


def _save_model(vocab: list[str], weights: np.ndarray, folder: Path) -> None:
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import StaticEmbedding
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    token_ids = {t: i for i, t in enumerate(SPECIAL_TOKENS + tuple(vocab))}
    tokenizer = Tokenizer(WordLevel(token_ids, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    module = StaticEmbedding(tokenizer, embedding_weights=weights)
    tmp = folder.with_name(folder.name + ".tmp")
    SentenceTransformer(modules=[module], device="cpu").save(str(tmp))
    tmp.rename(folder)
