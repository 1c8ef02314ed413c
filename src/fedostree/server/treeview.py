"""A read-only view of a composed tree on the build host, for the checks.

Paths are the tree's own: a symlink is followed inside the tree (an absolute target
starts at the tree's root, `..` stops there), never out to the host. A committed tree
keeps its default configuration in /usr/etc, which a deployment shows at /etc: when the
tree has no /etc of its own, /etc is /usr/etc mounted there, so `/etc/os-release ->
../usr/lib/os-release` resolves as it will on a client. Nothing here writes to the tree."""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fedostree.engine.elf import glob_in

MAX_SYMLINKS = 40


@dataclass(frozen=True, slots=True)
class Entry:
    """One file, directory or symlink of the tree, as the walk found it."""

    path: str  # absolute in the tree, as stored: /usr/etc/passwd
    mode: int
    uid: int
    gid: int
    dev: int
    ino: int


class TreeView:
    def __init__(self, rootfs: Path) -> None:
        self.rootfs = rootfs
        self._resolved: dict[str, str | None] = {}
        self._listings: dict[str, frozenset[str]] = {}

    @cached_property
    def etc_is_usr_etc(self) -> bool:
        """True when /etc is the tree's /usr/etc (the tree has no /etc of its own)."""
        return not os.path.lexists(self.rootfs / "etc") and (self.rootfs / "usr/etc").is_dir()

    def host_path(self, path: str) -> Path:
        """Where a resolved tree path lies on the host."""
        if self.etc_is_usr_etc and (path == "/etc" or path.startswith("/etc/")):
            path = "/usr" + path
        return self.rootfs / path.lstrip("/")

    def deployed_path(self, path: str) -> str:
        """The path at which a client sees a stored path: /usr/etc/X is /etc/X."""
        if self.etc_is_usr_etc and (path == "/usr/etc" or path.startswith("/usr/etc/")):
            return path.removeprefix("/usr")
        return path

    def stored_path(self, path: str) -> str:
        """Where the tree stores what a path names (/etc/passwd: /usr/etc/passwd)."""
        real = self.resolve(path) or path
        return "/" + str(self.host_path(real).relative_to(self.rootfs)).lstrip(".")

    def resolve(self, path: str) -> str | None:
        """The path with every symlink followed inside the tree, or None if it leads
        nowhere (a missing component, a dangling symlink or a symlink loop)."""
        return self._resolve(path, 0)

    def lookup(self, path: str) -> Path | None:
        """The host path of the tree path, or None if it does not resolve."""
        real = self.resolve(path)
        return None if real is None else self.host_path(real)

    def read_text(self, path: str) -> str | None:
        host = self.lookup(path)
        if host is None or not host.is_file():
            return None
        return host.read_text(errors="replace")

    def listdir(self, real_dir: str) -> frozenset[str]:
        """The names in a resolved directory (empty if it is not one); cached."""
        if real_dir not in self._listings:
            try:
                self._listings[real_dir] = frozenset(os.listdir(self.host_path(real_dir)))
            except OSError:
                self._listings[real_dir] = frozenset()
        return self._listings[real_dir]

    def glob(self, pattern: str) -> list[str]:
        """Resolved paths matching a pattern whose last component may hold wildcards."""
        return glob_in(self, pattern)

    def _resolve(self, path: str, hops: int) -> str | None:
        real = ""
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                real = real.rpartition("/")[0]
                continue
            step = self._step(f"{real}/{part}", hops)
            if step is None:
                return None
            real = step
        return real or "/"

    def _step(self, candidate: str, hops: int) -> str | None:
        """candidate: a resolved directory plus one name."""
        if candidate in self._resolved:
            return self._resolved[candidate]
        host = self.host_path(candidate)
        try:
            st = os.lstat(host)
        except OSError:
            result = None
        else:
            if not stat.S_ISLNK(st.st_mode):
                result = candidate
            elif hops >= MAX_SYMLINKS:
                return None  # not cached: the same link may resolve from fewer hops
            else:
                target = os.readlink(host)
                base = "" if target.startswith("/") else candidate.rpartition("/")[0]
                result = self._resolve(f"{base}/{target}", hops + 1)
        self._resolved[candidate] = result
        return result

    def link_target(self, path: str) -> str:
        """A symlink's target as an absolute tree path, lexically (not resolved)."""
        target = os.readlink(self.rootfs / path.lstrip("/"))
        parent = self.resolve(posixpath.dirname(self.deployed_path(path))) or "/"
        return posixpath.normpath(posixpath.join(parent, target))

    @cached_property
    def entries(self) -> list[Entry]:
        """Every file, directory and symlink of the tree (one walk, shared by the checks)."""
        return list(self._walk(str(self.rootfs), ""))

    def _walk(self, host_dir: str, tree_dir: str) -> Iterator[Entry]:
        with os.scandir(host_dir) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in children:
            st = child.stat(follow_symlinks=False)
            path = f"{tree_dir}/{child.name}"
            yield Entry(path, st.st_mode, st.st_uid, st.st_gid, st.st_dev, st.st_ino)
            if stat.S_ISDIR(st.st_mode):
                yield from self._walk(child.path, path)
