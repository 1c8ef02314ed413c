"""Committing a composed tree: version, package list and input hash in the metadata,
written into the build repository (compose/publish.py takes it from there)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.core import ostree as ot
from fedostree.core.depsolve import Package
from fedostree.core.ostree import GLib, OSTree
from fedostree.model.treefile import Treefile

INPUTHASH_KEY = "rpmostree.inputhash"
PKGLIST_KEY = "rpmostree.rpmdb.pkglist"


@dataclass(frozen=True)
class PreviousCommit:
    checksum: str
    version: str | None
    inputhash: str | None


def input_hash(tf: Treefile, packages: Sequence[Package], layers: Sequence[str] = ()) -> str:
    """sha256 over the flattened treefile, the resolved packages' digests and the
    commits of the treefile's ostree layers."""
    doc: dict[str, object] = {
        "treefile": tf.flattened(),
        "packages": sorted(f"{p.nevra} sha256:{p.sha256}" for p in packages),
    }
    if layers:
        doc["ostree-layers"] = list(layers)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def previous_commit(
    repo: OSTree.Repo, ref: str, *, local_only: bool = False
) -> PreviousCommit | None:
    checksum = ot.resolve_rev(repo, ref, local_only=local_only)
    if checksum is None:
        return None
    md = ot.commit_metadata(repo, checksum)
    return PreviousCommit(checksum, md.get("version"), md.get(INPUTHASH_KEY))


def next_version(prefix: str | None, last: str | None) -> str | None:
    """rpm-ostree's automatic-version-prefix: PREFIX, then PREFIX.1, PREFIX.2, ..."""
    if prefix is None:
        return None
    if last is None or not (last == prefix or last.startswith(prefix + ".")):
        return prefix
    tail = last[len(prefix) + 1 :]
    counter = int(tail.split(".")[0]) if tail.split(".")[0].isdigit() else 0
    return f"{prefix}.{counter + 1}"


def commit_metadata(
    packages: Sequence[Package], *, version: str | None, inputhash: str, kernel: str | None
) -> dict[str, GLib.Variant]:
    pkglist = [(p.name, str(p.epoch), p.version, p.release, p.arch) for p in packages]
    md = {
        INPUTHASH_KEY: GLib.Variant("s", inputhash),
        PKGLIST_KEY: GLib.Variant("a(sssss)", sorted(pkglist)),
        "ostree.bootable": GLib.Variant("b", kernel is not None),
    }
    if version:
        md["version"] = GLib.Variant("s", version)
    if kernel:
        md["ostree.linux"] = GLib.Variant("s", kernel)
    return md


def commit_rootfs(
    build_repo: OSTree.Repo,
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
    *,
    subject: str,
    parent: str | None,
    metadata: dict[str, GLib.Variant],
    sepolicy: OSTree.SePolicy | None = None,
    mode_filter: ot.ModeFilter | None = None,
) -> str:
    """Commit rootfs into the build repository; hardlinked files cost no rehashing.
    A policy labels every file; a mode filter decides the regular files' modes."""
    with ot.transaction(build_repo):
        mtree = ot.commit_directory(
            build_repo, rootfs, devino, sepolicy=sepolicy, mode_filter=mode_filter
        )
        return ot.write_commit(build_repo, mtree, parent=parent, subject=subject, metadata=metadata)
