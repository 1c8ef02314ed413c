"""Writing treefiles in a test directory, and loading them as a user's command would."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fedostree.errors import ConfigError
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import load_treefile
from tests.support.cli import Result, error_message, run


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(
    directory: Path, text: str, files: dict[str, str] | None = None, *, basearch: str = "x86_64"
) -> Treefile:
    """tree.yaml with `text`, and the files it includes (name -> YAML text)."""
    for name, body in (files or {}).items():
        write(directory, name, body)
    return load_treefile(write(directory, "tree.yaml", text), basearch=basearch)


def config_error(path: Path, **kwargs: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_treefile(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def compose_error(treefile: Path, workdir: Path) -> str:
    """`fedostree compose tree` on a bad treefile: exit 2, one `error:` line (returned),
    and nothing written: no repository, no cache."""
    r: Result = run(
        "compose", "tree", treefile, "--repo", workdir / "R", "--cachedir", workdir / "C"
    )
    message = error_message(r, 2)
    assert r.stdout == ""
    assert not (workdir / "R").exists()
    assert not (workdir / "C").exists()
    return message
