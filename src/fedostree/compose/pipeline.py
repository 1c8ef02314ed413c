"""`compose tree`, as a recipe of small steps: fetch metadata, resolve, check the input
hash, download, import, assemble, run scriptlets, postprocess, commit, publish."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcomps
import solv

from fedostree.compose import commit as cm
from fedostree.compose import postprocess as pp
from fedostree.compose.checks import run_checks
from fedostree.compose.publish import Signer, candidate_ref, promote, stage_candidate
from fedostree.compose.results import CommitResults, load_results, record_results
from fedostree.core import depsolve
from fedostree.core import ostree as ot
from fedostree.core.assemble import checkout_packages, run_scriptlets
from fedostree.core.depsolve import Package
from fedostree.core.download import download_packages
from fedostree.core.ostree import OSTree
from fedostree.core.pkgcache import CachedPackage, PackageCache, cache_ref
from fedostree.core.progress import Progress
from fedostree.core.repomd import RepoMetadata, fetch_metadata, load_repo_configs
from fedostree.core.rpmdb import write_rpmdb
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import validate_for_compose

log = logging.getLogger(__name__)
BASEARCH = os.uname().machine


@dataclass(frozen=True)
class ComposeOptions:
    repo: Path
    cachedir: Path
    lockfile: Path | None = None
    write_lockfile_to: Path | None = None
    force: bool = False
    gpg_sign: str | None = None  # key id: sign published commits and the summary
    gpg_homedir: Path | None = None
    keep_versions: int = 10  # published commits kept per ref when pruning


@dataclass(frozen=True)
class ComposeResult:
    ref: str
    commit: str
    version: str | None
    packages: int
    changed: bool
    published: bool = True  # False: the tests failed, the published ref did not move
    failed_checks: tuple[str, ...] = ()


@dataclass
class Session:
    """What several composes in one run share: the repositories and their metadata."""

    options: ComposeOptions
    _metadata: dict[tuple[str, ...], tuple[solv.Pool, libcomps.Comps]] = field(default_factory=dict)
    _out_repo: OSTree.Repo | None = None
    _build_repo: OSTree.Repo | None = None
    _signer: Signer | None = None

    @property
    def out_repo(self) -> OSTree.Repo:
        if self._out_repo is None:
            self._out_repo = ot.open_repo(self.options.repo, create_mode="archive")
        return self._out_repo

    @property
    def build_repo(self) -> OSTree.Repo:
        """A bare repository in the cache: the package cache and assembled trees live here."""
        if self._build_repo is None:
            self._build_repo = ot.open_repo(self.options.cachedir / "repo", create_mode="bare")
        return self._build_repo

    @property
    def out_path(self) -> Path:
        return Path(self.out_repo.get_path().get_path())

    @property
    def signer(self) -> Signer | None:
        """The signing key, checked once before anything is composed."""
        if self.options.gpg_sign is None:
            return None
        if self._signer is None:
            signer = Signer(self.options.gpg_sign, self.options.gpg_homedir)
            signer.check(self.out_repo)
            self._signer = signer
        return self._signer

    def metadata_for(self, tf: Treefile) -> tuple[solv.Pool, libcomps.Comps]:
        key = (*tf.repos, str(tf.releasever))
        if key not in self._metadata:
            variables = {"releasever": tf.releasever or "", "basearch": BASEARCH}
            configs = load_repo_configs(tf.repos, tf.repo_dirs, variables, where=str(tf.path))
            metas = [fetch_metadata(c, self.options.cachedir) for c in configs]
            self._metadata[key] = (depsolve.load_pool(metas, BASEARCH), depsolve.load_comps(metas))
        return self._metadata[key]


def compose_tree(tf: Treefile, session: Session) -> ComposeResult:
    """Compose the tree onto its candidate ref, test it, and publish it if it passes."""
    validate_for_compose(tf)
    opts = session.options
    signer = session.signer
    packages = resolve_packages(tf, session)
    inputhash = cm.input_hash(tf, packages)
    published = cm.previous_commit(session.out_repo, tf.ref)
    latest = cm.previous_commit(session.out_repo, candidate_ref(tf.ref)) or published
    if latest and latest.inputhash == inputhash and not opts.force:
        settled = _unchanged(tf, latest, published, len(packages), session)
        if settled is not None:
            return settled
    cached = ensure_cached(session.build_repo, packages, opts.cachedir)
    version = cm.next_version(tf, latest.version if latest else None)
    previous = published.checksum if published else None
    work = Path(tempfile.mkdtemp(prefix="compose-", dir=opts.cachedir))
    try:
        rootfs = work / "rootfs"
        devino = OSTree.RepoDevInoCache.new()
        kernel = assemble_tree(tf, session.build_repo, cached, rootfs, devino)
        metadata = cm.commit_metadata(
            tf, packages, version=version, inputhash=inputhash, kernel=kernel
        )
        commit = cm.commit_rootfs(
            session.build_repo,
            rootfs,
            devino,
            subject=_subject(tf, version),
            parent=previous,
            metadata=metadata,
        )
        stage_candidate(session.build_repo, session.out_repo, commit, tf.ref)
        results = test_tree(rootfs, tf, commit, version, packages)
    finally:
        # Tens of thousands of directories: removed while the commit is published.
        remover = remove_in_background(work)
    try:
        record_results(session.out_path, results)
        if results.failed:
            return ComposeResult(tf.ref, commit, version, len(packages), changed=True,
                                 published=False, failed_checks=tuple(results.failed))  # fmt: skip
        promote(session.out_repo, commit, tf.ref, previous, signer=signer,
                keep_versions=opts.keep_versions)  # fmt: skip
    finally:
        remover.join()
    return ComposeResult(tf.ref, commit, version, len(packages), changed=True)


def test_tree(
    rootfs: Path, tf: Treefile, commit: str, version: str | None, packages: Sequence[Package]
) -> CommitResults:
    started = time.time()
    checks = run_checks(rootfs, tf, [p.nevra for p in packages])
    return CommitResults(commit, tf.ref, version, started, tuple(checks))


def _unchanged(
    tf: Treefile,
    latest: cm.PreviousCommit,
    published: cm.PreviousCommit | None,
    packages: int,
    session: Session,
) -> ComposeResult | None:
    """The inputs did not change since the newest commit: it is published, or it failed
    its tests and stays failed, or it passed them and an interrupted publish is finished
    now. None: it was never tested (a compose was interrupted), so compose again."""
    if published is not None and published.checksum == latest.checksum:
        return ComposeResult(tf.ref, latest.checksum, latest.version, packages, changed=False)
    results = load_results(session.out_path, latest.checksum)
    if results is None:
        return None
    if results.failed:
        return ComposeResult(tf.ref, latest.checksum, latest.version, packages, changed=False,
                             published=False, failed_checks=tuple(results.failed))  # fmt: skip
    promote(session.out_repo, latest.checksum, tf.ref, published.checksum if published else None,
            signer=session.signer, keep_versions=session.options.keep_versions)  # fmt: skip
    return ComposeResult(tf.ref, latest.checksum, latest.version, packages, changed=True)


def resolve_packages(tf: Treefile, session: Session) -> list[Package]:
    pool, comps = session.metadata_for(tf)
    lock = depsolve.read_lockfile(session.options.lockfile) if session.options.lockfile else None
    specs = depsolve.expand_groups(comps, tf.packages)
    packages = depsolve.resolve(pool, specs, exclude=tf.exclude_packages, lock=lock)
    if lock:
        depsolve.check_lock_digests(packages, lock)
    if session.options.write_lockfile_to:
        depsolve.write_lockfile(session.options.write_lockfile_to, packages)
    return packages


def ensure_cached(
    repo: OSTree.Repo, packages: Sequence[Package], cachedir: Path
) -> list[CachedPackage]:
    """Import each package not yet in the package cache (downloading only those)."""
    cache = PackageCache(repo)
    refs = {p.nevra: cache_ref(p.name, p.evr, p.arch) for p in packages}
    missing = [p for p in packages if cache.lookup(refs[p.nevra], p.sha256) is None]
    if missing:
        paths = download_packages(missing, cachedir)
        with ot.transaction(repo), Progress("Importing", total=len(missing)) as bar:
            for p in missing:
                cache.import_rpm(paths[p.nevra], refs[p.nevra], p.sha256)
                bar.advance()
    found = [cache.lookup(refs[p.nevra], p.sha256) for p in packages]
    return [c for c in found if c is not None]


def assemble_tree(
    tf: Treefile,
    repo: OSTree.Repo,
    cached: Sequence[CachedPackage],
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
) -> str | None:
    """Build the final tree in rootfs; return the kernel version it boots."""
    checkout_packages(repo, cached, rootfs, devino)
    run_scriptlets(rootfs, cached, tf.ignore_scripts)
    kernel = pp.place_kernel(rootfs)
    pp.add_files(rootfs, tf)
    pp.remove_files(rootfs, tf)
    pp.enable_units(rootfs, tf)
    pp.run_postprocess(rootfs, tf)
    pp.clean_state_dirs(rootfs)
    pp.move_etc(rootfs)
    write_rpmdb(rootfs, [c.header_blob for c in cached])
    return kernel


def remove_in_background(path: Path) -> threading.Thread:
    def remove() -> None:
        try:
            shutil.rmtree(path)
        except OSError as e:
            log.warning("cannot remove build directory %s: %s", path, e)

    remover = threading.Thread(target=remove, name=f"rm {path.name}")
    remover.start()
    return remover


def _subject(tf: Treefile, version: str | None) -> str:
    return f"{tf.ref}: {version}" if version else tf.ref


__all__ = ["ComposeOptions", "ComposeResult", "RepoMetadata", "Session", "compose_tree"]
