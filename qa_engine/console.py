"""The `qa-engine` console script: the commands of cli.py in a process that starts what a question will wait for
before it imports them, and ends as soon as a command that only reads has written its output."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import NoReturn

READ_ONLY_COMMANDS = frozenset({"ask", "search", "docs"})


def main() -> None:
    # qa-engine uses no pydantic plugins, and looking for them read every installed package's metadata (10-40 ms)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    arguments = sys.argv[1:]
    command = _command(arguments)
    if command == "ask" and not {"--help", "-h"} & set(arguments):
        _start_reader_session()
    from qa_engine.cli import main as run_cli

    try:
        run_cli()
    except SystemExit as done:
        if command in READ_ONLY_COMMANDS and isinstance(done.code, int | None) and _nothing_else_writes():
            _exit_now(done.code or 0)
        raise


def _command(arguments: list[str]) -> str | None:
    return next((argument for argument in arguments if not argument.startswith("-")), None)


def _start_reader_session() -> None:
    """Load the neural reader's session in a thread while the command imports (session_preload.py)."""
    from pydantic import ValidationError

    from qa_engine.settings import Settings

    try:
        settings = Settings()
    except ValidationError:
        return  # the command reports it
    if settings.reader == "neural" and settings.neural_runtime.startswith("onnx"):
        from qa_engine.read.session_preload import start

        start(settings.model_cache_dir.expanduser(), settings.neural_runtime)


def _nothing_else_writes() -> bool:
    from qa_engine.read.session_preload import THREAD_NAME

    return all(thread is threading.main_thread() or thread.name == THREAD_NAME for thread in threading.enumerate())


def _exit_now(code: int) -> NoReturn:
    """Exit with `code` once the output is flushed, skipping the interpreter's teardown (the encoder's session, the
    segmenter's dictionary, the index's arrays: 0.1–0.15 s of a one-question command). Nothing is left to write:
    SQLite commits as it goes, and no other thread runs but a session preload, which only reads."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, e.g. `qa-engine search … | head -1`
            code = code or 1
    os._exit(code)
