"""Package layering, as `rpm-ostree install` / `uninstall`: the requests live in the
deployment's origin, the packages are resolved against the tree's own rpmdb, imported
once into the sysroot's package cache, and added to the tree by the engine's rpm
transaction (engine/derive.py); the result is committed with the base as parent and
deployed atomically.

Incremental: adding packages to a layered deployment whose base did not change starts
from its layered commit and runs only the new packages' scriptlets and the triggers
they set off; removing starts from it too and runs the erase. A new base (upgrade,
rebase, deploy) is layered from scratch: every layered package is installed on it."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import solv

from fedostree.client.repos import (
    BASEARCH,
    cache_dir,
    deployment_repos,
    layering_pool,
    load_metadata,
)
from fedostree.client.sysroot import LOCAL_RPMS, Sysroot
from fedostree.engine import depsolve
from fedostree.engine import ostree as ot
from fedostree.engine.depsolve import Package
from fedostree.engine.derive import (
    CLIENTLAYER_KEY,
    INACTIVE_KEY,
    LAYERED_KEY,
    Transaction,
    derive_tree,
    installed_headers,
)
from fedostree.engine.download import cached_rpm_path
from fedostree.engine.layer_resolve import resolve_layer
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import CachedPackage, PackageCache, cache_ref, ensure_cached
from fedostree.engine.rpmfile import digest_problem, header_from_blob, read_header_blob
from fedostree.engine.treefs import remove_in_background
from fedostree.errors import ConfigError, FedostreeError, NothingToDo
from fedostree.model.origin import LocalPackage, Origin

NOARCH = "noarch"


@dataclass(frozen=True)
class LayerOptions:
    dry_run: bool = False
    idempotent: bool = False
    unchanged_exit_77: bool = False
    cache_only: bool = False
    download_only: bool = False


@dataclass(frozen=True)
class LayerChange:
    refspec: str
    old: str
    new: str | None  # None: nothing deployed (--dry-run, --download-only)
    added: tuple[str, ...] = ()  # NEVRAs
    removed: tuple[str, ...] = ()
    inactive: tuple[str, ...] = ()  # requests the base provides
    deployed: bool = False


@dataclass(frozen=True)
class LocalRpm:
    path: Path
    nevra: str
    name: str
    sha256: str
    ref: str  # its package cache ref

    @property
    def request(self) -> LocalPackage:
        return LocalPackage(self.sha256, self.nevra)


def base_of(repo: OSTree.Repo, commit: str) -> str:
    """The pulled commit a deployment's tree derives from (itself when not layered)."""
    if ot.commit_metadata_value(repo, commit, CLIENTLAYER_KEY):
        parent = ot.commit_parent(repo, commit)
        if parent is None:
            raise FedostreeError(f"{commit[:12]}: a layered commit without its base")
        return parent
    return commit


def layered_of(repo: OSTree.Repo, commit: str) -> list[str]:
    return [str(n) for n in ot.commit_metadata(repo, commit).get(LAYERED_KEY, [])]


def inactive_of(repo: OSTree.Repo, commit: str) -> list[str]:
    return [str(n) for n in ot.commit_metadata(repo, commit).get(INACTIVE_KEY, [])]


def inspect_local(path: Path) -> LocalRpm:
    """A local .rpm's identity, refusing what is not an RPM or not for this machine."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        blob = read_header_blob(path)
        hdr = header_from_blob(blob)
    except (FedostreeError, OSError) as e:
        raise ConfigError(f"{path}: not an RPM package ({e})") from e
    if hdr["sourcepackage"] or hdr["arch"] not in (BASEARCH, NOARCH):
        raise ConfigError(
            f"{path}: {hdr['nevra']} is for architecture {hdr['arch']}, this system is {BASEARCH}"
        )
    if problem := digest_problem(path):
        raise ConfigError(f"{path}: {hdr['nevra']}: corrupt package ({problem})")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    ref = cache_ref(hdr["name"], hdr["evr"], hdr["arch"])
    return LocalRpm(path, str(hdr["nevra"]), str(hdr["name"]), sha256, ref)


# --- install -------------------------------------------------------------------------------


def install(
    sysroot: Sysroot, specs: Sequence[str], local_paths: Sequence[Path], opts: LayerOptions
) -> LayerChange:
    current = sysroot.default()
    origin = sysroot.origin_of(current)
    commit = current.get_csum()
    locals_ = [inspect_local(p) for p in local_paths]
    new_specs = _new_requests(specs, origin.requested, opts)
    known_local = {p.nevra for p in origin.requested_local}
    for r in locals_:
        if r.nevra in known_local:
            _refuse_repeat(r.nevra, opts)
    new_local = [r for r in locals_ if r.nevra not in known_local]
    if not new_specs and not new_local:
        raise NothingToDo("No change.", exit_code=77 if opts.unchanged_exit_77 else 0)
    repo = sysroot.repo
    installed = installed_headers(repo, commit)
    pool, local_ids = _pool(sysroot, current, installed, [r.path for r in new_local], opts)
    resolution = resolve_layer(pool, new_specs, local_ids)
    if resolution.inactive and not opts.idempotent:
        spec = resolution.inactive[0]
        raise ConfigError(f"{spec}: already provided by the tree (use --idempotent to ignore)")
    added = [str(s) for s in resolution.install]
    requested = origin.requested + tuple(s for s in new_specs if s not in resolution.inactive)
    new_origin = origin.with_requests(
        requested, origin.requested_local + tuple(r.request for r in new_local)
    )
    change = LayerChange(
        origin.refspec, commit, None, tuple(added), inactive=tuple(resolution.inactive)
    )
    if not added and not opts.dry_run:
        raise NothingToDo("No change.", exit_code=77 if opts.unchanged_exit_77 else 0)
    if opts.dry_run:
        return change
    repo_pkgs = [depsolve.package_of(s) for s in resolution.install if s.id not in local_ids]
    by_nevra = {r.nevra: r for r in new_local}
    cached = _cache(sysroot, repo_pkgs, [by_nevra[n] for n in added if n in by_nevra], opts)
    if opts.download_only:
        return change
    ordered = [cached[n] for n in added]
    base = base_of(repo, commit)
    tx = Transaction(start=commit, base=base, install=ordered,
                     layered=[*layered_of(repo, commit), *added],
                     inactive=inactive_of(repo, commit))  # fmt: skip
    new = _derive(sysroot, tx)
    sysroot.deploy(new_origin, new, prune=False)
    return LayerChange(origin.refspec, commit, new, tuple(added),
                       inactive=tuple(resolution.inactive), deployed=True)  # fmt: skip


def _new_requests(specs: Sequence[str], requested: Sequence[str], opts: LayerOptions) -> list[str]:
    out = []
    for spec in specs:
        if spec in requested or spec in out:
            _refuse_repeat(spec, opts)
            continue
        out.append(spec)
    return out


def _refuse_repeat(what: str, opts: LayerOptions) -> None:
    """A request made before: an error, unless --idempotent (then it is skipped)."""
    if not opts.idempotent:
        raise ConfigError(f"{what}: already requested (use --idempotent to ignore)")


def _pool(
    sysroot: Sysroot,
    deployment: OSTree.Deployment,
    installed: Sequence[bytes],
    local_paths: Sequence[Path],
    opts: LayerOptions,
) -> tuple[solv.Pool, dict[int, Path]]:
    repos = deployment_repos(sysroot.deployment_dir(deployment))
    metadata = load_metadata(repos, cache_dir(sysroot.path), cache_only=opts.cache_only)
    pool = layering_pool(metadata, installed)
    local_ids = depsolve.add_local_rpms(pool, local_paths) if local_paths else {}
    return pool, local_ids


def _cache(
    sysroot: Sysroot, packages: Sequence[Package], local: Sequence[LocalRpm], opts: LayerOptions
) -> dict[str, CachedPackage]:
    """Each package imported into the sysroot's package cache (downloaded unless cached)."""
    repo, cachedir = sysroot.repo, cache_dir(sysroot.path)
    cache = PackageCache(repo)
    if opts.cache_only:
        for p in packages:
            ref = cache_ref(p.name, p.evr, p.arch)
            if cache.lookup(ref, p.sha256) is None and not cached_rpm_path(cachedir, p).is_file():
                raise ConfigError(f"--cache-only: {p.nevra} was never downloaded")
    out = {c.nevra: c for c in ensure_cached(repo, packages, cachedir)}
    if local:
        keep_local_rpms(cachedir, local)
        with ot.transaction(repo):
            for r in local:
                if cache.lookup(r.ref, r.sha256) is None:
                    cache.import_rpm(r.path, r.ref, r.sha256)
        out.update({r.nevra: c for r in local if (c := cache.lookup(r.ref, r.sha256))})
    return out


def keep_local_rpms(cachedir: Path, local: Sequence[LocalRpm]) -> None:
    """A copy of each local RPM in the cache: a later upgrade layers it on the new base."""
    (cachedir / "local").mkdir(parents=True, exist_ok=True)
    for r in local:
        dest = cachedir / "local" / f"{r.sha256}.rpm"  # = Sysroot.path / LOCAL_RPMS
        if not dest.is_file():
            tmp = dest.with_suffix(".tmp")
            shutil.copyfile(r.path, tmp)
            tmp.replace(dest)


WORK_PREFIX = "fedostree-layer-"


def remove_stale_work(tmp: Path) -> None:
    """What a killed run left: the caller holds the sysroot lock, so none is in use."""
    for stale in tmp.glob(f"{WORK_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def _derive(sysroot: Sysroot, tx: Transaction) -> str:
    """The derived tree, built beside the repository (same filesystem: hardlinks)."""
    tmp = sysroot.path / "ostree/repo/tmp"
    remove_stale_work(tmp)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=tmp))
    try:
        return derive_tree(sysroot.repo, tx, work)
    finally:
        sysroot.on_exit(remove_in_background(work))  # removed while the tree is deployed


# --- uninstall -----------------------------------------------------------------------------


def uninstall(
    sysroot: Sysroot, specs: Sequence[str], *, remove_all: bool, opts: LayerOptions
) -> LayerChange:
    current = sysroot.default()
    origin = sysroot.origin_of(current)
    commit = current.get_csum()
    repo = sysroot.repo
    base = base_of(repo, commit)
    drop = list(origin.requested) if remove_all else []
    drop_local = list(origin.requested_local) if remove_all else []
    for spec in () if remove_all else specs:
        local = [p for p in origin.requested_local if spec in (p.nevra, p.nevra.rsplit("-", 2)[0])]
        if spec in origin.requested:
            drop.append(spec)
        elif local:
            drop_local += local
        elif not opts.idempotent:
            raise ConfigError(_not_layered(repo, base, spec))
    if not drop and not drop_local:
        raise NothingToDo("No change.", exit_code=77 if opts.unchanged_exit_77 else 0)
    requested = tuple(s for s in origin.requested if s not in drop)
    requested_local = tuple(p for p in origin.requested_local if p not in drop_local)
    new_origin = origin.with_requests(requested, requested_local)
    layered = layered_of(repo, commit)
    keep = _still_needed(sysroot, current, base, requested, requested_local, opts)
    removed = tuple(n for n in layered if n not in keep)
    change = LayerChange(origin.refspec, commit, None, removed=removed)
    if opts.dry_run or opts.download_only:
        return change
    if not keep:
        new = base
    else:
        tx = Transaction(start=commit, base=base, erase=removed, layered=sorted(keep),
                         inactive=[s for s in inactive_of(repo, commit) if s in requested])  # fmt: skip
        new = _derive(sysroot, tx)
    sysroot.deploy(new_origin, new, prune=False)
    return LayerChange(origin.refspec, commit, new, removed=removed, deployed=True)


def _not_layered(repo: OSTree.Repo, base: str, spec: str) -> str:
    names = {h["name"] for h in map(header_from_blob, installed_headers(repo, base))}
    if spec in names:
        return f"{spec}: a package of the base tree, not layered; it cannot be uninstalled"
    return f"{spec}: not a layered package"


def _still_needed(
    sysroot: Sysroot,
    deployment: OSTree.Deployment,
    base: str,
    requested: Sequence[str],
    requested_local: Sequence[LocalPackage],
    opts: LayerOptions,
) -> set[str]:
    """The layered NEVRAs the remaining requests resolve to on the base (from cache)."""
    if not requested and not requested_local:
        return set()
    repo = sysroot.repo
    installed = installed_headers(repo, base)
    cached_opts = LayerOptions(cache_only=True)
    local_paths = [_local_rpm_path(sysroot, p) for p in requested_local]
    pool, local_ids = _pool(sysroot, deployment, installed, local_paths, cached_opts)
    return {str(s) for s in resolve_layer(pool, requested, local_ids).install}


def _local_rpm_path(sysroot: Sysroot, pkg: LocalPackage) -> Path:
    """A local package's RPM, kept in the cache when it was installed."""
    path = sysroot.path / LOCAL_RPMS / f"{pkg.sha256}.rpm"
    if not path.is_file():
        raise FedostreeError(f"{pkg.nevra}: the local package's RPM is gone from {path}")
    return path


# --- a new base ----------------------------------------------------------------------------


def layer_on(
    sysroot: Sysroot,
    origin: Origin,
    base: str,
    *,
    current: str | None,
    cache_only: bool = False,
    download_only: bool = False,
) -> tuple[str, tuple[str, ...]]:
    """The commit to deploy for origin on a (new) base: the base itself when nothing is
    layered, else the requests resolved and installed on it. Returns it and the requests
    the base now provides. When the base and the resolved set are those of current,
    current is returned (nothing rebuilt)."""
    if not origin.layered:
        return base, ()
    repo = sysroot.repo
    installed = installed_headers(repo, base)
    local_paths = [_local_rpm_path(sysroot, p) for p in origin.requested_local]
    deployment = sysroot.default()
    pool, local_ids = _pool(
        sysroot, deployment, installed, local_paths, LayerOptions(cache_only=cache_only)
    )
    resolution = resolve_layer(pool, origin.requested, local_ids)
    added = [str(s) for s in resolution.install]
    inactive = tuple(resolution.inactive)
    if (
        current is not None
        and base_of(repo, current) == base
        and sorted(layered_of(repo, current)) == sorted(added)
    ):
        return current, inactive
    if not added:
        return base, inactive
    repo_pkgs = [depsolve.package_of(s) for s in resolution.install if s.id not in local_ids]
    local = [inspect_local(local_ids[s.id]) for s in resolution.install if s.id in local_ids]
    cached = _cache(sysroot, repo_pkgs, local, LayerOptions(cache_only=cache_only))
    if download_only:
        return current or base, inactive
    install_ = [cached[n] for n in added]
    tx = Transaction(start=base, base=base, install=install_, layered=added, inactive=inactive)
    return _derive(sysroot, tx), inactive
