"""Local package assembly: `rebase --local TREEFILE` builds the tree a treefile describes
on the client itself, from the client's repositories, into the sysroot's repository,
and deploys it; `upgrade` on such a deployment resolves the treefile again.

The treefile's `repos` are looked up in the default deployment's /etc/yum.repos.d
first, then in the .repo files beside the treefile; their metadata and the RPMs are
cached under the sysroot's /var/cache/fedostree, and the RPMs imported into the same
package cache (rpmostree/pkg/...) layering uses. The tree is built by the engine that
builds the server's (engine/build.py) and committed on the local ref
fedostree/local/REF, each build the previous one's child, its version the treefile's
automatic-version-prefix incremented over the previous build's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.client.repos import REPOS_DIR, cache_dir, load_metadata, releasever
from fedostree.client.sysroot import LOCAL_REF_PREFIX, LOCAL_WORK_DIR, Sysroot, remove_stale_work
from fedostree.engine import commit as cm
from fedostree.engine import depsolve, resolve
from fedostree.engine import ostree as ot
from fedostree.engine.build import BuildRequest, build_tree, check_buildable
from fedostree.engine.depsolve import Package
from fedostree.engine.download import cached_rpm_path
from fedostree.engine.layers import Layer, resolve_layers
from fedostree.engine.ostree import OSTree
from fedostree.engine.pinning import lockfile_for
from fedostree.engine.pkgcache import CachedPackage, PackageCache, cache_ref, ensure_cached
from fedostree.engine.progress import say
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.treefile_repos import BASEARCH, repo_configs, repo_names
from fedostree.errors import ConfigError
from fedostree.model.lockfile import Lockfile, load_lockfiles
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import load_treefile


@dataclass(frozen=True)
class LocalSource:
    """What a local assembly is made from: the treefile and its lockfiles."""

    treefile: Path
    lockfiles: tuple[Path, ...] = ()
    lockfile_strict: bool = False


@dataclass(frozen=True)
class Resolved:
    """The treefile resolved on the client: what the next local build would be."""

    tf: Treefile
    ref: str  # the local ref
    packages: list[Package]
    inputhash: str
    layers: list[Layer]
    # what the commit records, so that it can be rebuilt from it (model/recorded.py)
    repos: Sequence[RepoConfig] = ()
    lockfile: Lockfile | None = None


def local_ref(tree_ref: str) -> str:
    return f"{LOCAL_REF_PREFIX}/{tree_ref}"


def source_of(treefile: Path, lockfiles: Sequence[Path], strict: bool) -> LocalSource:
    """Absolute paths (the origin records them); a missing file is refused here."""
    if strict and not lockfiles:
        raise ConfigError("--lockfile-strict needs --lockfile")
    for path in (treefile, *lockfiles):
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    return LocalSource(treefile.absolute(), tuple(p.absolute() for p in lockfiles), strict)


def load_local_treefile(source: LocalSource) -> tuple[Treefile, Lockfile | None]:
    """The treefile (includes and all) and its lockfiles, refused before any work."""
    if not source.treefile.is_file():
        raise ConfigError(f"{source.treefile}: the local treefile is gone")
    tf = load_treefile(source.treefile)
    check_buildable(tf)
    return tf, load_lockfiles(source.lockfiles)


def resolve_local(
    sysroot: Sysroot,
    tf: Treefile,
    lock: Lockfile | None,
    strict: bool,
    deployment: OSTree.Deployment | None,
) -> Resolved:
    """Resolve the treefile against the client's repositories (the deployment's
    /etc/yum.repos.d first, then the .repo files beside the treefile)."""
    resolve.check_treefile_request(tf, lock, repo_names(tf))
    preferred: list[Path] = []
    client_releasever = None
    if deployment is not None:
        root = sysroot.deployment_dir(deployment)
        preferred.append(root / REPOS_DIR)
        client_releasever = releasever(root)
    configs = repo_configs(tf, with_lockfile_repos=lock is not None,
                           preferred_dirs=preferred, releasever=client_releasever)  # fmt: skip
    say(f"Fetching metadata: {', '.join(c.id for c in configs)}")
    metadata = load_metadata(configs, cache_dir(sysroot.path), cache_only=False)
    say(f"Resolving {tf.path}")
    pool = depsolve.load_pool(metadata, BASEARCH)
    request = resolve.request_for(tf, depsolve.load_comps(metadata), lock, strict)
    packages = resolve.resolve(pool, request)
    layers = resolve_layers(tf, sysroot.path / "ostree/repo")
    inputhash = cm.input_hash(tf, packages, [layer.commit for layer in layers])
    return Resolved(tf, local_ref(tf.ref), packages, inputhash, layers, configs,
                    lockfile_for(packages, metadata))  # fmt: skip


def cache_packages(sysroot: Sysroot, resolved: Resolved) -> list[CachedPackage]:
    """Download the RPMs not yet cached and import them into the package cache."""
    return ensure_cached(sysroot.repo, resolved.packages, cache_dir(sysroot.path))


def download_size(sysroot: Sysroot, packages: Sequence[Package]) -> tuple[int, int]:
    """(packages, bytes) a build would download: those neither imported nor downloaded."""
    cache, cachedir = PackageCache(sysroot.repo), cache_dir(sysroot.path)
    missing = [
        p
        for p in packages
        if cache.lookup(cache_ref(p.name, p.evr, p.arch), p.sha256) is None
        and not cached_rpm_path(cachedir, p).is_file()
    ]
    return len(missing), sum(p.download_size for p in missing)


def next_version(sysroot: Sysroot, resolved: Resolved) -> str | None:
    previous = cm.previous_commit(sysroot.repo, resolved.ref, local_only=True)
    return cm.next_version(resolved.tf, previous.version if previous else None)


def build_local(sysroot: Sysroot, resolved: Resolved) -> str:
    """The local ref's commit for resolved: the ref's own when it already has these inputs
    (a build whose deployment was interrupted), else a new build, the ref's child."""
    repo = sysroot.repo
    previous = cm.previous_commit(repo, resolved.ref, local_only=True)
    if previous is not None and previous.inputhash == resolved.inputhash:
        return previous.checksum
    cached = cache_packages(sysroot, resolved)
    version = cm.next_version(resolved.tf, previous.version if previous else None)
    parent = previous.checksum if previous else None
    request = BuildRequest(resolved.tf, resolved.packages, cached, resolved.inputhash,
                           version, parent, resolved.layers, resolved.repos,
                           resolved.lockfile, reuse=parent)  # fmt: skip
    workdir = sysroot.path / LOCAL_WORK_DIR  # beside the repository: hardlinks
    remove_stale_work(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"Building {resolved.ref}" + (f" {version}" if version else "")
        + f" from {len(cached)} packages")  # fmt: skip
    build = build_tree(repo, request, workdir, previous_repo=repo,
                       cachedir=cache_dir(sysroot.path))  # fmt: skip
    say(f"Derived from {build.derived}" if build.derived else "Built from scratch")
    sysroot.on_exit(build.discard())  # removed while the tree is deployed
    with ot.transaction(repo):
        ot.set_ref(repo, resolved.ref, build.commit)
    return build.commit
