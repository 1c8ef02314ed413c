"""Committing a tree that was checked out from a commit and then changed a little, at
the cost of what changed: the directories whose entries changed are read again from
disk (their files that are hardlinks into the repository cost no hashing), every other
directory is taken from the start commit by its checksums, unread.

What changed is told by the directories' change times: the checkout is made of
hardlinks to the repository's objects, a file can only be replaced, not written in place
(rofiles-fuse refuses in-place writes to shared files), and adding, replacing or
removing an entry changes its directory's ctime, as a chown or chmod of the directory
does; the snapshot waits for the clock to pass the times it holds, so that a change in
the same clock tick as the checkout is not missed. The places a transaction edits in place (their files are private copies:
/usr/etc, the rpmdb) are always read again whole. The result is the tree a full commit of the directory
would give (tests/test_layering.py compares the two)."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from fedostree.engine.ostree import Gio, GLib, OSTree
from fedostree.errors import FedostreeError

log = logging.getLogger(__name__)
CLOCK_REALTIME_COARSE = 5  # Linux's; the time module does not name it
Snapshot = dict[str, str]  # relative directory path ("" is the root) -> its ctime


def snapshot(rootfs: Path) -> Snapshot:
    """Every directory's change time: adding, removing or renaming an entry, and a
    chown or chmod of the directory, all change it (find(1) walks the tree in C)."""
    r = subprocess.run(
        ["find", str(rootfs), "-type", "d", "-printf", "%P\\0%C@\\0"],
        capture_output=True,
        check=False,
    )
    if r.returncode != 0:
        raise FedostreeError(f"find {rootfs}: {r.stderr.decode(errors='replace').strip()}")
    fields = r.stdout.decode(errors="surrogateescape").split("\0")[:-1]
    taken = dict(zip(fields[0::2], fields[1::2], strict=True))
    wait_past(max((float(v) for v in taken.values()), default=0.0))
    return taken


def wait_past(latest: float) -> None:
    """Return once the kernel's file-time clock (the coarse realtime clock: a tick of a
    few milliseconds) is past `latest`, so that a directory changed from now on gets a
    change time the snapshot does not hold, even in the tick that made the checkout."""
    tick = time.clock_getres(CLOCK_REALTIME_COARSE)
    while time.clock_gettime(CLOCK_REALTIME_COARSE) <= latest + tick:
        time.sleep(tick)


def changed_dirs(before: Snapshot, after: Snapshot, always: Iterable[str]) -> set[str]:
    """The directories to read again: new ones, those whose entries or own metadata
    changed, and the always-read places (with everything below them)."""
    dirty = {rel for rel, state in after.items() if before.get(rel) != state}
    for top in always:
        dirty |= {rel for rel in after if rel == top or rel.startswith(f"{top}/")}
    return dirty


def commit_changes(
    repo: OSTree.Repo,
    rootfs: Path,
    start: str,
    before: Snapshot,
    devino: OSTree.RepoDevInoCache,
    always: Iterable[str] = (),
) -> OSTree.MutableTree:
    """The mutable tree of rootfs, built from start's tree plus what changed since
    `before` (see the module's docstring). Call inside a repository transaction."""
    after = snapshot(rootfs)
    dirty = changed_dirs(before, after, always)
    log.debug("tree_delta: %d of %d directories changed", len(dirty), len(after))
    spine = dirty | {p for rel in dirty for p in _ancestors(rel)}  # and the way down to them
    old = OSTree.MutableTree.new_from_commit(repo, start)
    builder = _Builder(repo, rootfs, devino, after, dirty, spine)
    return builder.build("", old)


def _ancestors(rel: str) -> list[str]:
    parts = rel.split("/") if rel else []
    return ["/".join(parts[:i]) for i in range(len(parts))]


class _Builder:
    def __init__(
        self,
        repo: OSTree.Repo,
        rootfs: Path,
        devino: OSTree.RepoDevInoCache,
        after: Snapshot,
        dirty: set[str],
        spine: set[str],
    ) -> None:
        self.repo = repo
        self.rootfs = rootfs
        self.subdirs: dict[str, list[str]] = {}
        for path in sorted(after):
            if path:
                parent, _, name = path.rpartition("/")
                self.subdirs.setdefault(parent, []).append(name)
        self.dirty = dirty
        self.spine = spine
        self.devino = devino
        self.dfd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY)

    def build(self, rel: str, old: OSTree.MutableTree | None) -> OSTree.MutableTree:
        try:
            return self._build(rel, old)
        finally:
            if rel == "":
                os.close(self.dfd)

    def _build(self, rel: str, old: OSTree.MutableTree | None) -> OSTree.MutableTree:
        fresh = OSTree.MutableTree.new()
        if rel in self.dirty or old is None:
            self._read_files(rel, fresh)
        else:
            self._copy_files(old, fresh)
        old_dirs = old.get_subdirs() if old is not None else {}
        for name in self.subdirs.get(rel, ()):
            child_rel = f"{rel}/{name}" if rel else name
            old_child = old_dirs.get(name)
            if child_rel in self.spine or old_child is None:
                child = self._build(child_rel, old_child)
                contents, meta = self._write(child)
            else:
                contents = old_child.get_contents_checksum()
                meta = old_child.get_metadata_checksum()
                if not contents:  # not yet written: a node loaded from the commit
                    contents, meta = self._write(old_child)
            _, node = fresh.ensure_dir(name)
            if not node.fill_empty_from_dirtree(self.repo, contents, meta):
                raise FedostreeError(f"committing {self.rootfs / child_rel}: read twice")
        return fresh

    def _read_files(self, rel: str, fresh: OSTree.MutableTree) -> None:
        """The directory's own metadata and its files and symlinks, from disk; its
        subdirectories are left out here (the caller adds them)."""
        top = rel or "."

        def only_this_level(
            _repo: OSTree.Repo, path: str, info: Gio.FileInfo, *_: object
        ) -> object:
            # path is relative to top ('/' is top itself): its subdirectories are skipped
            if path != "/" and info.get_file_type() == Gio.FileType.DIRECTORY:
                return OSTree.RepoCommitFilterResult.SKIP
            return OSTree.RepoCommitFilterResult.ALLOW

        modifier = OSTree.RepoCommitModifier.new(
            OSTree.RepoCommitModifierFlags.NONE, only_this_level, None
        )
        modifier.set_devino_cache(self.devino)
        try:
            self.repo.write_dfd_to_mtree(self.dfd, top, fresh, modifier, None)
        except GLib.Error as e:
            raise FedostreeError(f"committing {self.rootfs / rel}: {e.message}") from e

    def _copy_files(self, old: OSTree.MutableTree, fresh: OSTree.MutableTree) -> None:
        for name, checksum in old.get_files().items():
            fresh.replace_file(name, checksum)
        fresh.set_metadata_checksum(old.get_metadata_checksum())

    def _write(self, node: OSTree.MutableTree) -> tuple[str, str]:
        _, root = self.repo.write_mtree(node, None)
        return root.tree_get_contents_checksum(), root.tree_get_metadata_checksum()
