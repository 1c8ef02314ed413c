"""Paths inside a tree that is being built on the build host. A symlink in the tree means
something inside the tree (`/opt -> /srv/opt` points at the tree's /srv), but the host
kernel would follow it out to the host's own files. Everything that touches the tree
by path goes through here, so it never leaves the tree."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path

from fedostree.errors import FedostreeError

MAX_SYMLINKS = 40


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve_in_root(rootfs: Path, path: str, *, follow_last: bool = True) -> Path:
    """rootfs/path with every symlink resolved inside rootfs (like RESOLVE_IN_ROOT)."""
    pending, resolved, hops = _parts(path), list[str](), 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = rootfs.joinpath(*resolved, part)
        if candidate.is_symlink() and (pending or follow_last):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise FedostreeError(f"/{path}: too many levels of symlinks in the tree")
            target = os.readlink(candidate)
            resolved = [] if target.startswith("/") else resolved
            pending = _parts(target) + pending
            continue
        resolved.append(part)
    return rootfs.joinpath(*resolved)


def check_symlinked_dirs(files: Mapping[str, Iterable[tuple[str, str]]]) -> None:
    """Refuse packages whose files would be checked out through an absolute symlink.

    files maps each package to its (path, symlink target or "") entries. The union
    checkout runs on the host, where such a symlink leads out of the tree."""
    symlinks = {path: target for entries in files.values() for path, target in entries if target}
    for package, entries in files.items():
        for path, _target in entries:
            _check_parents(package, path, symlinks)


def _check_parents(package: str, path: str, symlinks: Mapping[str, str]) -> None:
    parent = posixpath.dirname(path)
    seen: set[str] = set()
    while parent not in ("/", ""):
        if parent in symlinks:
            target = symlinks[parent]
            if target.startswith("/"):
                raise FedostreeError(
                    f"{package}: {path} lies under {parent}, a symlink to {target} in another "
                    "package; fedostree cannot check out through an absolute symlink"
                )
            if parent in seen:
                break
            seen.add(parent)
            parent = posixpath.normpath(posixpath.join(posixpath.dirname(parent), target))
            continue
        parent = posixpath.dirname(parent)
