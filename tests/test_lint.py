"""Each language stays idiomatic: ruff for Python, gofmt for Go (go vet runs in `make test-go`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness.consumers import ROOT

RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_check():
    done = subprocess.run(
        [RUFF, "check", "python_producer", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_ruff_format():
    done = subprocess.run(
        [RUFF, "format", "--check", "python_producer", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_gofmt():
    gofmt = shutil.which("gofmt")
    assert gofmt, "gofmt is not on PATH"
    done = subprocess.run(
        [gofmt, "-l", "go_consumer"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == "", f"not gofmt-formatted:\n{done.stdout}"


def _project_imports(path: Path) -> tuple[set[str], list[str]]:
    """The python_producer modules ``path`` imports at module level, and the function-level
    imports of project modules (``file:line``)."""
    import ast

    tree = ast.parse(path.read_text(), str(path))
    top, nested = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        names = [n for n in names if n.split(".")[0] == "python_producer"]
        if not names:
            continue
        if node in tree.body:
            top.update(names)
        else:
            nested.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return top, nested


def test_python_producer_has_no_import_cycle_and_no_hidden_imports():
    """Every project import is at module level (none is tucked into a function to hide a cycle)
    and the module graph of python_producer is acyclic."""
    package = ROOT / "python_producer"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph, hidden = {}, []
    for name, path in modules.items():
        top, nested = _project_imports(path)
        graph[name] = {m for m in top if m in modules and m != name}
        hidden += nested
    assert not hidden, f"function-level imports of project modules: {hidden}"
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        assert state.get(name) != 1, f"import cycle: {' -> '.join([*trail, name])}"
        state[name] = 1
        for dep in sorted(graph[name]):
            visit(dep, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        visit(name, [])
    # The roles: the reference consumer builds on nothing else of the package; the producer and
    # the tools build on it, not on each other; only the command line sees them all.
    allowed = {
        "python_producer.reference": {"python_producer.reference", "python_producer.tf_runtime"},
        "python_producer.producer": {"python_producer.producer", "python_producer.reference"},
        "python_producer.tools": {"python_producer.tools", "python_producer.reference"},
    }
    for name, deps in graph.items():
        role = next((r for r in allowed if name == r or name.startswith(r + ".")), None)
        if role is None:
            continue
        for dep in deps:
            ok = any(dep == a or dep.startswith(a + ".") for a in allowed[role])
            ok = ok or dep in ("python_producer", "python_producer.tf_runtime")
            assert ok, f"{name} ({role}) imports {dep}"
