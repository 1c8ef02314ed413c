"""`compose verify`: rebuild a published commit from the inputs it records (its treefile,
repositories, lockfile and source date epoch, model/recorded.py) and compare the rebuilt
tree with it. The packages are exactly the recorded lockfile's (strict, by digest); the
build goes into the cache's build repository with the commit's version and parent; the
published repository is only read (no ref moves)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import commit as cm
from fedostree.engine import ostree as ot
from fedostree.engine.build import (
    BuildRequest,
    build_tree,
    check_buildable,
    read_recorded_inputs,
)
from fedostree.engine.depsolve import Package
from fedostree.engine.layers import Layer, pull_layers
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import ensure_cached
from fedostree.engine.treediff import (
    TreeDifference,
    compare_trees,
    package_owners,
    with_owners,
)
from fedostree.engine.treefile_repos import repo_configs
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.recorded import RecordedInputs, load_recorded_treefile
from fedostree.model.treefile import Treefile
from fedostree.server.pipeline import ComposeOptions, Session, resolve_packages


@dataclass(frozen=True)
class VerifyResult:
    ref: str
    commit: str  # the published commit
    rebuilt: str  # the rebuild, in the cache's build repository
    tree: tuple[str, str]  # the published root dirtree and dirmeta
    rebuilt_tree: tuple[str, str]
    differences: tuple[TreeDifference, ...] = ()  # published (a) against rebuilt (b)
    warnings: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.tree == self.rebuilt_tree


def verify_commit(repo_path: Path, rev: str, cachedir: Path) -> VerifyResult:
    """Rebuild rev (a ref or commit of the repository at repo_path) from its recorded
    inputs and compare; raise ConfigError when it records none."""
    if not (repo_path / "config").exists():
        raise ConfigError(f"{repo_path}: no OSTree repository")
    out = ot.open_repo(repo_path)
    commit = ot.resolve_rev(out, rev)
    if commit is None:
        raise ConfigError(f"{repo_path}: no ref or commit '{rev}'")
    md = ot.commit_metadata(out, commit)
    inputs = read_recorded_inputs(out, commit, f"{rev} ({commit[:12]})")
    warnings: list[str] = []
    session = Session(
        ComposeOptions(repo_path, cachedir, lockfile=inputs.lockfile, lockfile_strict=True),
        _out_repo=out,
    )
    with tempfile.TemporaryDirectory(prefix="fedostree-verify-") as tmp:
        tf = load_recorded_treefile(inputs, Path(tmp) / "treefile")
        check_buildable(tf)
        packages = resolve_packages(tf, session)
        check_resolution(packages, inputs, rev)
        layers = recorded_layers(tf, inputs, out)
        inputhash = cm.input_hash(tf, packages, [layer.commit for layer in layers])
        if md.get(cm.INPUTHASH_KEY) not in (None, inputhash):
            warnings.append(f"{rev}: the recorded inputs give input hash {inputhash[:12]}, "
                            f"the commit says {md[cm.INPUTHASH_KEY][:12]}")  # fmt: skip
        parent = _parent(out, commit, rev, warnings)
        cached = ensure_cached(session.build_repo, packages, cachedir)
        pull_layers(session.build_repo, out, layers)
        request = BuildRequest(tf, packages, cached, inputhash, md.get("version"), parent,
                               layers, repo_configs(tf, with_lockfile_repos=True),
                               inputs.lockfile, inputs.source_date_epoch)  # fmt: skip
        build = build_tree(session.build_repo, request, cachedir, previous_repo=out)
    build.discard().join()
    return compared(rev, out, commit, session.build_repo, build.commit, tuple(warnings))


def compared(
    ref: str,
    published: OSTree.Repo,
    commit: str,
    build_repo: OSTree.Repo,
    rebuilt: str,
    warnings: tuple[str, ...] = (),
) -> VerifyResult:
    """The published commit against its rebuild: their root checksums and, when those
    differ, every differing path with the package owning it in the rebuild's rpmdb."""
    tree, rebuilt_tree = (
        ot.root_checksums(published, commit),
        ot.root_checksums(build_repo, rebuilt),
    )
    differences: list[TreeDifference] = []
    if tree != rebuilt_tree:
        differences = with_owners(
            compare_trees(published, commit, build_repo, rebuilt),
            package_owners(build_repo, rebuilt),
        )
    return VerifyResult(ref, commit, rebuilt, tree, rebuilt_tree, tuple(differences), warnings)


def check_resolution(packages: Sequence[Package], inputs: RecordedInputs, rev: str) -> None:
    """The recorded lockfile resolves to exactly its own packages."""
    locked = {p.nevra for p in inputs.lockfile.packages.values()}
    resolved = {p.nevra for p in packages}
    extra, missing = sorted(resolved - locked), sorted(locked - resolved)
    if extra or missing:
        what = (
            f"installs {extra[0]}, which it does not lock" if extra else f"leaves out {missing[0]}"
        )
        raise FedostreeError(f"{rev}: the recorded treefile with its lockfile {what}")


def recorded_layers(tf: Treefile, inputs: RecordedInputs, repo: OSTree.Repo) -> list[Layer]:
    """The treefile's ostree layers at the commits the build used."""
    named = [(f"ostree-layers[{i}]", ref, False) for i, ref in enumerate(tf.ostree_layers)]
    named += [(f"ostree-override-layers[{i}]", ref, True)
              for i, ref in enumerate(tf.ostree_override_layers)]  # fmt: skip
    layers = []
    for where, ref, override in named:
        commit = inputs.layers.get(ref)
        if commit is None or not _has(repo, commit):
            raise FedostreeError(f"{where}: '{ref}' at {str(commit)[:12]}: not in the repository")
        layers.append(Layer(where, ref, commit, override))
    return layers


def _has(repo: OSTree.Repo, commit: str) -> bool:
    try:
        repo.load_commit(commit)
    except ot.GLib.Error:
        return False
    return True


def _parent(repo: OSTree.Repo, commit: str, rev: str, warnings: list[str]) -> str | None:
    """The commit's parent (users and groups are kept from it); a parent the repository
    no longer has is left out, with a warning."""
    _, variant, _ = repo.load_commit(commit)
    named = OSTree.commit_get_parent(variant)
    if named is None:
        return None
    if not _has(repo, named):
        warnings.append(
            f"{rev}: its parent {named[:12]} is not in the repository; rebuilt without it"
        )
        return None
    return str(named)
