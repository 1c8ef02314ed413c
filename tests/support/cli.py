"""Running the real `fedostree` command line, in-process, and reading what a user sees."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from fedostree.cli.main import cli


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(*args: str | Path) -> Result:
    runner = CliRunner()
    r = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return Result(r.exit_code, r.stdout, r.stderr)


def ostree(repo: Path, *args: str) -> str:
    """The stock ostree CLI, as an independent witness."""
    r = subprocess.run(
        ["ostree", f"--repo={repo}", *args], capture_output=True, text=True, check=True
    )
    return r.stdout


def refs(repo: Path) -> dict[str, str]:
    if not (repo / "config").exists():
        return {}
    out = {}
    for ref in ostree(repo, "refs").split():
        out[ref] = ostree(repo, "rev-parse", ref).strip()
    return out


def rpmdb_names(checkout: Path) -> list[str]:
    r = subprocess.run(
        ["rpm", "--dbpath", str(checkout / "usr/share/rpm"), "-qa", "--qf", "%{NAME}\\n"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(r.stdout.split())
