"""The layout's promise: the client and the shared engine never import the build server
(nor the command line), so a client can be installed and reasoned about without it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "fedostree"
INDEPENDENT = ("engine", "client", "model")  # what must stand without the server
FORBIDDEN = ("fedostree.server", "fedostree.cli", "fedostree.bench", "fedostree.sample")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def modules_of(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", INDEPENDENT)
def test_no_source_file_imports_the_server(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in modules_of(package)
        for name in sorted(imported_modules(path))
        if forbidden(name) or name == "fedostree.demo"
    ]
    assert offenders == []


def test_importing_the_client_loads_no_server_module() -> None:
    """The same, at run time: every client and engine module imported, and no server
    module among what Python loaded."""
    names = [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for package in INDEPENDENT
        for path in modules_of(package)
        if path.name != "__init__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('fedostree.'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "fedostree.client.sysroot" in loaded
    assert [m for m in loaded if forbidden(m)] == []


def test_the_top_level_names_server_client_and_engine() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert {"engine", "server", "client", "cli", "model"} <= packages
    assert not {"core", "compose"} & packages


def test_a_client_verb_does_not_load_the_build_server() -> None:
    """`fedostree status` imports the client commands only: the compose pipeline and the
    autobuilder are loaded when one of their commands runs (startup time of every verb)."""
    code = (
        "import sys\n"
        "from fedostree.cli.main import cli\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('fedostree.')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "fedostree.cli.client" in loaded
    assert [m for m in loaded if m.startswith("fedostree.server")] == []
