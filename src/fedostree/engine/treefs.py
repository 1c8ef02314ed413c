"""Writing inside a tree that is being built on the build host. A symlink in the tree
means something inside the tree, but the host would follow it out of it; and most of
the tree's files are hardlinks into the package cache, so a file is never written in
place: a new one replaces it."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from fedostree.engine.rootfs import resolve_in_root
from fedostree.errors import FedostreeError

log = logging.getLogger(__name__)


def real_dir(rootfs: Path, rel: str) -> Path:
    """rootfs/rel, refusing a symlink on the way there (the directory may not exist)."""
    path = rootfs
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            raise FedostreeError(
                f"/{path.relative_to(rootfs)} in the tree is a symlink to {os.readlink(path)}, "
                "not a directory"
            )
    return path


def remove_path(path: Path) -> None:
    """Remove a file, symlink or directory tree (never following a symlink)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def replace_with_symlink(root: Path, rel: str, target: str) -> None:
    path = resolve_in_root(root, rel, follow_last=False)
    remove_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def write_file(root: Path, rel: str, content: str | bytes, mode: int = 0o644) -> None:
    """A new file at rel (symlinks on the way resolved inside the tree) replaces what was
    there; missing parent directories are made."""
    path = resolve_in_root(root, rel, follow_last=False)
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_text(root: Path, rel: str) -> str | None:
    """A file's text, symlinks resolved inside the tree; None if it is not a file."""
    path = resolve_in_root(root, rel)
    return path.read_text() if path.is_file() else None


def remove_in_background(path: Path) -> threading.Thread:
    """Remove a build tree (tens of thousands of directories) while the caller goes on;
    join the thread before exiting."""

    def remove() -> None:
        try:
            shutil.rmtree(path)
        except OSError as e:
            log.warning("cannot remove build directory %s: %s", path, e)

    remover = threading.Thread(target=remove, name=f"rm {path.name}")
    remover.start()
    return remover
