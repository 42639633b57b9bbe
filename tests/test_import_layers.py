"""The stages import one another in one direction only: no package of qa_engine imports (at module level) a
package that imports it back, and each stage module imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qa_engine"
STAGE_MODULES = [
    "qa_engine.index.writer", "qa_engine.index.generation", "qa_engine.backends.base", "qa_engine.backends.local",
    "qa_engine.backends.milvus", "qa_engine.retrieve.params", "qa_engine.read.pipeline", "qa_engine.answer",
    "qa_engine.engine",
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str:
    """The first name below qa_engine (`qa_engine.index.writer` → index, `qa_engine.engine` → engine)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_level_imports(path: Path) -> set[str]:
    """The qa_engine modules `path` imports when it is imported (not inside functions or TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qa_engine"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("qa_engine")}
    return found


def stage_graph() -> dict[str, set[str]]:
    """Stage → the stages its modules import at module level."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        imported = {_stage(m) for m in _module_level_imports(path)} - {_stage(module), "qa_engine"}
        graph.setdefault(_stage(module), set()).update(imported)
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of `graph` as a path of stages, or None when it has none."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return visiting[visiting.index(node):] + [node]
        if node in done:
            return None
        visiting.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        visiting.pop()
        done.add(node)
        return None

    return next((c for c in (visit(n) for n in sorted(graph)) if c), None)


def test_the_stages_import_one_another_in_one_direction() -> None:
    graph = stage_graph()
    assert {"index", "backends", "retrieve", "read", "engine"} <= set(graph)
    cycle = cycle_in(graph)
    assert cycle is None, "import cycle between stages: " + " -> ".join(cycle or [])
    assert not graph["index"] & {"backends", "retrieve", "read", "engine"}  # the writer is handed its backend
    assert not graph["backends"] & {"read", "engine"}


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycle_in({"index": {"backends"}, "backends": {"retrieve"}, "retrieve": {"index"}}) == [
        "backends", "retrieve", "index", "backends"]
    assert cycle_in({"engine": {"index"}, "index": set()}) is None


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_a_stage_module_imports_alone(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {module}"], check=False, capture_output=True, text=True,
                            cwd=PACKAGE.parent, timeout=120)
    assert result.returncode == 0, result.stderr
