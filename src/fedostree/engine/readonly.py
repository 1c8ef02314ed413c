"""`readonly-executables`: the packages' executables are committed without write bits.

rpm-ostree clears them when it imports a package (rust/src/importer.rs: a regular file
with any execute bit loses every write bit), so what later steps create keeps its mode.
Here the package cache is shared by every tree, so the change is made as the tree is
committed, to the files the packages installed: they are known by inode, recorded right
after the checkout (whose files are hardlinks into the cache), plus the private copies
made to give files their owners."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from fedostree.engine.pkgcache import CachedPackage
from fedostree.engine.rootfs import resolve_in_root

EXEC_BITS = 0o111
WRITE_BITS = 0o222
DEV_MASK = 0xFFFFFFFF  # libostree reports st_dev in 32 bits


class PackageExecutables:
    """The inodes of the packages' executables in one tree."""

    def __init__(self) -> None:
        self.inodes: set[tuple[int, int]] = set()

    def record_checkout(self, root: Path) -> None:
        """Every executable regular file of a fresh checkout (packages only)."""
        pending = [str(root)]
        while pending:
            with os.scandir(pending.pop()) as it:
                for entry in it:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        pending.append(entry.path)
                    else:
                        self._add(st)

    def record_owned_copies(self, root: Path, packages: Sequence[CachedPackage]) -> None:
        """The files given a non-root owner after %pre (copies now, not cache links)."""
        for pkg in packages:
            for path, _user, _group in pkg.nonroot:
                with_owner = resolve_in_root(root, path, follow_last=False)
                if with_owner.is_file() and not with_owner.is_symlink():
                    self._add(with_owner.lstat())

    def _add(self, st: os.stat_result) -> None:
        if stat.S_ISREG(st.st_mode) and st.st_mode & EXEC_BITS:
            self.inodes.add((st.st_dev & DEV_MASK, st.st_ino))

    def committed_mode(self, dev: int, ino: int, mode: int) -> int:
        if (dev & DEV_MASK, ino) in self.inodes and mode & EXEC_BITS:
            return mode & ~WRITE_BITS
        return mode
