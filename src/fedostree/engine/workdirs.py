"""Work directories a killed build leaves behind, found and removed by the next run.

A build's work directory (CACHEDIR/compose-XXXX: the assembled tree, tens of thousands
of entries) holds a `.lock` file that the building process keeps locked (flock) for as
long as it works there. SIGKILL releases the lock with the process, so a later run can
tell an abandoned directory (no lock held) from one another compose is using."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)
LOCK = ".lock"
GRACE = 60.0  # seconds: a directory without a lock file may be one being created
_held: dict[Path, int] = {}


def make_work_dir(parent: Path, prefix: str) -> Path:
    """A new directory under parent, locked for this process until release()."""
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    fd = os.open(work / LOCK, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _held[work] = fd
    return work


def release(work: Path) -> None:
    fd = _held.pop(work, None)
    if fd is not None:
        os.close(fd)


def remove_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the prefix* directories under parent that no live process holds."""
    removed = []
    for work in sorted(parent.glob(f"{prefix}*")) if parent.is_dir() else []:
        if work in _held or work.is_symlink() or not work.is_dir() or not abandoned(work):
            continue
        shutil.rmtree(work, ignore_errors=True)
        removed.append(work)
    if removed:
        log.info("removed %d work directories an interrupted run left in %s", len(removed), parent)
    return removed


def abandoned(work: Path) -> bool:
    try:
        fd = os.open(work / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # made before locks, or this instant by another run
        return time.time() - work.stat().st_mtime > GRACE
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
