"""Building a tree incrementally: the new tree derived from an earlier commit of the same
treefile (engine/build.py's `reuse`), at the cost of the packages that changed.

The earlier commit is checked out with hardlinks; the packages that left or changed are
erased (their %preun/%postun and the file triggers their removal sets off), the new ones
checked out and installed (their scriptlets and the file triggers their addition sets
off), the rpmdb written again whole and canonically (engine/rpmdb.py: it then equals a
cold build's), the final steps that depend on the package set or the version redone,
and only what changed committed (engine/tree_delta.py).

The result must be the tree a cold build of the same packages gives (clients verify
published commits by rebuilding them cold): whenever that is not assured, nothing is
reused and the caller builds cold, saying why at INFO level. What is assured: the same
treefile (its flattened form's hash, in the commit's metadata), the same engine format,
no ostree layers or readonly-executables, no change to the kernel,
the SELinux policy, the users and groups files or the root's layout, no file shared
between a changed and an unchanged package, and users and groups that the transaction
leaves as they were. Scriptlets are taken to be idempotent, as rpm's own upgrades take
them: a changed package's %post runs over what its predecessor's left; so are the
treefile's postprocess scripts, which run over the whole derived tree again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import posixpath
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import rpm

from fedostree.engine import ostree as ot
from fedostree.engine import postprocess as pp
from fedostree.engine import rootfs_layout as layout
from fedostree.engine import selinux
from fedostree.engine.checkout import FILESYSTEM, break_hardlinks, copy_up
from fedostree.engine.checkout_filter import CheckoutFilter, filter_checkout
from fedostree.engine.commit import commit_rootfs
from fedostree.engine.derive import installed_headers, merge_into
from fedostree.engine.kernel import refresh_initramfs, set_machine_id
from fedostree.engine.ostree import GLib, OSTree
from fedostree.engine.passwd_check import check_passwd_and_groups
from fedostree.engine.passwd_tree import (
    PreviousTree,
    add_nsswitch_altfiles,
    normalize_shadow,
    remove_passwd_backups,
)
from fedostree.engine.pkgcache import CachedPackage, tree_path
from fedostree.engine.rootfs import resolve_in_root
from fedostree.engine.rpmdb import DBPATH, write_rpmdb
from fedostree.engine.rpmfile import header_from_blob
from fedostree.engine.transaction import run_erase, run_install
from fedostree.engine.tree_delta import commit_changes, snapshot
from fedostree.errors import FedostreeError
from fedostree.model.treefile import Treefile

if TYPE_CHECKING:
    from fedostree.engine.build import BuildRequest

log = logging.getLogger(__name__)

FORMAT = 2  # bump whenever a cold build of the same inputs would give another tree
FORMAT_KEY = "fedostree.engine-format"
TREEFILE_HASH_KEY = "fedostree.treefile-hash"
KERNEL_KEY = "ostree.linux"

# Paths whose packages, changed, make the tree's final steps depend on more than the
# changed packages (the kernel and its modules index, the policy, the users, the layout).
SENSITIVE_PREFIXES = (
    ("/boot/", "the kernel"),
    ("/usr/lib/modules/", "the kernel"),
    ("/usr/lib/ostree-boot/", "the kernel"),
    ("/usr/sbin/depmod", "the kernel"),
    ("/etc/machine-id", "the machine id"),
    ("/etc/selinux/", "the SELinux policy"),
    ("/etc/passwd", "the users"),
    ("/etc/group", "the groups"),
    ("/etc/shadow", "the users"),
    ("/etc/gshadow", "the groups"),
    ("/usr/lib/passwd", "the users"),
    ("/usr/lib/group", "the groups"),
    ("/etc/ostree/prepare-root.conf", "the root's layout"),
    ("/usr/lib/ostree/prepare-root.conf", "the root's layout"),
)
# Top-level directories a package's files may have for the final layout to take them
# as the cold build does (/opt is cached as /usr/lib/opt, /var and /run as tmpfiles.d).
TOPLEVEL = frozenset({"usr", "etc", "var", "run", "opt", "bin", "sbin", "lib", "lib64", "lib32"})
USERS_FILES = ("usr/etc/passwd", "usr/etc/group")
USERS_DESTS = frozenset({"etc/passwd", "etc/group", "usr/etc/passwd", "usr/etc/group"})
ALWAYS_READ = ("usr/etc", DBPATH, layout.BASE_RPMDB)


# --- what the commit records ----------------------------------------------------------


def treefile_hash(tf: Treefile) -> str:
    """sha256 over the flattened treefile alone (external files by digest)."""
    return hashlib.sha256(json.dumps(tf.flattened(), sort_keys=True).encode()).hexdigest()


def reuse_metadata(tf: Treefile) -> dict[str, GLib.Variant]:
    """What a later build needs to know to derive its tree from this commit."""
    return {
        FORMAT_KEY: GLib.Variant("u", FORMAT),
        TREEFILE_HASH_KEY: GLib.Variant("s", treefile_hash(tf)),
    }


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """How the new package set differs from the reused commit's."""

    start: str  # the reused commit
    kept: Sequence[bytes]  # rpmdb headers of the unchanged packages, in the new order
    erase: Sequence[bytes]  # rpmdb headers of the packages that left or changed
    erase_order: Sequence[str]  # the old rpmdb's NEVRAs, in its order
    install: Sequence[CachedPackage]  # the new and changed packages, in the new order
    kernel: str | None


class NotIncremental(Exception):
    """Equivalence with a cold build is not assured: the reason, for the log."""


def plan_change(repo: OSTree.Repo, req: BuildRequest, previous_repo: OSTree.Repo) -> Change | None:
    """The change from req.reuse to req's packages, or None (logged at INFO) when the
    tree is to be built cold."""
    assert req.reuse is not None
    try:
        return _plan_change(repo, req, req.reuse, previous_repo)
    except NotIncremental as e:
        log.info("%s: building cold, not from %s: %s", req.tf.ref, req.reuse[:12], e)
        return None


def _plan_change(
    repo: OSTree.Repo, req: BuildRequest, start: str, previous_repo: OSTree.Repo
) -> Change:
    md = read_reusable_metadata(repo, start)
    check_treefile(req.tf, md)
    if req.layers:
        raise NotIncremental("the treefile has ostree layers")
    old = installed_headers(repo, start)
    new_ids = {package_id(c.header_blob): c for c in req.cached}
    old_ids = {package_id(b): b for b in old}
    kept = [old_ids[i] for i in (package_id(c.header_blob) for c in req.cached) if i in old_ids]
    erase = [b for i, b in old_ids.items() if i not in new_ids]
    install = [c for i, c in new_ids.items() if i not in old_ids]
    check_changed_files(kept, [*erase, *(c.header_blob for c in install)])
    check_users_start(repo, start, req, previous_repo)
    order = [str(header_from_blob(b)["nevra"]) for b in old]
    kernel = md.get(KERNEL_KEY)
    return Change(start, kept, erase, order, install, str(kernel) if kernel else None)


def describe_change(change: Change) -> str:
    """What a derived build changes: `COMMIT: N packages erased, M installed`."""
    erased = len(change.erase)
    return (f"{change.start[:12]}: {erased} package{'' if erased == 1 else 's'} erased, "
            f"{len(change.install)} installed")  # fmt: skip


def read_reusable_metadata(repo: OSTree.Repo, start: str) -> dict[str, object]:
    try:
        md = ot.commit_metadata(repo, start)
    except GLib.Error as e:
        raise NotIncremental("the commit is not in the build repository") from e
    if md.get(FORMAT_KEY) != FORMAT:
        raise NotIncremental(
            f"built by another engine format ({md.get(FORMAT_KEY)}, this is {FORMAT})"
        )
    return md


def check_treefile(tf: Treefile, md: dict[str, object]) -> None:
    if md.get(TREEFILE_HASH_KEY) != treefile_hash(tf):
        raise NotIncremental("the treefile changed")
    if tf.readonly_executables:
        raise NotIncremental("the treefile sets readonly-executables")


def package_id(blob: bytes) -> tuple[str, str]:
    """A package's identity: its NEVRA and its header's digest (an rpmdb keeps both)."""
    hdr = header_from_blob(blob)
    digest = hdr[rpm.RPMTAG_SHA256HEADER] or hdr[rpm.RPMTAG_SHA1HEADER] or ""
    return str(hdr["nevra"]), str(digest)


def file_entries(blob: bytes) -> list[tuple[str, bool]]:
    """The package's (path, is a directory)."""
    hdr = header_from_blob(blob)
    names: list[str] = hdr[rpm.RPMTAG_FILENAMES] or []
    modes: list[int] = hdr[rpm.RPMTAG_FILEMODES] or [0] * len(names)
    return [(n, stat.S_ISDIR(m & 0xFFFF)) for n, m in zip(names, modes, strict=True)]


def check_changed_files(kept: Sequence[bytes], changed: Sequence[bytes]) -> None:
    """The changed packages' files must leave the kernel, policy, users and layout alone,
    lie where the final layout takes them, and not be shared with an unchanged package
    (which of the two a cold build's checkout lets win depends on the whole order)."""
    changed_files = {path for b in changed for path, is_dir in file_entries(b) if not is_dir}
    changed_paths = changed_files | {p for b in changed for p, _ in file_entries(b)}
    for path in sorted(changed_paths):
        for prefix, what in SENSITIVE_PREFIXES:
            if path == prefix.rstrip("/") or path.startswith(prefix):
                raise NotIncremental(f"{what} changed ({path})")
        top = path.lstrip("/").split("/")[0]
        if top and top not in TOPLEVEL:
            raise NotIncremental(f"a changed package has files in /{top}")
    kept_files = {path for b in kept for path, is_dir in file_entries(b) if not is_dir}
    shared = sorted(changed_files & kept_files)
    if shared:
        raise NotIncremental(f"{shared[0]} is shared by a changed and an unchanged package")


def check_users_start(
    repo: OSTree.Repo, start: str, req: BuildRequest, previous_repo: OSTree.Repo
) -> None:
    """With preserve-passwd a cold build starts from the previous commit's users and
    groups: the reused commit must have started from the same ones."""
    if not req.tf.effective_preserve_passwd:
        return
    start_parent = ot.commit_parent(repo, start)
    if req.parent in (start, start_parent):
        return
    if req.parent is None:
        raise NotIncremental("no previous commit to keep users and groups from")
    for rel in (*USERS_FILES, "usr/lib/passwd", "usr/lib/group"):
        if ot.read_commit_file(repo, start, rel) != ot.read_commit_file(
            previous_repo, req.parent, rel
        ):
            raise NotIncremental(f"/{rel} differs from the previous commit's")


# --- the assembly -------------------------------------------------------------------------


@dataclass(frozen=True)
class DerivedTree:
    """The tree in rootfs, committed by commit_derived."""

    change: Change
    rootfs: Path
    devino: OSTree.RepoDevInoCache
    before: dict[str, str]
    sepolicy: OSTree.SePolicy | None


def derive_build(
    repo: OSTree.Repo,
    req: BuildRequest,
    change: Change,
    rootfs: Path,
    previous: PreviousTree | None,
    cachedir: Path,
) -> DerivedTree | None:
    """Check out change.start into rootfs and turn it into req's tree; None (logged, and
    rootfs removed) when the transaction turns out to make it differ from a cold build.
    cachedir: where the initramfs is generated into (engine/initramfs.py)."""
    tf = req.tf
    log.info("%s: deriving from %s", tf.ref, describe_change(change))
    devino = OSTree.RepoDevInoCache.new()
    try:
        ot.checkout_union(repo, change.start, rootfs, devino)
        break_hardlinks(rootfs / "usr/etc")
        before = snapshot(rootfs)
        run_transaction(repo, tf, change, rootfs, devino)
    except (NotIncremental, FedostreeError) as e:
        # a scriptlet of an erased package failing, say: the cold build does not run it
        log.info("%s: building cold after all: %s", tf.ref, e)
        shutil.rmtree(rootfs, ignore_errors=True)
        return None
    rewrite_rpmdb(rootfs, [c.header_blob for c in req.cached])
    redo_final_steps(repo, rootfs, tf, req.version, req.cached)
    refresh_initramfs(rootfs, tf, change.kernel, cachedir)
    check_passwd_and_groups(rootfs, check_passwd=tf.effective_check_passwd,
                            check_groups=tf.effective_check_groups, previous=previous,
                            ignore_removed_users=tf.ignore_removed_users,
                            ignore_removed_groups=tf.ignore_removed_groups)  # fmt: skip
    return DerivedTree(change, rootfs, devino, before, selinux.labeling_policy(rootfs, tf))


def run_transaction(
    repo: OSTree.Repo,
    tf: Treefile,
    change: Change,
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
) -> None:
    """Erase, check out, install; the users and groups must come out as they went in."""
    saved = expose_users(rootfs)
    if change.erase:
        run_erase(rootfs, list(reversed(change.erase)), remaining=change.kept,
                  ignore=tf.ignore_scripts, etc_in_usr=True,
                  rpmdb_order=change.erase_order)  # fmt: skip
    if change.install:
        checkout_new(repo, tf, change, rootfs, devino)
        run_install(rootfs, change.install, installed=change.kept, ignore=tf.ignore_scripts,
                    etc_in_usr=True)  # fmt: skip
    restore_users(rootfs, saved)


def checkout_new(
    repo: OSTree.Repo,
    tf: Treefile,
    change: Change,
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
) -> None:
    """The new packages over the tree (`filesystem` first, as in a cold build), their
    /etc in the package cache's place until the treefile's checkout filter has run,
    then in /usr/etc."""
    first = sorted(change.install, key=lambda c: header_from_blob(c.header_blob)["name"]
                   != FILESYSTEM)  # fmt: skip
    for pkg in first:
        ot.checkout_union(repo, pkg.commit, rootfs, devino)
    rules = CheckoutFilter(tf.effective_documentation, tf.install_langs or (),
                           tf.remove_from_packages)  # fmt: skip
    if rules.active:
        filter_checkout(rootfs, [*change.kept, *(c.header_blob for c in change.install)], rules)
    etc = rootfs / "etc"
    if etc.is_dir() and not etc.is_symlink():
        merge_into(etc, rootfs / "usr/etc")
        shutil.rmtree(etc)
        break_hardlinks(rootfs / "usr/etc")


def expose_users(rootfs: Path) -> dict[str, bytes]:
    """Scriptlets look users up in /etc/passwd and /etc/group: for the transaction those
    hold every user and group again (the final layout keeps all but root's in /usr/lib).
    Returns the files as they were, for restore_users."""
    saved = {}
    for rel in USERS_FILES:
        path = rootfs / rel
        if path.is_file() and not path.is_symlink():
            saved[rel] = path.read_bytes()
            lib = rootfs / "usr/lib" / path.name
            extra = lib.read_bytes() if lib.is_file() else b""
            merged = _joined(saved[rel], extra)
            saved[f"{rel}.merged"] = merged
            _replace(path, merged)
    return saved


def restore_users(rootfs: Path, saved: dict[str, bytes]) -> None:
    """The users and groups files as they were, if the transaction left them so."""
    for rel in USERS_FILES:
        if rel not in saved:
            continue
        path = rootfs / rel
        if not path.is_file() or path.read_bytes() != saved[f"{rel}.merged"]:
            raise NotIncremental(f"the transaction changed /{rel}")
        _replace(path, saved[rel])


def _joined(a: bytes, b: bytes) -> bytes:
    if a and not a.endswith(b"\n"):
        a += b"\n"
    return a + b


def _replace(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777
    tmp = path.with_name(f".{path.name}.fedostree-tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def rewrite_rpmdb(rootfs: Path, header_blobs: Sequence[bytes]) -> None:
    """The rpmdb written anew from every package, as a cold build writes it; its
    hardlinked copy (rpm-ostree-base-db) emptied for hardlink_base_rpmdb."""
    for rel in (DBPATH, layout.BASE_RPMDB):
        top = rootfs / rel
        if top.is_dir() and not top.is_symlink():
            for entry in top.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    write_rpmdb(rootfs, header_blobs)


def redo_final_steps(
    repo: OSTree.Repo,
    rootfs: Path,
    tf: Treefile,
    version: str | None,
    cached: Sequence[CachedPackage],
) -> None:
    """The treefile's postprocessing and `postprocess_final`, on the final layout, less
    what the reused commit already holds and the transaction cannot have undone: the
    policy's path substitutions, the users' migration to /usr/lib, the kernel (the
    checks in plan_change see to it; its initramfs is refresh_initramfs's)."""
    pp.link_rpmdb(rootfs)
    pp.enable_units(rootfs, tf)
    pp.set_default_target(rootfs, tf)
    with pp.temporary_etc(rootfs):
        if tf.mutate_os_release is not None and version:
            restore_os_release(repo, rootfs, cached)
        pp.mutate_os_release(rootfs, tf, version)
        pp.remove_files(rootfs, tf)
        add_files_but_users(rootfs, tf)
    # the postprocess scripts over the whole tree again, as on a cold build after the
    # packages: taken to be idempotent, as scriptlets are (the transaction's changes are
    # what they have not seen yet); what they wrote last time is theirs to rewrite
    if tf.postprocess or tf.postprocess_script is not None:
        privatize_unowned(rootfs, [c.header_blob for c in cached])
        pp.run_scripts(rootfs, tf)
    layout.set_useradd_home(rootfs)
    remove_passwd_backups(rootfs)
    normalize_shadow(rootfs)
    add_nsswitch_altfiles(rootfs)
    layout.prepare_links(rootfs)
    layout.empty_var(rootfs)
    layout.clean_rpmdb(rootfs)
    selinux.remove_lock_files(rootfs)
    layout.write_integration_tmpfiles(rootfs)
    set_machine_id(rootfs, compat=tf.effective_machineid_compat)
    layout.hardlink_base_rpmdb(rootfs)


def privatize_unowned(rootfs: Path, header_blobs: Sequence[bytes]) -> None:
    """Private copies of the regular files no package owns (what scriptlets and
    postprocessing wrote): the checkout hardlinks them into the repository, where a
    script's in-place rewrite would be refused."""
    owned = {rel for blob in header_blobs for rel in owned_paths(rootfs, blob)}
    for top, _dirs, files in os.walk(rootfs):
        for name in files:
            path = Path(top, name)
            st = path.lstat()
            unowned = path.relative_to(rootfs).as_posix() not in owned
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and unowned:
                copy_up(path)


def owned_paths(rootfs: Path, blob: bytes) -> list[str]:
    """The package's files where they are in the final layout (/etc in usr/etc, /lib64
    through its symlink into usr)."""
    out = []
    for name, _is_dir in file_entries(blob):
        rel = tree_path(name, etc_in_usr=True)
        if rel is None:
            continue
        first, _, rest = rel.partition("/")
        link = rootfs / first
        if rest and link.is_symlink():
            rel = posixpath.normpath(f"{os.readlink(link)}/{rest}")
        out.append(rel)
    return out


def add_files_but_users(rootfs: Path, tf: Treefile) -> None:
    """`add-files` again; a passwd or group file is already in (migrated to /usr/lib)."""
    keep = tuple(e for e in tf.add_files if e.dest.strip("/") not in USERS_DESTS)
    pp.add_files(rootfs, dataclasses.replace(tf, add_files=keep))


def restore_os_release(repo: OSTree.Repo, rootfs: Path, cached: Sequence[CachedPackage]) -> None:
    """The os-release that mutate-os-release edits, as its package has it (the reused
    commit's names the earlier version). Inside temporary_etc."""
    target = resolve_in_root(rootfs, "etc/os-release")
    rel = target.relative_to(rootfs).as_posix()
    for pkg in cached:
        names = header_from_blob(pkg.header_blob)[rpm.RPMTAG_FILENAMES] or []
        if f"/{rel}" in names:
            data = ot.read_commit_file(repo, pkg.commit, rel)
            if data is None:
                break
            _replace(target, data)
            return
    raise FedostreeError(f"mutate-os-release: no package has /{rel} to start from")


# --- the commit ---------------------------------------------------------------------------


def commit_derived(
    repo: OSTree.Repo,
    tree: DerivedTree,
    *,
    subject: str,
    parent: str | None,
    metadata: dict[str, GLib.Variant],
) -> str:
    """Commit what changed since the checkout; a policy labels every file, so with one
    the whole tree is committed."""
    if tree.sepolicy is not None:
        return commit_rootfs(repo, tree.rootfs, tree.devino, subject=subject, parent=parent,
                             metadata=metadata, sepolicy=tree.sepolicy)  # fmt: skip
    with ot.transaction(repo):
        mtree = commit_changes(repo, tree.rootfs, tree.change.start, tree.before, tree.devino,
                               always=ALWAYS_READ)  # fmt: skip
        return ot.write_commit(repo, mtree, parent=parent, subject=subject, metadata=metadata)
