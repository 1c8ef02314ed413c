"""Static deltas, generated after publishing, off the compose's critical path: the refs
and the summary are out first (clients fetch objects meanwhile), then each published
commit gets a delta from its parent, and the summary is regenerated (and signed) to list
them. `fedostree compose deltas` runs it; `compose tree`/`products` and autobuild run it
once their trees are published.

Crash safety: libostree writes a delta's parts first and its superblock last, each
through a temporary file renamed into place, and lists (in the summary too) only deltas
that have a superblock. A generation killed midway leaves a directory of parts without
one: never listed, removed here before anything else, regenerated. A delta complete but
not yet in the summary (killed before the summary was regenerated) is found by comparing
the summary's list with the repository's, and the summary regenerated. One generation
runs at a time per repository (a lock file)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import GLib, OSTree
from fedostree.errors import FedostreeError
from fedostree.server.publish import Signer, update_summary

log = logging.getLogger(__name__)
LOCK = ".fedostree-deltas.lock"
SUMMARY_TYPE = "(a(s(taya{sv}))a{sv})"
SUMMARY_DELTAS_KEY = "ostree.static-deltas"


def publish_deltas(repo: OSTree.Repo, signer: Signer | None) -> list[str]:
    """Generate the missing deltas of the published refs' history and bring the summary
    up to date with the complete ones; returns the deltas generated (FROM-TO)."""
    with generation_lock(repo_path(repo)):
        remove_partial_deltas(repo)
        made = []
        for from_commit, to_commit in wanted_deltas(repo):
            name = f"{from_commit}-{to_commit}"
            if name in complete_deltas(repo):
                continue
            log.info("static delta %s..%s", from_commit[:12], to_commit[:12])
            try:
                ot.generate_static_delta(repo, from_commit, to_commit)
            except GLib.Error as e:
                raise FedostreeError(f"static delta {name}: {e.message}") from e
            made.append(name)
        if summary_deltas(repo) != complete_deltas(repo):
            update_summary(repo, signer)
    return made


def repo_path(repo: OSTree.Repo) -> Path:
    return Path(repo.get_path().get_path())


@contextlib.contextmanager
def generation_lock(path: Path) -> Iterator[None]:
    """Wait for any other generation in this repository to finish."""
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def wanted_deltas(repo: OSTree.Repo) -> list[tuple[str, str]]:
    """(parent, commit) along each published ref's history, as far as the repository
    keeps it (candidates: refs are not published, and get none)."""
    _, refs = repo.list_refs_ext(None, OSTree.RepoListRefsExtFlags.EXCLUDE_REMOTES, None)
    wanted = []
    for ref in sorted(refs or {}):
        commit: str | None = refs[ref]
        while commit is not None:
            parent = ot.commit_parent(repo, commit)
            if parent is not None:
                wanted.append((parent, commit))
            commit = parent
    return wanted


def complete_deltas(repo: OSTree.Repo) -> set[str]:
    """The deltas libostree lists: those with a superblock."""
    _, names = repo.list_static_delta_names(None)
    return set(names or [])


def summary_deltas(repo: OSTree.Repo) -> set[str] | None:
    """The deltas the summary lists; None without a (readable) summary."""
    path = repo_path(repo) / "summary"
    try:
        data = GLib.Bytes.new(path.read_bytes())
    except FileNotFoundError:
        return None
    summary = GLib.Variant.new_from_bytes(GLib.VariantType.new(SUMMARY_TYPE), data, False)
    deltas = summary.get_child_value(1).lookup_value(SUMMARY_DELTAS_KEY, None)
    return set(deltas.unpack()) if deltas is not None else set()


def remove_partial_deltas(repo: OSTree.Repo) -> list[Path]:
    """Delta directories without a superblock: what a killed generation left."""
    top = repo_path(repo) / "deltas"
    removed = []
    for prefix in top.iterdir() if top.is_dir() else ():
        for delta in prefix.iterdir() if prefix.is_dir() else ():
            if delta.is_dir() and not (delta / "superblock").exists():
                log.info("removing an incomplete static delta: %s", delta.relative_to(top))
                shutil.rmtree(delta)
                removed.append(delta)
        if prefix.is_dir() and not any(prefix.iterdir()):
            prefix.rmdir()
    return removed
