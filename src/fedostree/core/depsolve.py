"""Resolving a package set with libsolv; groups come from comps through libcomps."""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcomps
import solv

from fedostree.core.repofile import RepoConfig
from fedostree.core.repomd import RepoMetadata
from fedostree.errors import ConfigError, FedostreeError, ResolveError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Package:
    """One resolved package: its identity, where to get it, and its digest."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    sha256: str
    location: str  # relative to the repository's root (each of its mirrors)
    repo_id: str
    repo: RepoConfig  # where to download it from
    download_size: int
    install_size: int

    @property
    def evr(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"

    @property
    def evra(self) -> str:
        return f"{self.evr}.{self.arch}"


@dataclass(frozen=True)
class LockEntry:
    evra: str
    digest: str  # sha256


def load_pool(repos: Sequence[RepoMetadata], arch: str) -> solv.Pool:
    """A libsolv pool holding every repository's primary and filelists metadata."""
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    pool.setarch(arch)
    for meta in repos:
        load_repo(pool, meta)
    pool.addfileprovides()
    pool.createwhatprovides()
    return pool


def load_repo(pool: solv.Pool, meta: RepoMetadata) -> solv.Repo:
    """Add one repository: from libsolv's own binary cache of it when there is one (as dnf
    keeps), otherwise from the rpm-md XML, writing that cache for the next time."""
    repo = pool.add_repo(meta.config.id)
    repo.appdata = meta
    cache = solv_cache_path(meta)
    if cache is not None and cache.is_file():
        if _add_solv(repo, cache):
            return repo
        repo.empty()
    files = meta.files()
    _add_rpmmd(repo, files["primary"], 0)
    if "filelists" in files:
        _add_rpmmd(repo, files["filelists"], solv.Repo.REPO_EXTEND_SOLVABLES)
    if cache is not None:
        _write_solv(repo, cache)
    return repo


def solv_cache_path(meta: RepoMetadata) -> Path | None:
    """Beside metadata fetched into the cache (never beside a repository we only read),
    named by the revision it was parsed from."""
    if not (meta.path / ".revision").is_file():
        return None
    return meta.path / f"{meta.revision[:32]}.solv"


def _add_rpmmd(repo: solv.Repo, path: Path, flags: int) -> None:
    f = solv.xfopen(str(path))
    try:
        if not repo.add_rpmmd(f, None, flags):
            raise FedostreeError(f"{path}: cannot load metadata: {repo.pool.errstr}")
    finally:
        f.close()


def _add_solv(repo: solv.Repo, path: Path) -> bool:
    f = solv.xfopen(str(path))
    try:
        return bool(f and repo.add_solv(f))
    finally:
        if f:
            f.close()


def _write_solv(repo: solv.Repo, path: Path) -> None:
    """Written to a temporary file and renamed, so a reader sees a whole cache or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        f = solv.xfopen(str(tmp), "w")
        ok = repo.write(f)
        f.close()
        if ok:
            tmp.rename(path)
    except OSError as e:
        log.debug("cannot write %s: %s", path, e)
    finally:
        tmp.unlink(missing_ok=True)


def load_comps(repos: Sequence[RepoMetadata]) -> libcomps.Comps:
    """The union of the repositories' comps groups."""
    comps = libcomps.Comps()
    for meta in repos:
        files = meta.files()
        path = files.get("group") or files.get("group_gz")
        if path is None:
            continue
        text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        one = libcomps.Comps()
        one.fromxml_str(text.decode())
        comps += one
    return comps


def group_members(comps: libcomps.Comps, group_id: str) -> list[str]:
    """A group's mandatory and default members, as dnf installs them."""
    for group in comps.groups:
        if group.id == group_id:
            wanted = (libcomps.PACKAGE_TYPE_MANDATORY, libcomps.PACKAGE_TYPE_DEFAULT)
            return [p.name for p in group.packages if p.type in wanted]
    raise ResolveError(f"group '@{group_id}' is not in any repository's comps", [])


def expand_groups(comps: libcomps.Comps, specs: Iterable[str]) -> list[str]:
    out: list[str] = []
    for spec in specs:
        out += group_members(comps, spec[1:]) if spec.startswith("@") else [spec]
    return list(dict.fromkeys(out))


def resolve(
    pool: solv.Pool,
    specs: Sequence[str],
    *,
    exclude: Iterable[str] = (),
    lock: Mapping[str, LockEntry] | None = None,
) -> list[Package]:
    """Resolve names, provides and file paths to a complete set, in install order."""
    _disable(pool, exclude, lock or {})
    jobs = []
    missing = []
    for spec in specs:
        sel = _select(pool, spec)
        if sel.isempty():
            missing.append(spec)
        jobs += sel.jobs(solv.Job.SOLVER_INSTALL)
    if missing:
        raise ResolveError(f"packages not found: {', '.join(missing)}", [])
    solver = pool.Solver()
    problems = solver.solve(jobs)
    if problems:
        explained = [str(p) for p in problems]
        count = f"{len(explained)} problem{'s' if len(explained) > 1 else ''}"
        raise ResolveError(f"cannot resolve the package set ({count})", explained)
    trans = solver.transaction()
    trans.order()
    return [_package(s) for s in trans.newsolvables()]


def _select(pool: solv.Pool, spec: str) -> solv.Selection:
    if spec.startswith("/"):
        return pool.select(spec, solv.Selection.SELECTION_FILELIST)
    flags = solv.Selection.SELECTION_NAME | solv.Selection.SELECTION_PROVIDES
    return pool.select(spec, flags | solv.Selection.SELECTION_REL)


def _disable(pool: solv.Pool, exclude: Iterable[str], lock: Mapping[str, LockEntry]) -> None:
    """exclude-packages and a lockfile both work by hiding solvables from the solver."""
    excluded = set(exclude)
    disabled = []
    available, locked = set(), set()
    for s in pool.solvables_iter():
        available.add(s.name)
        if s.name in lock and _evra(s) == lock[s.name].evra:
            locked.add(s.name)
        if s.name in excluded or (s.name in lock and _evra(s) != lock[s.name].evra):
            disabled.append(s.id)
    _check_lock_available(lock, available, locked)
    pool.set_disabled_list(disabled)
    pool.createwhatprovides()


def _check_lock_available(
    lock: Mapping[str, LockEntry], available: set[str], locked: set[str]
) -> None:
    """A lock entry for a package the repositories have, but not at the locked version."""
    stale = [f"{name}-{lock[name].evra}" for name in sorted(available & set(lock) - locked)]
    if stale:
        raise ResolveError(f"lockfile pins versions no repository has: {', '.join(stale)}", [])


def _evra(s: solv.XSolvable) -> str:
    return f"{s.evr}.{s.arch}"


def _package(s: solv.XSolvable) -> Package:
    chksum = s.lookup_checksum(solv.SOLVABLE_CHECKSUM)
    if chksum is None or chksum.type != solv.REPOKEY_TYPE_SHA256:
        raise FedostreeError(f"{s}: repository metadata has no sha256 checksum for the package")
    meta: RepoMetadata = s.repo.appdata
    epoch, _, vr = s.evr.rpartition(":") if ":" in s.evr else ("0", "", s.evr)
    version, _, release = vr.rpartition("-")
    return Package(
        name=s.name,
        epoch=int(epoch or 0),
        version=version,
        release=release,
        arch=s.arch,
        sha256=chksum.hex(),
        location=s.lookup_location()[0],
        repo_id=meta.config.id,
        repo=meta.config,
        download_size=s.lookup_num(solv.SOLVABLE_DOWNLOADSIZE),
        install_size=s.lookup_num(solv.SOLVABLE_INSTALLSIZE),
    )


# --- lockfiles: rpm-ostree's JSON shape, {"packages": {name: {"evra", "digest"}}} ---


def write_lockfile(path: Path, packages: Iterable[Package]) -> None:
    data = {
        "packages": {p.name: {"evra": p.evra, "digest": f"sha256:{p.sha256}"} for p in packages}
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def read_lockfile(path: Path) -> dict[str, LockEntry]:
    try:
        data = json.loads(Path(path).read_text())
        entries = data["packages"]
        return {
            name: LockEntry(str(e["evra"]), str(e.get("digest", "")).removeprefix("sha256:"))
            for name, e in entries.items()
        }
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such lockfile") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"{path}: not a valid lockfile: {e}") from e


def check_lock_digests(packages: Iterable[Package], lock: Mapping[str, LockEntry]) -> None:
    for p in packages:
        entry = lock.get(p.name)
        if entry and entry.digest and entry.digest != p.sha256:
            raise FedostreeError(
                f"lockfile: {p.name}-{p.evra}: digest differs from the repository's"
            )
