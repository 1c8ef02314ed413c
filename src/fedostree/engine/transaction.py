"""The scriptlets and file triggers of one rpm transaction, in rpm 4.18/4.19's order
(lib/transaction.c rpmtsRun, lib/psm.c rpmPackageInstall/rpmPackageErase), with rpm's
arguments and standard input. Shared by the build server's compose (a fresh transaction
of every package) and client-side layering (packages installed on, or erased from, an
OSTree tree).

Install, for packages already checked out into the tree:
    for each package in order: %pre ($1 = instances after it), its files' owners,
        %filetriggerin of priority >= 10000 (the rpmdb's triggers set off by its files,
        then its own over the rpmdb), %post, the same triggers of lower priority;
    every %posttrans; %transfiletriggerin of the packages already installed, for the
    new files; each new package's own %transfiletriggerin, over the whole rpmdb.
Erase:
    %transfiletriggerun of the remaining packages, for the files to erase; each erased
    package's own %transfiletriggerun; then for each package in order: %filetriggerun
    of priority >= 10000 (its own over the rpmdb first, then the rpmdb's set off by its
    files), %preun ($1 = instances left after it), those of lower priority, its files
    erased, %filetriggerpostun >= 10000, %postun, %filetriggerpostun < 10000; last, the
    remaining packages' %transfiletriggerpostun that the erased files set off.

rpm gives file triggers $1 = 0 and no $2 (4.20 gives counts), and a `-p PROGRAM`
trigger an (empty) script file and that 0 as arguments. The whole plan, standard inputs
included, is worked out before anything runs, from the packages' headers and which of
their files the tree has (a file left out of the checkout, say a documentation file,
is "not installed" to rpm)."""

from __future__ import annotations

import functools
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from fedostree.engine.checkout import apply_ownership, break_hardlinks
from fedostree.engine.filetriggers import (
    DbPackage,
    Firing,
    PriorityClass,
    Rpmdb,
    outside_transaction_triggers,
    own_triggers,
    package_triggers,
    pending_postun_triggers,
    postun_transaction_triggers,
)
from fedostree.engine.pkgcache import FACTORY, CachedPackage, tree_path
from fedostree.engine.rootfs import resolve_in_root
from fedostree.engine.scriptlets import ScriptRun, Step, run_steps, wanted

TMPFILES_CONF = "usr/lib/tmpfiles.d/pkg-{name}.conf"  # written by the package cache's import


def run_install(
    rootfs: Path,
    added: Sequence[CachedPackage],
    *,
    installed: Sequence[bytes] = (),
    ignore: Iterable[str] = (),
    etc_in_usr: bool = False,
) -> None:
    """Run what rpm runs when a transaction installs `added` (in this order, already
    checked out into rootfs) on top of `installed` (header blobs, in rpmdb order, their
    files in rootfs). etc_in_usr: rootfs is an OSTree tree in its final layout."""
    tree = _Tree(rootfs, etc_in_usr)
    db = Rpmdb([DbPackage.from_blob(i, b) for i, b in enumerate(installed)], tree.installed)
    new = [DbPackage.from_blob(len(installed) + i, c.header_blob) for i, c in enumerate(added)]
    plan = _Plan(ignore)
    laid_down: dict[str, bool] = {}  # path -> laid down by this transaction, not as %ghost
    for te, cached in zip(new, added, strict=True):
        skipped = _install_skips(te, laid_down, tree)
        arg = db.count(te.name) + 1
        plan.scriptlet(te, "pre", arg)
        if cached.nonroot:
            plan.action(functools.partial(apply_ownership, rootfs, [cached], etc_in_usr=etc_in_usr))
        db.add(te)
        db.unpacking = te
        plan.filetriggers(db, te, "in", "high", skipped, own_first=False)
        plan.scriptlet(te, "post", arg)
        plan.filetriggers(db, te, "in", "low", skipped, own_first=False)
        db.unpacking = None
    for te in new:
        plan.scriptlet(te, "posttrans", db.count(te.name))
    plan.firings(outside_transaction_triggers(db, "in", new))
    for te in new:
        plan.firings(own_triggers(db, te, "in", "transfile", "all"))
    tree.run(plan.steps)


def run_erase(
    rootfs: Path,
    removed: Sequence[bytes],
    *,
    remaining: Sequence[bytes],
    ignore: Iterable[str] = (),
    etc_in_usr: bool = False,
    rpmdb_order: Sequence[str] = (),
) -> None:
    """Run what rpm runs when a transaction erases `removed` (header blobs, in this
    order) from rootfs, and erase their files that no `remaining` package owns.
    rpmdb_order: the NEVRAs of the installed packages in rpmdb (install) order, which
    rpm lists files and breaks priority ties by; by default `remaining`, then `removed`."""
    tree = _Tree(rootfs, etc_in_usr)
    rest = [DbPackage.from_blob(i, b) for i, b in enumerate(remaining)]
    gone = [DbPackage.from_blob(len(remaining) + i, b) for i, b in enumerate(removed)]
    _renumber([*rest, *gone], rpmdb_order)
    db = Rpmdb([*rest, *gone], tree.installed)
    plan = _Plan(ignore)
    plan.firings(outside_transaction_triggers(db, "un", gone))
    for te in gone:
        plan.firings(own_triggers(db, te, "un", "transfile", "all"))
    postun = []
    owners = _owners(rest)
    for i, te in enumerate(gone):
        skipped = _erase_skips(te, owners, gone[i + 1 :], tree)
        arg = db.count(te.name) - 1
        plan.filetriggers(db, te, "un", "high", skipped, own_first=True)
        plan.scriptlet(te, "preun", arg)
        plan.filetriggers(db, te, "un", "low", skipped, own_first=True)
        plan.action(functools.partial(tree.erase, te, skipped, rest))
        plan.firings(package_triggers(db, te, "postun", "high", skipped))
        plan.scriptlet(te, "postun", arg)
        plan.firings(package_triggers(db, te, "postun", "low", skipped))
        postun += postun_transaction_triggers(db, te)
        db.remove(te)
    plan.firings(pending_postun_triggers(db, postun))
    tree.run(plan.steps)


def _renumber(packages: Sequence[DbPackage], order: Sequence[str]) -> None:
    """Number the packages by their place in order; those not in it after, as they are."""
    place = {nevra: i for i, nevra in enumerate(order)}
    for pkg in packages:
        pkg.num = place.get(pkg.nevra, len(order) + pkg.num)


class _Plan:
    """The steps of a transaction, in order; runs that ignore-scripts skips are left out."""

    def __init__(self, ignore: Iterable[str]) -> None:
        self.ignore = tuple(ignore)
        self.steps: list[Step] = []

    def add(self, run: ScriptRun) -> None:
        if wanted(run, self.ignore):
            self.steps.append(run)

    def action(self, action: Callable[[], None]) -> None:
        self.steps.append(action)

    def scriptlet(self, pkg: DbPackage, name: str, arg: int) -> None:
        s = pkg.scriptlets.get(name)
        if s is not None:
            body = s.body or None  # `-p PROGRAM` alone: run bare
            args = (str(arg),) if body is not None else ()
            self.add(ScriptRun(pkg.name, pkg.nevra, name, s.program, body, args))

    def firings(self, firings: Iterable[Firing]) -> None:
        for f in firings:
            t = f.trigger
            stdin = "".join(f"{p}\n" for p in f.paths)
            self.add(ScriptRun(f.package.name, f.package.nevra, t.kind, (t.program,), t.body,
                               ("0",), stdin, t.prefixes))  # fmt: skip

    def filetriggers(
        self,
        db: Rpmdb,
        te: DbPackage,
        sense: str,
        pclass: PriorityClass,
        skipped: Callable[[str], bool],
        *,
        own_first: bool,
    ) -> None:
        """The per-package file triggers around %post (rpmdb's first, then the element's
        own) or around %preun (the element's own first)."""
        theirs = list(package_triggers(db, te, sense, pclass, skipped))
        own = list(own_triggers(db, te, sense, "file", pclass))
        self.firings([*own, *theirs] if own_first else [*theirs, *own])


def _install_skips(te: DbPackage, laid_down: dict[str, bool], tree: _Tree) -> Callable[[str], bool]:
    """The element's files rpm does not lay down: not installed, or a path an earlier
    package of the transaction laid down (unless as a %ghost). Records te's own."""
    skipped = {f for f in te.files if not tree.installed(te, f) or laid_down.get(f, False)}
    for f in te.files:
        if f not in skipped:
            laid_down[f] = laid_down.get(f, False) or f not in te.ghosts
    return skipped.__contains__


def _owners(packages: Iterable[DbPackage]) -> dict[str, list[DbPackage]]:
    out: dict[str, list[DbPackage]] = {}
    for pkg in packages:
        for f in pkg.files:
            out.setdefault(f, []).append(pkg)
    return out


def _erase_skips(
    te: DbPackage,
    owners: dict[str, list[DbPackage]],
    later: Sequence[DbPackage],
    tree: _Tree,
) -> Callable[[str], bool]:
    """The element's files rpm does not erase: not installed, still installed by a
    remaining package (owners), or erased with a package later in the transaction."""
    later_paths = {f for p in later for f in p.files}
    skipped = {f for f in te.files if not tree.installed(te, f) or f in later_paths
               or any(tree.installed(p, f) for p in owners.get(f, ()))}  # fmt: skip
    return skipped.__contains__


class _Tree:
    """The tree the transaction runs on: where package paths are, and what it has."""

    def __init__(self, rootfs: Path, etc_in_usr: bool) -> None:
        self.rootfs, self.etc_in_usr = rootfs, etc_in_usr
        self._present: dict[str, bool] = {}
        self._dirs: dict[str, Path] = {"": rootfs}  # directories resolved in the tree

    def locate(self, path: str) -> Path | None:
        """Where path is in the tree, its directory's symlinks resolved inside it (once
        per directory: a tree's files share a few thousand)."""
        rel = tree_path(path, etc_in_usr=self.etc_in_usr)
        if rel is None:
            return None
        parent, _, name = rel.rpartition("/")
        where = self._dirs.get(parent)
        if where is None:
            where = self._dirs[parent] = resolve_in_root(self.rootfs, parent)
        return where / name

    def installed(self, pkg: DbPackage, path: str) -> bool:
        """rpm's "installed" file state: the tree has the file (/var and /run content
        is not in a tree, %ghost files need not exist)."""
        if path in pkg.ghosts:
            return True
        if path not in self._present:
            where = self.locate(path)
            self._present[path] = where is None or os.path.lexists(where)
        return self._present[path]

    def run(self, steps: Sequence[Step]) -> None:
        if self.etc_in_usr and (self.rootfs / "usr/etc").is_dir():
            break_hardlinks(self.rootfs / "usr/etc")  # scriptlets edit /etc in place
        run_steps(self.rootfs, steps, etc_in_usr=self.etc_in_usr)

    def erase(
        self, te: DbPackage, skipped: Callable[[str], bool], rest: Sequence[DbPackage]
    ) -> None:
        """Erase the element's files that rpm erases, deepest first; a directory only
        once empty. /var content: its copy in the factory and its tmpfiles.d lines."""
        for path in sorted((f for f in te.files if not skipped(f)), reverse=True):
            where = self.locate(path)
            if where is None:
                where = resolve_in_root(self.rootfs, posixpath.join(FACTORY, path.lstrip("/")),
                                        follow_last=False)  # fmt: skip
            _remove(where)
        if not any(p.name == te.name for p in rest):
            _remove(resolve_in_root(self.rootfs, TMPFILES_CONF.format(name=te.name)))


def _remove(where: Path) -> None:
    try:
        st = where.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        where.unlink()
    elif not any(where.iterdir()):
        where.rmdir()
