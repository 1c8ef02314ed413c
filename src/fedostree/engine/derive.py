"""A tree derived from a committed one by an rpm transaction: packages added (and
removed) on top of a commit, their scriptlets and the file triggers they set off, the
rpmdb updated, the result committed with the base as parent. Client-side layering
drives it; everything here is plain arguments.

The start commit is checked out with hardlinks; only what the transaction edits gets
private copies (/usr/etc, the rpmdb), so a derived tree costs little more than the
packages it adds."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.checkout import break_hardlinks, copy_up
from fedostree.engine.commit import PKGLIST_KEY, commit_rootfs
from fedostree.engine.ostree import GLib, OSTree
from fedostree.engine.pkgcache import CachedPackage
from fedostree.engine.rpmdb import DBPATH, read_header_blobs, write_rpmdb
from fedostree.engine.rpmfile import header_from_blob
from fedostree.engine.transaction import run_erase, run_install
from fedostree.engine.tree_delta import Snapshot, commit_changes, snapshot
from fedostree.errors import FedostreeError

LAYERED_KEY = "fedostree.layered"  # the NEVRAs the client layered on the base
INACTIVE_KEY = "fedostree.inactive"  # requests the base provides
CLIENTLAYER_KEY = "rpmostree.clientlayer"


@dataclass(frozen=True)
class Transaction:
    """What to change on the start commit."""

    start: str  # the commit to derive from (the base, or an earlier layered commit)
    base: str  # the pulled commit: the new commit's parent
    install: Sequence[CachedPackage] = ()
    erase: Sequence[str] = ()  # NEVRAs
    layered: Sequence[str] = ()  # every layered NEVRA once this is done
    inactive: Sequence[str] = ()  # requests the base provides (recorded for status)


def installed_headers(repo: OSTree.Repo, commit: str) -> list[bytes]:
    """The rpmdb headers of a committed tree (read from a private copy of its database)."""
    data = ot.read_commit_file(repo, commit, f"{DBPATH}/rpmdb.sqlite")
    if data is None:
        raise FedostreeError(f"{commit[:12]}: the tree has no rpmdb ({DBPATH}/rpmdb.sqlite)")
    with tempfile.TemporaryDirectory(prefix="fedostree-rpmdb-") as tmp:
        (Path(tmp) / DBPATH).mkdir(parents=True)
        (Path(tmp) / DBPATH / "rpmdb.sqlite").write_bytes(data)
        return read_header_blobs(Path(tmp))


def derive_tree(repo: OSTree.Repo, tx: Transaction, workdir: Path) -> str:
    """Check out tx.start into workdir/rootfs, run the transaction on it, commit what
    changed (engine/tree_delta.py); returns the new commit."""
    rootfs = workdir / "rootfs"
    devino = OSTree.RepoDevInoCache.new()
    ot.checkout_union(repo, tx.start, rootfs, devino)
    privatize_edited(rootfs)
    before = snapshot(rootfs)
    installed = read_header_blobs(rootfs)
    if tx.erase:
        erasing = {nevra for nevra in tx.erase}
        removed = [b for b in installed if header_from_blob(b)["nevra"] in erasing]
        remaining = [b for b in installed if header_from_blob(b)["nevra"] not in erasing]
        order = [header_from_blob(b)["nevra"] for b in installed]  # the rpmdb's install order
        run_erase(rootfs, removed, remaining=remaining, etc_in_usr=True, rpmdb_order=order)
        installed = remaining
    for pkg in tx.install:
        checkout_package(repo, pkg, rootfs, devino)
    if tx.install:
        run_install(rootfs, tx.install, installed=installed, etc_in_usr=True)
    write_rpmdb(rootfs, [p.header_blob for p in tx.install], erase=tx.erase)
    packages = [*installed, *(p.header_blob for p in tx.install)]  # what the rpmdb now lists
    return commit_derived(repo, rootfs, devino, tx, packages, before=before)


EDITED_IN_PLACE = ("usr/etc", DBPATH)  # private copies: read again whole at commit


def privatize_edited(rootfs: Path) -> None:
    """Private copies of what a transaction edits in place: /usr/etc (scriptlets append
    to passwd, triggers rewrite caches through /etc) and the rpmdb."""
    break_hardlinks(rootfs / "usr/etc")
    for path in (rootfs / DBPATH).iterdir():
        if path.is_file() and not path.is_symlink() and path.stat().st_nlink > 1:
            copy_up(path)


def checkout_package(
    repo: OSTree.Repo, pkg: CachedPackage, rootfs: Path, devino: OSTree.RepoDevInoCache
) -> None:
    """A cached package into a tree in its final layout: /etc lands in /usr/etc (the
    cache already moved /boot to /usr/lib/ostree-boot and /var to tmpfiles.d)."""
    ot.checkout_union(repo, pkg.commit, rootfs, devino)
    etc = rootfs / "etc"
    if etc.is_dir() and not etc.is_symlink():
        merge_into(etc, rootfs / "usr/etc")
        shutil.rmtree(etc)
        break_hardlinks(rootfs / "usr/etc")


def merge_into(src: Path, dest: Path) -> None:
    """Move src's entries into dest, files replacing files, directories merged."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(src):
        target = dest / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            merge_into(Path(entry.path), target)
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry.path, target)


def commit_derived(
    repo: OSTree.Repo,
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
    tx: Transaction,
    packages: Sequence[bytes],
    *,
    before: Snapshot,
) -> str:
    """Commit with the base as parent, its version, and the whole package list."""
    base_md = ot.commit_metadata(repo, tx.base)
    headers = [header_from_blob(b) for b in packages]
    pkglist = sorted(
        (h["name"], str(h["epoch"] or 0), h["version"], h["release"], h["arch"]) for h in headers
    )
    md = {
        CLIENTLAYER_KEY: GLib.Variant("b", True),
        PKGLIST_KEY: GLib.Variant("a(sssss)", pkglist),
        LAYERED_KEY: GLib.Variant("as", sorted(tx.layered)),
        INACTIVE_KEY: GLib.Variant("as", list(tx.inactive)),
    }
    if base_md.get("version"):
        md["version"] = GLib.Variant("s", str(base_md["version"]))
    subject = f"layered: {', '.join(sorted(tx.layered))}"
    sepolicy = ot.load_sepolicy(rootfs)
    if sepolicy is not None:  # a policy labels every file: commit them all
        return commit_rootfs(repo, rootfs, devino, subject=subject, parent=tx.base,
                             metadata=md, sepolicy=sepolicy)  # fmt: skip
    with ot.transaction(repo):
        mtree = commit_changes(repo, rootfs, tx.start, before, devino, always=EDITED_IN_PLACE)
        return ot.write_commit(repo, mtree, parent=tx.base, subject=subject, metadata=md)
