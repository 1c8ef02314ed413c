"""Checking packages out of the package cache into a root: a union hardlink checkout in
rpm-ostree's order, private copies of the files meant to be edited, and the packages'
file owners once the %pre scriptlets have created them."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import OSTree
from fedostree.engine.passwd import group_ids, read_group, read_passwd, user_ids
from fedostree.engine.pkgcache import CachedPackage, tree_path
from fedostree.engine.progress import Progress
from fedostree.engine.rootfs import check_symlinked_dirs, resolve_in_root
from fedostree.engine.rpmfile import file_links, header_from_blob

log = logging.getLogger(__name__)
FILESYSTEM = "filesystem"  # the package that lays out the top-level directories


def checkout_packages(
    repo: OSTree.Repo,
    packages: Sequence[CachedPackage],
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
) -> None:
    """Union-checkout every package in install order; later files replace earlier ones.
    `filesystem` goes first, as in rpm-ostree: its /lib64 -> usr/lib64 (and /bin, /lib,
    /sbin) symlinks must exist before a package with files under /lib64 (libgcc, glibc)
    would create a directory there, even if the install order puts that package first."""
    headers = {p.nevra: header_from_blob(p.header_blob) for p in packages}
    check_symlinked_dirs({nevra: file_links(hdr) for nevra, hdr in headers.items()})
    rootfs.mkdir(parents=True, exist_ok=True)
    ordered = sorted(packages, key=lambda p: headers[p.nevra]["name"] != FILESYSTEM)
    with Progress("Assembling", total=len(packages)) as bar:
        for pkg in ordered:
            ot.checkout_union(repo, pkg.commit, rootfs, devino)
            bar.advance()
    break_hardlinks(rootfs / "etc")


def break_hardlinks(top: Path) -> None:
    """Give each shared regular file under top a private copy, so it can be edited in place."""
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = Path(dirpath, name)
            st = path.lstat()
            if path.is_file() and not path.is_symlink() and st.st_nlink > 1:
                copy_up(path)


def copy_up(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.fedostree-tmp")
    shutil.copy2(path, tmp, follow_symlinks=False)
    os.replace(tmp, path)


def apply_ownership(
    rootfs: Path, packages: Sequence[CachedPackage], *, etc_in_usr: bool = False
) -> None:
    """Give files their non-root owners, now that %pre scriptlets have created the users.
    etc_in_usr: rootfs is in its final OSTree layout (/etc in usr/etc, system users
    also in /usr/lib/passwd and /usr/lib/group)."""
    if etc_in_usr:
        users = user_ids([*read_passwd(rootfs, "usr/etc/passwd"),
                          *read_passwd(rootfs, "usr/lib/passwd")])  # fmt: skip
        groups = group_ids([*read_group(rootfs, "usr/etc/group"),
                            *read_group(rootfs, "usr/lib/group")])  # fmt: skip
    else:
        users = user_ids(read_passwd(rootfs, "etc/passwd"))
        groups = group_ids(read_group(rootfs, "etc/group"))
    for pkg in packages:
        for path, user, group in pkg.nonroot:
            rel = tree_path(path, etc_in_usr=etc_in_usr)
            if rel is None:
                continue
            target = resolve_in_root(rootfs, rel, follow_last=False)
            if not os.path.lexists(target):  # left out of the checkout (engine/checkout_filter.py)
                continue
            uid, gid = users.get(user), groups.get(group)
            if uid is None or gid is None:
                log.warning(
                    "%s: %s: unknown user '%s' or group '%s'; left as root",
                    pkg.nevra,
                    path,
                    user,
                    group,
                )
                continue
            st = target.lstat()
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:  # symlinks are shared too
                copy_up(target)
            os.lchown(target, uid, gid)
            if not target.is_symlink():
                os.chmod(target, st.st_mode & 0o7777)  # chown clears setuid bits
