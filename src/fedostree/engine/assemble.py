"""Assembling a tree from cached packages, in `rpm-ostree compose tree`'s order: the
packages, ostree layers, scriptlets and rpmdb in an install root, the treefile's
postprocessing there, the final layout, `postprocess_final`, the users and groups check.
The build server's compose runs it; each step is a function of its own here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import kernel as kn
from fedostree.engine import ostree as ot
from fedostree.engine import postprocess as pp
from fedostree.engine import rootfs_layout as layout
from fedostree.engine import selinux
from fedostree.engine.checkout import checkout_packages
from fedostree.engine.checkout_filter import CheckoutFilter, filter_checkout
from fedostree.engine.layers import Layer, checkout_layers
from fedostree.engine.ostree import OSTree
from fedostree.engine.passwd_check import check_passwd_and_groups
from fedostree.engine.passwd_tree import PreviousTree, migrate_passwd_and_group, preserve_passwd
from fedostree.engine.pkgcache import CachedPackage
from fedostree.engine.readonly import PackageExecutables
from fedostree.engine.rpmdb import write_rpmdb
from fedostree.engine.transaction import run_install
from fedostree.model.treefile import Treefile


@dataclass(frozen=True)
class AssembledTree:
    """A tree ready to commit: its kernel, and what the commit applies to its files."""

    kernel: str | None  # the version it boots
    sepolicy: OSTree.SePolicy | None  # labels every file
    mode_filter: ot.ModeFilter | None  # readonly-executables


def assemble_tree(
    tf: Treefile,
    repo: OSTree.Repo,
    cached: Sequence[CachedPackage],
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
    *,
    version: str | None = None,
    layers: Sequence[Layer] = (),
    previous: PreviousTree | None = None,
    cachedir: Path | None = None,
) -> AssembledTree:
    """Build the final tree in rootfs, in `rpm-ostree compose tree`'s order: install the
    packages into an install root beside it, run the treefile's postprocessing there,
    take the final layout from it, finish it (`postprocess_final`), check users and
    groups. previous: the ref's published commit (preserve-passwd, check-passwd);
    cachedir: where the generated initramfs is kept (None: beside rootfs, for this
    build only)."""
    install_root = rootfs.with_name(f"{rootfs.name}.install")
    executables = install_packages(tf, repo, cached, install_root, devino, layers, previous)
    pp.postprocess_treefile(install_root, tf, version)
    layout.prepare_rootfs(install_root, rootfs, tmp_is_dir=tf.effective_tmp_is_dir)
    if cachedir is None:
        cachedir = rootfs.with_name(f"{rootfs.name}.cache")
    kernel = postprocess_final(rootfs, tf, cachedir)
    check_passwd_and_groups(rootfs, check_passwd=tf.effective_check_passwd,
                            check_groups=tf.effective_check_groups, previous=previous,
                            ignore_removed_users=tf.ignore_removed_users,
                            ignore_removed_groups=tf.ignore_removed_groups)  # fmt: skip
    mode_filter = executables.committed_mode if executables is not None else None
    return AssembledTree(kernel, selinux.labeling_policy(rootfs, tf), mode_filter)


def install_packages(
    tf: Treefile,
    repo: OSTree.Repo,
    cached: Sequence[CachedPackage],
    root: Path,
    devino: OSTree.RepoDevInoCache,
    layers: Sequence[Layer],
    previous: PreviousTree | None = None,
) -> PackageExecutables | None:
    """rpm-ostree's assembly: the packages, the ostree layers over them, the scriptlets,
    the rpmdb. Returns the packages' executables when `readonly-executables` is set."""
    checkout_packages(repo, cached, root, devino)
    # documentation, install-langs, remove-from-packages (engine/checkout_filter.py)
    filter_checkout(root, [c.header_blob for c in cached], CheckoutFilter(
        tf.effective_documentation, tf.install_langs or (), tf.remove_from_packages))  # fmt: skip
    executables = PackageExecutables() if tf.readonly_executables else None
    if executables is not None:
        executables.record_checkout(root)
    checkout_layers(repo, layers, root, devino)
    # users and groups kept from the previous commit, ahead of the %pre scriptlets
    preserve_passwd(root, preserve=tf.effective_preserve_passwd, previous=previous,
                    check_passwd=tf.effective_check_passwd, check_groups=tf.effective_check_groups)  # fmt: skip
    # scriptlets and file triggers, as rpm runs a fresh transaction of every package
    run_install(root, cached, ignore=tf.ignore_scripts)
    if executables is not None:
        executables.record_owned_copies(root, cached)
    write_rpmdb(root, [c.header_blob for c in cached])
    return executables


def postprocess_final(rootfs: Path, tf: Treefile, cachedir: Path) -> str | None:
    """rpm-ostree's postprocess_final, on the final layout; returns the kernel version.
    The initramfs is generated into cachedir (engine/initramfs.py)."""
    layout.set_useradd_home(rootfs)
    selinux.adapt_subs_dist(rootfs, tf)
    # /usr/etc/passwd and group into /usr/lib (etc-group-members stay), nss-altfiles
    migrate_passwd_and_group(rootfs, tf.etc_group_members)
    layout.prepare_links(rootfs)
    layout.empty_var(rootfs)
    layout.clean_rpmdb(rootfs)
    selinux.remove_lock_files(rootfs)
    layout.write_integration_tmpfiles(rootfs)
    kernel = kn.process_kernel(rootfs, tf, cachedir)
    layout.hardlink_base_rpmdb(rootfs)
    return kernel
