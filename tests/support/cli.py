"""Running the real `fedostree` command line, in-process, and reading what a user sees."""

from __future__ import annotations

import re
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


def compose(treefile: Path, workdir: Path, *extra: str | Path) -> Result:
    """`compose tree` into workdir/repo with workdir/cache."""
    return run(
        "compose",
        "tree",
        treefile,
        "--repo",
        workdir / "repo",
        "--cachedir",
        workdir / "cache",
        *extra,
    )


def error_message(r: Result, exit_code: int) -> str:
    """The one `error:` line a failed command printed (without `error: `), after checking
    the exit code, that stderr holds nothing but warnings, problems and that line, and
    that the error is not an unwrapped exception."""
    assert r.exit_code == exit_code, r.stderr
    lines = r.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for line in lines:
        assert line.startswith(("error: ", "warning: ", "  problem: ")), r.stderr
    assert not re.match(r"error: [A-Z]\w*(Error|Exception): ", errors[0]), errors[0]
    return errors[0].removeprefix("error: ")


def fsck(repo: Path) -> None:
    """`ostree fsck` must find the repository consistent (it fails the test otherwise)."""
    r = subprocess.run(["ostree", f"--repo={repo}", "fsck"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "corrupt" not in (r.stdout + r.stderr).lower()


def ostree(repo: Path, *args: str) -> str:
    """The stock ostree CLI, as an independent witness."""
    r = subprocess.run(
        ["ostree", f"--repo={repo}", *args], capture_output=True, text=True, check=True
    )
    return r.stdout


def published_refs(repo: Path) -> dict[str, str]:
    """The refs clients follow (not the build server's candidates:REF)."""
    return {ref: c for ref, c in refs(repo).items() if not ref.startswith("candidates:")}


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
