"""Rebuilding a commit from the inputs it records (model/recorded.py) and comparing the
rebuild with it: the parts `compose verify` (server/verify.py) and a client's
`rebase --local --verify` share. The caller resolves the recorded treefile with the
recorded lockfile, strictly, from the recorded repositories, and caches the packages;
`rebuild_request` makes the build request, `compare_rebuild` the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fedostree.engine import commit as cm
from fedostree.engine import ostree as ot
from fedostree.engine.build import BuildRequest
from fedostree.engine.depsolve import Package
from fedostree.engine.layers import Layer
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import CachedPackage
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.treediff import TreeDifference, compare_trees, package_owners, with_owners
from fedostree.errors import FedostreeError
from fedostree.model.recorded import RecordedInputs
from fedostree.model.treefile import Treefile


@dataclass(frozen=True)
class Verification:
    """A commit against its rebuild."""

    ref: str
    commit: str  # the commit verified
    rebuilt: str  # its rebuild
    tree: tuple[str, str]  # the commit's root dirtree and dirmeta
    rebuilt_tree: tuple[str, str]
    differences: tuple[TreeDifference, ...] = ()  # the commit (a) against the rebuild (b)
    warnings: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.tree == self.rebuilt_tree


@dataclass
class Rebuild:
    """What rebuilding one commit takes, gathered before the build."""

    ref: str
    repo: OSTree.Repo  # holds the commit (and its parent and layers)
    commit: str
    inputs: RecordedInputs
    warnings: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.ref} ({self.commit[:12]})"


def check_resolution(rebuild: Rebuild, packages: Sequence[Package]) -> None:
    """The recorded lockfile resolves to exactly its own packages."""
    locked = {p.nevra for p in rebuild.inputs.lockfile.packages.values()}
    resolved = {p.nevra for p in packages}
    extra, missing = sorted(resolved - locked), sorted(locked - resolved)
    if extra or missing:
        what = (
            f"installs {extra[0]}, which it does not lock" if extra else f"leaves out {missing[0]}"
        )
        raise FedostreeError(f"{rebuild.where}: the recorded treefile with its lockfile {what}")


def recorded_layers(rebuild: Rebuild, tf: Treefile) -> list[Layer]:
    """The treefile's ostree layers at the commits the build used."""
    named = [(f"ostree-layers[{i}]", ref, False) for i, ref in enumerate(tf.ostree_layers)]
    named += [(f"ostree-override-layers[{i}]", ref, True)
              for i, ref in enumerate(tf.ostree_override_layers)]  # fmt: skip
    layers = []
    for where, ref, override in named:
        commit = rebuild.inputs.layers.get(ref)
        if commit is None or not ot.has_commit(rebuild.repo, commit):
            raise FedostreeError(
                f"{rebuild.where}: {where}: '{ref}' at {str(commit)[:12]} is not in the repository"
            )
        layers.append(Layer(where, ref, commit, override))
    return layers


def rebuild_request(
    rebuild: Rebuild,
    tf: Treefile,
    packages: Sequence[Package],
    cached: Sequence[CachedPackage],
    layers: Sequence[Layer],
    repos: Sequence[RepoConfig],
) -> BuildRequest:
    """The build request that gives the commit's tree again: the recorded lockfile and
    epoch, the commit's version and parent. A differing input hash is a warning."""
    md = ot.commit_metadata(rebuild.repo, rebuild.commit)
    inputhash = cm.input_hash(tf, packages, [layer.commit for layer in layers])
    recorded = md.get(cm.INPUTHASH_KEY)
    if recorded not in (None, inputhash):
        rebuild.warnings.append(f"{rebuild.where}: the recorded inputs give input hash "
                                f"{inputhash[:12]}, the commit says {recorded[:12]}")  # fmt: skip
    return BuildRequest(tf, packages, cached, inputhash, md.get("version"), _parent(rebuild),
                        layers, repos, rebuild.inputs.lockfile,
                        rebuild.inputs.source_date_epoch)  # fmt: skip


def compare_rebuild(rebuild: Rebuild, build_repo: OSTree.Repo, rebuilt: str) -> Verification:
    """The commit against its rebuild: their root checksums and, when those differ, every
    differing path with the package owning it in the rebuild's rpmdb."""
    tree = ot.root_checksums(rebuild.repo, rebuild.commit)
    rebuilt_tree = ot.root_checksums(build_repo, rebuilt)
    differences: list[TreeDifference] = []
    if tree != rebuilt_tree:
        differences = with_owners(
            compare_trees(rebuild.repo, rebuild.commit, build_repo, rebuilt),
            package_owners(build_repo, rebuilt),
        )
    return Verification(rebuild.ref, rebuild.commit, rebuilt, tree, rebuilt_tree,
                        tuple(differences), tuple(rebuild.warnings))  # fmt: skip


def _parent(rebuild: Rebuild) -> str | None:
    """The commit's parent (users and groups are kept from it); a parent the repository
    no longer has is left out, with a warning."""
    _, variant, _ = rebuild.repo.load_commit(rebuild.commit)
    named = OSTree.commit_get_parent(variant)
    if named is None:
        return None
    if not ot.has_commit(rebuild.repo, named):
        rebuild.warnings.append(
            f"{rebuild.where}: its parent {named[:12]} is not in the repository; rebuilt without it"
        )
        return None
    return str(named)
