"""Running commands and timing them, disk usage, and removing what libostree froze."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fedostree.errors import CommandError

OUTPUT_TAIL_LINES = 20


def run(
    argv: Sequence[str | Path], *, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; a failure names the command and its output."""
    args = [str(a) for a in argv]
    result = subprocess.run(args, capture_output=True, text=True, cwd=cwd, check=False)
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-OUTPUT_TAIL_LINES:])
        raise CommandError(
            f"{shlex.join(args)} failed with exit status {result.returncode}:\n{tail}"
        )
    return result


def fedostree(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it."""
    return run([sys.executable, "-m", "fedostree", *args], check=check)


@dataclass
class Stopwatch:
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Wall-clock time of the block (monotonic clock)."""
    watch = Stopwatch()
    start = time.monotonic()
    try:
        yield watch
    finally:
        watch.seconds = time.monotonic() - start


def timed(argv: Sequence[str | Path], *, check: bool = True) -> float:
    with stopwatch() as watch:
        run(argv, check=check)
    return watch.seconds


def disk_usage(path: Path, *, apparent: bool = False) -> int:
    """`du -s` in bytes: blocks allocated, or the apparent size; each inode counted once."""
    flags = ["--apparent-size", "--block-size=1"] if apparent else ["--block-size=1"]
    return int(run(["du", "-s", *flags, path]).stdout.split()[0])


def link_copy(src: Path, dest: Path) -> Path:
    """A copy whose files are hardlinks to src's (cheap; src's files must not be edited
    in place)."""
    shutil.copytree(src, dest, symlinks=True, copy_function=os.link)
    return dest


def remove_tree(path: Path) -> None:
    """Remove a directory tree, lifting libostree's immutable bit on deployments first."""
    if not path.exists():
        return
    subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True, check=False)
    shutil.rmtree(path)


def fresh_dir(path: Path) -> Path:
    remove_tree(path)
    path.mkdir(parents=True)
    return path


def read_all(path: Path) -> None:
    """Read every file under path once, so that neither side pays for a cold page cache."""
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                while f.read(1 << 20):
                    pass
