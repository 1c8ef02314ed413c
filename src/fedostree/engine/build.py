"""Building a tree from resolved, cached packages into a commit: the part of `compose
tree` that the build server and the client's local assembly share. Assemble in a work
directory (engine/assemble.py), commit with the compose metadata, and hand back the
assembled tree (the server tests it) with a way to discard it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fedostree.engine import commit as cm
from fedostree.engine import incremental as inc
from fedostree.engine import kernel as kn
from fedostree.engine import ostree as ot
from fedostree.engine import postprocess as pp
from fedostree.engine.assemble import assemble_tree
from fedostree.engine.depsolve import Package
from fedostree.engine.layers import Layer
from fedostree.engine.ostree import GLib, OSTree
from fedostree.engine.passwd_tree import PreviousTree, check_passwd_config, previous_tree
from fedostree.engine.pinning import lockfile_for
from fedostree.engine.pkgcache import CachedPackage
from fedostree.engine.repofile import RepoConfig, repo_sections
from fedostree.engine.reproducible import reproducible_build, source_date_epoch
from fedostree.engine.treefs import remove_in_background
from fedostree.engine.workdirs import make_work_dir, release
from fedostree.model.lockfile import Lockfile
from fedostree.model.recorded import EPOCH_KEY, RecordedInputs, recorded_treefile
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import validate_for_compose

WORK_PREFIX = "compose-"  # CACHEDIR/compose-XXXX: one build's work directory


@dataclass(frozen=True)
class BuildRequest:
    """What one tree is built from."""

    tf: Treefile
    packages: Sequence[Package]  # the resolution, in the resolver's order
    cached: Sequence[CachedPackage]  # the same packages, imported into the build repo
    inputhash: str
    version: str | None = None
    parent: str | None = None  # the previous commit of the ref (parent, preserve-passwd)
    layers: Sequence[Layer] = field(default_factory=tuple)
    # recorded in the commit (model/recorded.py), so that it can be rebuilt from it:
    repos: Sequence[RepoConfig] = ()  # the repositories the packages were resolved from
    lockfile: Lockfile | None = None  # the resolution; None: made from packages
    source_date_epoch: int | None = None  # None: SOURCE_DATE_EPOCH or the newest build time
    # an earlier commit of this treefile in the same repository, built by build_tree:
    # the tree is derived from it when that gives what a cold build would (incremental.py)
    reuse: str | None = None


@dataclass(frozen=True)
class Build:
    """A committed tree, its assembled root still on disk."""

    commit: str
    rootfs: Path
    work: Path
    derived: str | None = None  # how it was derived from req.reuse; None: built cold

    def discard(self) -> threading.Thread:
        """Remove the work directory in the background (tens of thousands of entries)."""
        remover = remove_in_background(self.work)
        release(self.work)
        return remover


def check_buildable(tf: Treefile) -> None:
    """What the treefile gets wrong, refused before any work."""
    validate_for_compose(tf)
    pp.check_postprocess_keys(tf)
    kn.check_boot_location(tf)
    check_passwd_config(tf.effective_preserve_passwd, tf.effective_check_passwd,
                        tf.effective_check_groups, str(tf.path))  # fmt: skip


def build_tree(
    repo: OSTree.Repo,
    req: BuildRequest,
    workdir: Path,
    *,
    previous_repo: OSTree.Repo,
    cachedir: Path | None = None,
) -> Build:
    """Assemble req's packages in a new directory under workdir and commit the tree into
    repo; previous_repo holds req.parent (users and groups are kept from it); cachedir
    keeps the generated initramfs images (engine/initramfs.py; None: workdir). With
    req.reuse, the tree is derived from that commit when it safely can be. The tree is
    reproducible: built at the source date epoch (the rpmdb's times, SOURCE_DATE_EPOCH in
    the scriptlets' environment), which the commit records with the other inputs, and
    with umask 022 whatever the caller's."""
    epoch = req.source_date_epoch
    if epoch is None:
        epoch = source_date_epoch([c.header_blob for c in req.cached])
    cache = workdir if cachedir is None else cachedir
    work = make_work_dir(workdir, WORK_PREFIX)
    try:
        rootfs = work / "rootfs"
        with reproducible_build(epoch):
            previous = previous_tree(previous_repo, req.parent)
            derived = build_incrementally(repo, req, rootfs, previous, previous_repo, epoch, cache)
            if derived is not None:
                commit, how = derived
            else:
                commit, how = build_cold(repo, req, rootfs, previous, epoch, cache), None
    except BaseException:
        remove_in_background(work).join()
        release(work)
        raise
    return Build(commit, rootfs, work, how)


def build_cold(
    repo: OSTree.Repo,
    req: BuildRequest,
    rootfs: Path,
    previous: PreviousTree | None,
    epoch: int,
    cachedir: Path,
) -> str:
    """Every package assembled afresh (engine/assemble.py), the whole tree committed."""
    devino = OSTree.RepoDevInoCache.new()
    tf = req.tf
    tree = assemble_tree(tf, repo, req.cached, rootfs, devino, version=req.version,
                         layers=req.layers, previous=previous, cachedir=cachedir)  # fmt: skip
    return cm.commit_rootfs(
        repo,
        rootfs,
        devino,
        subject=subject_of(tf, req.version),
        parent=req.parent,
        metadata=metadata_of(req, tree.kernel, epoch),
        sepolicy=tree.sepolicy,
        mode_filter=tree.mode_filter,
    )


def build_incrementally(
    repo: OSTree.Repo,
    req: BuildRequest,
    rootfs: Path,
    previous: PreviousTree | None,
    previous_repo: OSTree.Repo,
    epoch: int,
    cachedir: Path,
) -> tuple[str, str] | None:
    """The tree derived from req.reuse (engine/incremental.py) and how; None: build it
    cold."""
    if req.reuse is None:
        return None
    change = inc.plan_change(repo, req, previous_repo)
    if change is None:
        return None
    tree = inc.derive_build(repo, req, change, rootfs, previous, cachedir)
    if tree is None:
        return None
    commit = inc.commit_derived(repo, tree, subject=subject_of(req.tf, req.version),
                                parent=req.parent,
                                metadata=metadata_of(req, change.kernel, epoch))  # fmt: skip
    return commit, inc.describe_change(change)


def metadata_of(req: BuildRequest, kernel: str | None, epoch: int) -> dict[str, GLib.Variant]:
    """The compose metadata, the inputs recorded for a rebuild, what a reuse checks."""
    md = cm.commit_metadata(
        req.tf, req.packages, version=req.version, inputhash=req.inputhash, kernel=kernel
    )
    md.update(recorded_metadata(record_inputs(req, epoch)))
    md.update(inc.reuse_metadata(req.tf))
    return md


def record_inputs(req: BuildRequest, epoch: int) -> RecordedInputs:
    """What req builds from, as the commit records it."""
    form, files = recorded_treefile(req.tf)
    lock = req.lockfile if req.lockfile is not None else lockfile_for(req.packages, ())
    layers = {layer.ref: layer.commit for layer in req.layers}
    return RecordedInputs(form, files, repo_sections(req.repos), lock, epoch, layers)


def recorded_metadata(inputs: RecordedInputs) -> dict[str, GLib.Variant]:
    """The entries as variants; the epoch a big-endian uint64, as libostree keeps numbers
    in commits (`ostree show --print-metadata-key` prints it right)."""
    return {
        key: GLib.Variant("t", _big_endian(int(value))) if key == EPOCH_KEY
        else GLib.Variant("s", str(value))
        for key, value in inputs.to_metadata().items()
    }  # fmt: skip


def read_recorded_inputs(repo: OSTree.Repo, commit: str, where: str) -> RecordedInputs:
    """What the commit records of its inputs; ConfigError when it records none."""
    md = ot.commit_metadata(repo, commit)
    if isinstance(md.get(EPOCH_KEY), int):
        md[EPOCH_KEY] = _big_endian(md[EPOCH_KEY])
    return RecordedInputs.from_commit_metadata(md, where)


def _big_endian(value: int) -> int:
    """A uint64 between the host's byte order and big-endian (either way)."""
    return int.from_bytes(value.to_bytes(8, sys.byteorder), "big")


def subject_of(tf: Treefile, version: str | None) -> str:
    return f"{tf.ref}: {version}" if version else tf.ref
