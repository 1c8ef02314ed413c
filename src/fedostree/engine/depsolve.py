"""The libsolv pool: every configured repository's rpm-md metadata loaded into one pool
(with libsolv's binary cache of it), comps groups through libcomps, and a solvable as the
`Package` the rest of fedostree speaks of. Resolving a request is engine/resolve.py's."""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcomps
import solv

from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from fedostree.engine.rpmfile import solv_image
from fedostree.errors import FedostreeError, ResolveError

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
    source_name: str = ""  # the source package's name (rpm-ostree's lockfile metadata)

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


INSTALLED = "@System"
COMMANDLINE = "@commandline"


def add_installed(pool: solv.Pool, header_blobs: Sequence[bytes]) -> solv.Repo:
    """The tree's installed packages (their headers, from the rpmdb) as
    the pool's installed repo, as dnf loads the rpmdb: what they provide satisfies
    requests and dependencies. libsolv's own rpm parser reads each image (every
    dependency and the file list); its rpmdb reader cannot be pointed at a tree."""
    repo = pool.add_repo(INSTALLED)
    for blob in header_blobs:
        fd = os.memfd_create("rpm-header")
        try:
            os.write(fd, solv_image(blob))
            if not repo.add_rpm(f"/proc/self/fd/{fd}", _ADD_FLAGS):
                raise FedostreeError(
                    f"the tree's rpmdb: a header libsolv cannot read: {pool.errstr}"
                )
        finally:
            os.close(fd)
    repo.internalize()
    pool.installed = repo
    return repo


def add_local_rpms(pool: solv.Pool, paths: Sequence[Path]) -> dict[int, Path]:
    """Local .rpm files as the `@commandline` repo (dnf's name); solvable id -> path."""
    repo = pool.add_repo(COMMANDLINE)
    out = {}
    for path in paths:
        s = repo.add_rpm(str(path), _ADD_FLAGS)
        if s is None:
            raise FedostreeError(f"{path}: not an RPM package ({pool.errstr})")
        out[s.id] = path
    repo.internalize()
    return out


_ADD_FLAGS = solv.Repo.REPO_REUSE_REPODATA | solv.Repo.REPO_NO_INTERNALIZE


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


def package_of(s: solv.XSolvable) -> Package:
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
        source_name=(s.lookup_sourcepkg() or "").rsplit("-", 2)[0],
    )


def solvable_digest(s: solv.XSolvable) -> str | None:
    """The package's checksum in the repository metadata, as rpm-ostree's lockfiles spell
    it (`sha256:HEX`)."""
    chksum = s.lookup_checksum(solv.SOLVABLE_CHECKSUM)
    return f"{chksum.typestr()}:{chksum.hex()}" if chksum is not None else None
