"""The Engine: the one place where the stages are wired. Read top to bottom for the whole path.

ingest (files → Documents) → index writer (chunks, BM25, FAISS, search backend, atomic generation switch)
→ snapshot (immutable, in memory) → retrieve (plan query, backend search fused by RRF, optional rerank)
→ read (resolve follow-ups, the reader's extraction) → answer (abstain below the reader's threshold, or the
Answer with its citation)
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Self

from qa_engine.answer import abstain_threshold, assemble_answer
from qa_engine.backends import ChunkFilter, SearchBackend, SearchRequest, open_backend
from qa_engine.chunk.tokenizer import FinanceTokenizer
from qa_engine.embed.factory import EMBEDDER_DIR, open_embedder
from qa_engine.errors import (
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IngestError,
    InvalidQueryError,
)
from qa_engine.index.changes import ChangePlan, plan_change
from qa_engine.index.generation import FORMAT_VERSION, damaged, load_generation, read_chunk_ids, read_manifest
from qa_engine.index.positions import ChunkPositions
from qa_engine.index.snapshot import Snapshot
from qa_engine.index.writer import CURRENT_KEY, STORE_FILE, Change, apply_change, writer_lock
from qa_engine.ingest.loaders import ParseLimits
from qa_engine.ingest.pipeline import IngestReport, SourceFile, collect_files, prepare_document
from qa_engine.models import Answer, Chunk, Document, DocumentCard, Filters, Hit, Turn, as_turns
from qa_engine.question import check_question
from qa_engine.read.factory import make_reader
from qa_engine.read.pipeline import Reading, prepare_reading, read_question
from qa_engine.retrieve.dictionary import load_dictionary
from qa_engine.retrieve.glossary import load_aliases, load_glossary, load_synonyms
from qa_engine.retrieve.params import RetrievalParams
from qa_engine.retrieve.query import CompanyIndex, QueryPlan, allowed_docs, plan_query
from qa_engine.retrieve.rerank import Reranker
from qa_engine.settings import RETRIEVAL_MODES, Settings, is_retrieval_mode
from qa_engine.store.sqlite_store import SQLiteStore, read_current_generation

if TYPE_CHECKING:
    from qa_engine.read.passage_vectors import FillReport

log = logging.getLogger("qa_engine")


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    source: str
    company: str
    short_name: str
    stock_code: str
    exchange: str
    doc_type: str
    title: str
    date: str
    chunks: int
    pages: int
    chars: int

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class Engine:
    """Question answering over one index folder. Thread-safe: reads use an immutable snapshot."""

    def __init__(self, index_dir: Path, settings: Settings) -> None:
        self.index_dir = index_dir
        self.settings = settings
        self._write_lock = threading.Lock()
        self._snapshot = self._load_snapshot()
        self._companies = CompanyIndex(self._snapshot.cards, load_aliases(settings.aliases_file))
        self._reader = make_reader(settings)
        self._reranker = _make_reranker(settings)
        self._backend = open_backend(settings)
        for table in (load_glossary(settings.glossary_file), load_synonyms(settings.synonyms_file)):
            table.find("warm up")  # builds the phrase index once, at open

    def warm_up_reader(self) -> None:
        """Load the reader's model now (the neural reader's encoder takes seconds) rather than on the first question."""
        warm = getattr(self._reader, "warm_up", None)
        if callable(warm):
            warm()

    def precompute_reader(self, on_progress: Callable[[int, int], None] | None = None) -> FillReport | None:
        """Compute now what the reader can compute ahead of questions: the neural reader's sentence vectors for
        every chunk of the index (kept by content beside its encoder, so a later process finds them too). None
        for a reader with nothing to compute."""
        precompute = getattr(self._reader, "precompute", None)
        if not callable(precompute):
            return None
        report: FillReport = precompute(self._chunked_documents(), on_progress)
        return report

    def _chunked_documents(self) -> Iterator[tuple[Document, list[tuple[int, int]]]]:
        """Every document of the snapshot with its chunks' offsets, read from the store one document at a time."""
        snapshot = self._snapshot
        for doc_id in sorted(snapshot.cards):
            document = snapshot.documents.get(doc_id)
            if document is not None:  # None: removed by a write since this snapshot
                yield document, snapshot.stored_chunks.spans_of(doc_id)

    @property
    def abstain_threshold(self) -> float:
        """The confidence below which `ask` abstains: QA_ABSTAIN_THRESHOLD, else the reader's calibrated one."""
        return abstain_threshold(self.settings, self._reader)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path | None = None, settings: Settings | None = None) -> Engine:
        """Opens an existing index; raises IndexNotFoundError with the command that builds one."""
        settings = settings or Settings()
        index_dir = Path(path) if path is not None else settings.index_dir
        store_path = index_dir / STORE_FILE
        if not store_path.exists():
            raise IndexNotFoundError(f"{index_dir}/ holds no index: run `qa-engine ingest data/filings` first")
        return cls(index_dir, settings.model_copy(update={"index_dir": index_dir}))

    @classmethod
    def build(cls, paths: Iterable[str | Path], settings: Settings | None = None, rebuild: bool = False,
              replace: bool = False) -> IngestReport:
        """Deprecated: it returns a report, not an engine. Use `qa_engine.ingest` (or `engine.add`)."""
        warnings.warn("Engine.build is deprecated: use qa_engine.ingest(paths, settings), which it calls",
                      DeprecationWarning, stacklevel=2)
        return ingest(paths, settings, rebuild=rebuild, replace=replace)

    def _load_snapshot(self) -> Snapshot:
        """The committed generation: document cards and, for the local backend, the chunk at each position of its
        search files. Chunks and texts are read from the store when a question cites them."""
        store_path = self.index_dir / STORE_FILE
        by_position = self.settings.backend == "local"
        store = SQLiteStore(store_path)
        try:
            with store.snapshot():
                name = store.get_meta(CURRENT_KEY)
                if not name:
                    raise IndexNotFoundError(f"{self.index_dir}/ holds no built index: run `qa-engine ingest PATH`")
                generation = load_generation(self.index_dir / name, positions=by_position,
                                             dense_now=by_position and self.settings.retrieval_mode != "bm25")
                positions = generation.positions
                if by_position and positions is None:  # a generation written before positions.npz
                    positions = _positions_from_ids(self.index_dir / name, store)
                cards = generation.cards if generation.cards is not None else \
                    store.cards(positions.chunk_counts() if positions is not None else None)
        finally:
            store.close()
        self._check_manifest(generation.manifest.embedder, generation.manifest.format_version)
        tokenizer = FinanceTokenizer(tuple(generation.manifest.company_words), self.settings.user_dict,
                                     self.settings.segmenter)
        embedder = None
        if self.settings.embedder != "none":
            embedder = open_embedder(self.index_dir / EMBEDDER_DIR, generation.manifest.embedder,
                                     generation.manifest.embed_dim, tokenizer, self.settings)
        return Snapshot.on_store(self.index_dir, store_path, generation, cards, embedder, tokenizer, positions)

    def _check_manifest(self, embedder_id: str, format_version: int) -> None:
        if format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{self.index_dir}/ has index format {format_version}, this qa_engine reads {FORMAT_VERSION}: "
                "rebuild with `qa-engine ingest --rebuild data/filings`"
            )
        configured = self.settings.embedder
        if embedder_id == "none" and self.settings.retrieval_mode != "bm25":
            raise IndexMismatchError(_no_vectors(self.index_dir, self.settings.retrieval_mode))
        if configured in ("none", "static") or embedder_id == "none":
            if configured == "static" and not embedder_id.startswith("static:") and embedder_id != "none":
                raise IndexMismatchError(_mismatch(self.index_dir, embedder_id, configured))
            return
        if embedder_id != configured:
            raise IndexMismatchError(_mismatch(self.index_dir, embedder_id, configured))

    # ---- writing --------------------------------------------------------------------------------
    def add(self, paths: Iterable[str | Path], replace: bool = False) -> IngestReport:
        """Ingests new files (and changed ones with `replace=True`) and switches this engine to the new index."""
        files, problems = collect_files(paths)
        return self.add_files(files, replace=replace, failed=problems)

    def add_files(self, files: Sequence[SourceFile], replace: bool = False,
                  failed: Sequence[tuple[str, str]] = ()) -> IngestReport:
        """Like `add`, for files whose identity is not where they are read from (uploads)."""
        report = IngestReport(failed=list(failed))
        documents = read_documents(files, self.settings, report)  # no lock held while files are parsed
        with self._write_lock:
            apply_documents(self.index_dir, self.settings, documents, report, replace=replace,
                            backend=self._backend)
            if report.generation:
                self._refresh()
        return report

    def remove(self, doc_id: str) -> None:
        """Removes one document from the index; raises DocumentNotFoundError for an unknown id."""
        with self._write_lock:
            if doc_id not in self._snapshot.cards:
                raise DocumentNotFoundError(f"no document with id {doc_id!r}: see `qa-engine docs`")
            with writer_lock(self.index_dir):
                apply_change(self.index_dir, self.settings, Change(add=[], remove={doc_id}), self._backend)
            self._refresh()

    @property
    def generation(self) -> str:
        """Return the name of the index generation this engine serves."""
        return self._snapshot.manifest.generation

    def refresh(self) -> bool:
        """Return True after switching to a generation another process committed (False: already current)."""
        committed = read_current_generation(self.index_dir / STORE_FILE)
        if not committed or committed == self.generation:
            return False
        with self._write_lock:
            if self.generation != committed:
                self._refresh()
        return True

    def _refresh(self) -> None:
        snapshot = self._load_snapshot()
        self._companies = CompanyIndex(snapshot.cards, load_aliases(self.settings.aliases_file))
        self._snapshot = snapshot

    # ---- reading --------------------------------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        return [_info(card) for card in sorted(self._snapshot.cards.values(), key=lambda c: c.source)]

    def document(self, doc_id: str) -> Document:
        doc = self._snapshot.documents.get(doc_id)
        if doc is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}: see `qa-engine docs`")
        return doc

    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: str | None = None) -> list[Hit]:
        """The k best chunks for `query` (Chinese or English), best first."""
        snapshot = self._snapshot
        plan = self._plan(query, snapshot)
        return self._search(snapshot, plan, k, filters, mode)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None,
            history: Sequence[Turn | Answer | str] | None = None) -> Answer:
        """Answers `question` from the filings with citations, or returns a not-found Answer.
        `history` holds the earlier turns a follow-up question ("那2023年呢？") is resolved against."""
        started = time.perf_counter()
        snapshot = self._snapshot
        self._validate(question)
        outcome = read_question(question, as_turns(history or []), _BoundRetriever(self, snapshot, filters),
                                self._reader, k or self.settings.read_top_k)
        return assemble_answer(outcome, self.abstain_threshold, snapshot.documents, started)

    def prepare(self, question: str, k: int | None = None, filters: Filters | None = None,
                history: Sequence[Turn | Answer | str] | None = None) -> Reading:
        """What `ask` hands its reader (analysis and ranked passages): for training and debugging readers."""
        self._validate(question)
        return prepare_reading(question, as_turns(history or []), _BoundRetriever(self, self._snapshot, filters),
                               k or self.settings.read_top_k)

    def _plan(self, query: str, snapshot: Snapshot) -> QueryPlan:
        self._validate(query)
        settings = self.settings
        return plan_query(query, load_glossary(settings.glossary_file), self._companies,
                          load_synonyms(settings.synonyms_file), self._english_words(snapshot))

    def _english_words(self, snapshot: Snapshot) -> Callable[[str], list[str]] | None:
        """An English word's indexed Chinese terms (retrieve/dictionary.py), the dictionary loaded at the first word."""
        if not self.settings.english_dictionary:
            return None
        cache_dir = self.settings.model_cache_dir
        return lambda word: load_dictionary(cache_dir).terms(word, snapshot.term_idf)

    def _validate(self, query: str) -> None:
        check_question(query, self.settings.max_question_chars)

    def _search(self, snapshot: Snapshot, plan: QueryPlan, k: int, filters: Filters | None, mode: str | None) -> list[Hit]:
        mode = mode or self.settings.retrieval_mode
        if not is_retrieval_mode(mode):
            raise InvalidQueryError(f"unknown retrieval mode {mode!r}: use one of {', '.join(RETRIEVAL_MODES)}")
        if mode != "bm25" and snapshot.manifest.embedder == "none":
            raise InvalidQueryError(_no_vectors(self.index_dir, mode))
        allowed = allowed_docs(snapshot.cards, filters, self._companies)
        params = RetrievalParams.from_settings(self.settings, mode)
        depth = max(k, self.settings.rerank_top) if self._reranker else k
        request = _search_request(snapshot, plan, depth, params, ChunkFilter.for_documents(allowed))
        hits = [_hit(snapshot, s.chunk, s.score) for s in self._backend.search(snapshot, request)]
        if self._reranker is not None:
            hits = _rerank(self._reranker, plan.search_text, hits, self.settings.rerank_top)
        return hits[:k]

    def close(self) -> None:
        """Releases the search backend's connection (nothing for the local backend)."""
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class _BoundRetriever:
    """The engine's planning and search over one snapshot with one question's filters: what `ask` reads from."""

    engine: Engine
    snapshot: Snapshot
    filters: Filters | None

    def plan(self, text: str) -> QueryPlan:
        return self.engine._plan(text, self.snapshot)

    def retrieve(self, plan: QueryPlan, k: int) -> list[Hit]:
        return self.engine._search(self.snapshot, plan, k, self.filters, None)


def ingest(paths: Iterable[str | Path], settings: Settings | None = None, rebuild: bool = False,
           replace: bool = False) -> IngestReport:
    """Ingests files or folders into settings.index_dir (default `index/`, created if needed) and returns the
    per-file report. A file indexed before with other content is replaced only with `replace=True` (else a
    conflict); `rebuild=True` re-chunks every document. An open Engine writes with `add` and `remove`."""
    settings = settings or Settings()
    return ingest_paths(settings.index_dir, settings, paths, rebuild=rebuild, replace=replace)


def ingest_paths(index_dir: Path, settings: Settings, paths: Iterable[str | Path], rebuild: bool = False,
                 progress: bool = False, backend: SearchBackend | None = None, replace: bool = False) -> IngestReport:
    """Reads the files, then applies them to the index under the writer lock (not held while reading)."""
    files, problems = collect_files(paths)
    report = IngestReport(failed=list(problems))
    documents = read_documents(files, settings, report, progress)
    return apply_documents(index_dir, settings, documents, report, rebuild=rebuild, replace=replace,
                           backend=backend)


def read_documents(files: Sequence[SourceFile], settings: Settings, report: IngestReport,
                   progress: bool = False) -> list[Document]:
    """Return the Documents read from `files`; a file that cannot be read goes to `report.failed`."""
    limits = ParseLimits.from_settings(settings)
    documents: list[Document] = []
    for item in _progress(files, progress):
        try:
            documents.append(prepare_document(item, limits))
        except IngestError as exc:
            report.failed.append((item.source, str(exc)))
        except Exception as exc:  # a file must never take the whole ingest down with it
            log.exception("reading %s failed", item.source)
            report.failed.append((item.source, f"{PurePath(item.source).name}: could not be read ({type(exc).__name__})"))
    return documents


def apply_documents(index_dir: Path, settings: Settings, documents: list[Document], report: IngestReport,
                    rebuild: bool = False, replace: bool = False, backend: SearchBackend | None = None) -> IngestReport:
    """Return `report` completed after writing `documents` into the index. Takes the writer lock only when there
    is something to write, so a conflict or an unchanged file is answered at once even while another writer runs."""
    if not rebuild and _nothing_to_write(index_dir, documents, replace, report):
        return report
    with writer_lock(index_dir), _opened(settings, backend) as target:
        store = SQLiteStore(index_dir / STORE_FILE)
        try:
            known = store.known_documents()
        finally:
            store.close()
        _upgrade_format(index_dir, settings, target)
        plan = plan_change(documents, known, replace)
        _report_plan(report, plan)
        _adopt_origins(index_dir, plan.adopt)
        change = plan.change
        if change.add or change.remove or (rebuild and known):
            report.generation = apply_change(index_dir, settings, change, target, retrain=rebuild)
    return report


@contextmanager
def _opened(settings: Settings, backend: SearchBackend | None) -> Iterator[SearchBackend]:
    """Yield `backend`, or one opened for `settings` (and closed afterwards) when none is given."""
    if backend is not None:
        yield backend
        return
    opened = open_backend(settings)
    try:
        yield opened
    finally:
        opened.close()


def _nothing_to_write(index_dir: Path, documents: list[Document], replace: bool, report: IngestReport) -> bool:
    """Return True (with `report` filled) when, read without the lock, the index needs no write for `documents`."""
    if not (index_dir / STORE_FILE).exists():
        return not documents
    store = SQLiteStore(index_dir / STORE_FILE)
    try:
        plan = plan_change(documents, store.known_documents(), replace)
        current = store.current_generation()
    finally:
        store.close()
    if plan.writes or (current and _needs_upgrade(index_dir, current)):
        return False
    _report_plan(report, plan)
    return True


def _report_plan(report: IngestReport, plan: ChangePlan) -> None:
    report.added += plan.added
    report.replaced += plan.replaced
    report.unchanged += plan.unchanged
    report.conflicts += [source for source, _ in plan.conflicts]
    report.failed += plan.conflicts


def _adopt_origins(index_dir: Path, origins: dict[str, str]) -> None:
    """Give migrated documents (keyed by file name) the origin of the file just read at that name."""
    if not origins:
        return
    store = SQLiteStore(index_dir / STORE_FILE)
    try:
        with store.transaction() as conn:
            for doc_id, origin in origins.items():
                SQLiteStore.set_origin(conn, doc_id, origin)
    finally:
        store.close()


def _needs_upgrade(index_dir: Path, current: str) -> bool:
    """Return True when the current generation was written in another format, or cannot be read."""
    try:
        return read_manifest(index_dir / current).format_version != FORMAT_VERSION
    except IndexCorruptError:
        return True


def _upgrade_format(index_dir: Path, settings: Settings, backend: SearchBackend) -> None:
    """An index written by an older qa_engine (or whose current generation is damaged) is re-chunked and
    re-indexed from its stored documents, so that index and queries tokenise alike. Caller holds the writer lock."""
    store = SQLiteStore(index_dir / STORE_FILE)
    try:
        current = store.get_meta(CURRENT_KEY)
        if not current or not _needs_upgrade(index_dir, current):
            return
        documents = store.documents()
    finally:
        store.close()
    apply_change(index_dir, settings, Change(add=documents, remove={d.doc_id for d in documents}), backend,
                 retrain=True)


def _progress(files: Sequence[SourceFile], enabled: bool) -> Iterable[SourceFile]:
    if not enabled or len(files) < 2:
        return files
    from rich.progress import track

    return track(files, description="Reading filings")


def _search_request(snapshot: Snapshot, plan: QueryPlan, k: int, params: RetrievalParams,
                    chunk_filter: ChunkFilter) -> SearchRequest:
    """Return the backend's request for a planned query: its terms and vector as the mode needs them."""
    text = plan.search_text
    terms = tuple(snapshot.tokenizer.search_terms(text)) if params.uses_bm25 else ()
    embedder = snapshot.embedder
    vector = embedder.encode([text], query=True)[0] if params.uses_dense and embedder is not None else None
    return SearchRequest(text, terms, vector, k, params, chunk_filter, plan.named_docs,
                         _company_names(snapshot, plan.named_docs))


def _company_names(snapshot: Snapshot, doc_ids: frozenset[str]) -> frozenset[str]:
    """The names a filing's company goes by: within its own filings they say nothing about what is asked, and
    would rank the header line (where the short name stands alone) above the sentence that answers."""
    metas = [snapshot.cards[d].meta for d in doc_ids if d in snapshot.cards]
    return frozenset(name for m in metas for name in (m.short_name, m.company) if name)


def _positions_from_ids(folder: Path, store: SQLiteStore) -> ChunkPositions:
    """The positions of a generation that lists only its chunk ids, each id's document read from the store."""
    try:
        return ChunkPositions.of_ids(read_chunk_ids(folder), store.chunk_documents())
    except KeyError as exc:  # the generation lists a chunk the store does not hold
        raise damaged(folder, exc) from exc


def _hit(snapshot: Snapshot, chunk: Chunk, score: float) -> Hit:
    doc = snapshot.cards[chunk.doc_id]
    return Hit(
        chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=doc.meta.label() or doc.source,
        company=doc.meta.short_name or doc.meta.company, page=chunk.page_start, section=chunk.section,
        start=chunk.start, end=chunk.end, text=chunk.text, score=score,
    )


def _rerank(reranker: Reranker, query: str, hits: list[Hit], top: int) -> list[Hit]:
    head, tail = hits[:top], hits[top:]
    scores = reranker.scores(query, [h.text for h in head])
    order = sorted(range(len(head)), key=lambda i: -scores[i])
    from dataclasses import replace

    return [replace(head[i], score=scores[i]) for i in order] + tail


def _make_reranker(settings: Settings) -> Reranker | None:
    if not settings.reranker:
        return None
    from qa_engine.retrieve.rerank import CrossEncoderReranker

    return CrossEncoderReranker(settings.reranker, settings=settings)


def _info(card: DocumentCard) -> DocumentInfo:
    m = card.meta
    return DocumentInfo(
        doc_id=card.doc_id, source=card.source, company=m.company, short_name=m.short_name, stock_code=m.stock_code,
        exchange=m.exchange, doc_type=m.doc_type, title=m.title, date=m.date, chunks=card.chunks,
        pages=len(card.page_starts), chars=card.chars,
    )


def _mismatch(index_dir: Path, built: str, configured: str) -> str:
    return (f"{index_dir}/ was built with embedder {built!r} but QA_EMBEDDER is {configured!r}: "
            f"set QA_EMBEDDER={built!r} or rebuild with `qa-engine ingest --rebuild`")


def _no_vectors(index_dir: Path, mode: str) -> str:
    return (f"{index_dir}/ has no dense vectors (it was built for BM25 only), so {mode} retrieval cannot run: "
            f"rebuild with `QA_RETRIEVAL_MODE={mode} qa-engine ingest --rebuild PATH` (or QA_DENSE_INDEX=always, and "
            "QA_EMBEDDER other than none), or search with mode bm25")
