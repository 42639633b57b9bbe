"""The neural reader's onnxruntime session, started while a one-question command is still importing. Importing
takes about 0.25 s on one core while the other idles, and the session (0.1 s of a core) is what a first answer
waited for. Which export to load is the one this model cache last served for the runtime (a hint file beside
the exports); a stale hint costs only the idle core's time, since an encoder takes a started session only for its
own file. Imports nothing beyond the standard library until `start` is called."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"  # the model cache's folder of exports
HINT_FILE = "last-served.json"  # in it: {runtime: exported model file}
THREAD_NAME = "qa-engine-session-preload"


def new_session(model_file: Path) -> Any:
    """An onnxruntime session of `model_file` as the reader serves it."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    # idle pool threads would spin on the other core while the reader scores sentences in Python
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def remember_served(cache_dir: Path, runtime: str, model_file: Path) -> None:
    """Record that `model_file` serves `runtime` from the model cache `cache_dir`; best effort."""
    hints = _hints(cache_dir)
    if hints.get(runtime) == str(model_file):
        return
    path = cache_dir / ONNX_DIR / HINT_FILE
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        partial.write_text(json.dumps({**hints, runtime: str(model_file)}), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:  # a read-only cache: no head start, nothing else lost
        logger.debug("no session hint written to %s: %s", path, exc)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def start(cache_dir: Path, runtime: str) -> None:
    """Begin loading the session of the export last served for `runtime`, if any, in a thread (not a daemon: a
    process that exits while onnxruntime builds a session aborts, so the interpreter waits for it)."""
    hinted = _hints(cache_dir).get(runtime)
    if not hinted or not Path(hinted).is_file():
        return
    try:
        # imported here, not in the thread: there it would race the command's own imports for the GIL, and the
        # session (which releases the GIL) could start only after both
        import onnxruntime  # noqa: F401
    except ImportError:
        return
    global _started
    with _GUARD:
        if _started is not None:
            return
        result: list[Any] = []
        thread = threading.Thread(target=_load_into, args=(Path(hinted), result), name=THREAD_NAME)
        _started = (Path(hinted), thread, result)
        thread.start()


def take(model_file: Path) -> Any | None:
    """The session started for `model_file`, once it has loaded; None when none was started for it or it failed
    (a session started for another file is dropped)."""
    global _started
    with _GUARD:
        started, _started = _started, None
    if started is None:
        return None
    path, thread, result = started
    thread.join()
    return result[0] if path == model_file and result else None


def _load_into(model_file: Path, result: list[Any]) -> None:
    try:
        result.append(new_session(model_file))
    except Exception as exc:  # noqa: BLE001 - any failure: the encoder loads its session itself and reports it
        logger.debug("the session of %s did not preload: %s", model_file, exc)


def _hints(cache_dir: Path) -> dict[str, str]:
    try:
        hints = json.loads((cache_dir / ONNX_DIR / HINT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in hints.items()} if isinstance(hints, dict) else {}


_GUARD = threading.Lock()
_started: tuple[Path, threading.Thread, list[Any]] | None = None  # the one session a process starts early
