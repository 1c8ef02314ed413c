"""`ostree-layers` and `ostree-override-layers`: commits of the published repository
checked out over the packages, before their scriptlets run (rpm-ostree's
process_ostree_layers in src/libpriv/rpmostree-core.cxx).

A layer's file that differs from a package's is an error; an override layer's replaces
it. The refs are resolved when the compose starts (a missing one is a configuration
error, before anything is downloaded), their commits are part of the input hash, and
their objects are copied into the build repository, where the tree is assembled."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import Gio, GLib, OSTree
from fedostree.engine.rootfs import resolve_in_root
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.treefile import Treefile


@dataclass(frozen=True)
class Layer:
    key: str  # where the treefile names it: ostree-layers[0]
    ref: str
    commit: str
    override: bool


def resolve_layers(tf: Treefile, repo_path: Path) -> list[Layer]:
    """Each layer's commit in the published repository (which this never creates)."""
    named = [(f"ostree-layers[{i}]", ref, False) for i, ref in enumerate(tf.ostree_layers)]
    named += [(f"ostree-override-layers[{i}]", ref, True)
              for i, ref in enumerate(tf.ostree_override_layers)]  # fmt: skip
    if not named:
        return []
    repo = ot.open_repo(repo_path) if (repo_path / "config").exists() else None
    layers = []
    for where, ref, override in named:
        try:
            commit = ot.resolve_rev(repo, ref) if repo is not None else None
        except FedostreeError:
            commit = None
        if commit is None:
            raise ConfigError(f"{tf.path}: {where}: '{ref}' is not a ref in {repo_path}")
        layers.append(Layer(where, ref, commit, override))
    return layers


def pull_layers(build_repo: OSTree.Repo, repo: OSTree.Repo, layers: Sequence[Layer]) -> None:
    if not layers:
        return
    try:
        ot.pull_local(build_repo, repo, [layer.commit for layer in layers])
    except GLib.Error as e:
        raise FedostreeError(
            f"copying the ostree layers into the build repository: {e.message}"
        ) from e


def checkout_layers(
    build_repo: OSTree.Repo,
    layers: Sequence[Layer],
    root: Path,
    devino: OSTree.RepoDevInoCache,
) -> None:
    """The layers, then the override layers, in the treefile's order."""
    for layer in sorted(layers, key=lambda la: la.override):
        try:
            ot.checkout_union(build_repo, layer.commit, root, devino,
                              identical_only=not layer.override)  # fmt: skip
        except FedostreeError as e:
            conflict = first_conflict(build_repo, layer.commit, root)
            if conflict is None:
                raise FedostreeError(f"{layer.key}: {layer.ref}: {e}") from e
            raise FedostreeError(
                f"{layer.key}: {layer.ref}: {conflict} differs from the packages' file "
                "(use ostree-override-layers to replace files)"
            ) from e


def first_conflict(repo: OSTree.Repo, commit: str, root: Path) -> str | None:
    """The first file of the layer that the tree has with other content or mode."""
    for path, info, file in ot.commit_files(repo, commit):
        here = resolve_in_root(root, path, follow_last=False)
        if not os.path.lexists(here):
            continue
        st = here.lstat()
        if info.get_file_type() == Gio.FileType.SYMBOLIC_LINK:
            same = here.is_symlink() and os.readlink(here) == info.get_symlink_target()
        else:
            same = (stat.S_ISREG(st.st_mode) and st.st_mode == info.get_attribute_uint32("unix::mode")
                    and here.read_bytes() == ot.read_bytes(file))  # fmt: skip
        if not same:
            return path
    return None
