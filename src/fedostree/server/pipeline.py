"""`compose tree`, as a recipe of small steps: fetch metadata, resolve, check the input
hash, download, import, assemble (packages, ostree layers, scriptlets, rpmdb), the
treefile's postprocessing, the final layout, commit, test, publish. The tree is built in
rpm-ostree's order (see `assemble_tree`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import libcomps
import solv

from fedostree.engine import commit as cm
from fedostree.engine import depsolve, resolve
from fedostree.engine import ostree as ot
from fedostree.engine.build import WORK_PREFIX, BuildRequest, build_tree, check_buildable
from fedostree.engine.depsolve import Package
from fedostree.engine.kernel import kernel_dirs
from fedostree.engine.layers import pull_layers, resolve_layers
from fedostree.engine.ostree import OSTree
from fedostree.engine.pinning import lockfile_for
from fedostree.engine.pkgcache import ensure_cached
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata, fetch_metadata
from fedostree.engine.treefile_repos import BASEARCH, repo_configs, repo_names
from fedostree.engine.workdirs import remove_stale
from fedostree.errors import ConfigError
from fedostree.model.lockfile import Lockfile, write_lockfile
from fedostree.model.treefile import Treefile
from fedostree.server.boot.check import BootOptions
from fedostree.server.boot.runner import BootRunner, boot_verdict, proof_verdict
from fedostree.server.candidates import candidate_refspec, check_tree_ref, migrate_candidates
from fedostree.server.checks import run_checks
from fedostree.server.deltas import publish_deltas
from fedostree.server.publish import Signer, promote, stage_candidate, update_summary
from fedostree.server.results import CheckResult, CommitResults, load_results, record_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComposeOptions:
    repo: Path
    cachedir: Path
    lockfile: Lockfile | None = None  # --lockfile, merged in order
    write_lockfile_to: Path | None = None
    lockfile_strict: bool = False  # only locked packages may be installed
    force: bool = False
    gpg_sign: str | None = None  # key id: sign published commits and the summary
    gpg_homedir: Path | None = None
    keep_versions: int = 10  # published commits kept per ref when pruning
    deltas: bool = True  # static deltas once the trees are published (publish_deltas)
    boot: BootOptions | None = field(default_factory=BootOptions)  # None: no boot check


@dataclass(frozen=True)
class ComposeResult:
    ref: str
    commit: str
    version: str | None
    packages: int
    changed: bool
    published: bool = True  # False: the tests failed, the published ref did not move
    failed_checks: tuple[str, ...] = ()
    derived: str | None = None  # built from an earlier commit: which, and what changed
    booted: bool = False  # it passed a boot check


@dataclass
class Session:
    """What several composes in one run share: the repositories and their metadata."""

    options: ComposeOptions
    _metadata: dict[tuple[RepoConfig, ...], tuple[solv.Pool, libcomps.Comps]] = field(
        default_factory=dict
    )
    _out_repo: OSTree.Repo | None = None
    _build_repo: OSTree.Repo | None = None
    _signer: Signer | None = None
    _candidates_migrated: bool = False
    _boots: BootRunner | None = None
    _stale_removed: bool = False

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

    def migrate_candidates(self) -> None:
        """Once per run: old-style candidate refs (refs/heads/candidates/REF, listed in the
        summary) become candidates:REF, and the summary is regenerated without them."""
        if self._candidates_migrated:
            return
        moved = migrate_candidates(self.out_repo)
        if moved:
            log.info("moved %d candidate refs to candidates:REF", len(moved))
            update_summary(self.out_repo, self.signer)
        self._candidates_migrated = True

    def remove_stale_work(self) -> None:
        """Once per run: the work directories a killed compose left in the cache."""
        if not self._stale_removed:
            remove_stale(self.options.cachedir, WORK_PREFIX)
            self._stale_removed = True

    @property
    def boots(self) -> BootRunner | None:
        """Where the trees' boot checks and proofs run; None without boot checks."""
        if self.options.boot is None:
            return None
        if self._boots is None:
            self._boots = BootRunner(self.options.boot, self.options.cachedir)
        return self._boots

    def metadata_for(self, tf: Treefile) -> tuple[solv.Pool, libcomps.Comps]:
        """Trees whose repositories resolve to the same URLs share one pool; the
        `lockfile-repos` join only when there is a lockfile (rpm-ostree fetches them only
        then)."""
        key = tuple(repo_configs(tf, with_lockfile_repos=self.options.lockfile is not None))
        if key not in self._metadata:
            metas = [fetch_metadata(c, self.options.cachedir) for c in key]
            self._metadata[key] = (depsolve.load_pool(metas, BASEARCH), depsolve.load_comps(metas))
        return self._metadata[key]


@dataclass
class PendingCompose:
    """A tree whose compose is done up to its checks; `finish` waits for its boot check,
    records its results and publishes it if they passed."""

    result: ComposeResult | None = None
    finisher: Callable[[], ComposeResult] | None = None

    def finish(self) -> ComposeResult:
        if self.result is None:
            assert self.finisher is not None
            self.result = self.finisher()
        return self.result


def compose_tree(tf: Treefile, session: Session) -> ComposeResult:
    """Compose the tree onto its candidate ref, test it, and publish it if it passes."""
    return start_compose(tf, session).finish()


def compose_trees(
    treefiles: Sequence[Treefile], session: Session, report: Callable[[ComposeResult], None]
) -> list[ComposeResult]:
    """Compose the trees one after the other while their boot checks run in parallel;
    report each result, in order, once it is final."""
    pending: list[PendingCompose] = []
    results = []
    try:
        for tf in treefiles:
            pending.append(start_compose(tf, session))
            while pending and pending[0].result is not None:  # no boot to wait for
                results.append(pending.pop(0).finish())
                report(results[-1])
    finally:
        for p in pending:  # also after an error: the started trees are finished
            results.append(p.finish())
            report(results[-1])
    return results


def start_compose(tf: Treefile, session: Session) -> PendingCompose:
    """Compose the tree onto its candidate ref and start its checks."""
    check_buildable(tf)
    check_tree_ref(tf.path, tf.ref)
    session.remove_stale_work()
    opts = session.options
    signer = session.signer
    layers = resolve_layers(tf, opts.repo)
    packages = resolve_packages(tf, session)
    session.migrate_candidates()  # the published repository is opened (or created) here
    inputhash = cm.input_hash(tf, packages, [layer.commit for layer in layers])
    published = cm.previous_commit(session.out_repo, tf.ref, local_only=True)  # not candidates:
    latest = cm.previous_commit(session.out_repo, candidate_refspec(tf.ref)) or published
    if latest and latest.inputhash == inputhash and not opts.force:
        settled = _unchanged(tf, latest, published, len(packages), session)
        if settled is not None:
            return PendingCompose(settled)
    cached = ensure_cached(session.build_repo, packages, opts.cachedir)
    pull_layers(session.build_repo, session.out_repo, layers)
    version = cm.next_version(tf, latest.version if latest else None)
    previous = published.checksum if published else None
    reuse = reusable_commit(session.build_repo, latest)
    request = BuildRequest(tf, packages, cached, inputhash, version, previous, layers,
                           *recorded_resolution(tf, packages, session), reuse=reuse)  # fmt: skip
    build = build_tree(session.build_repo, request, opts.cachedir, previous_repo=session.out_repo)
    try:
        commit = build.commit
        stage_candidate(session.build_repo, session.out_repo, commit, tf.ref)
        started = time.time()
        checks = run_checks(build.rootfs, tf, [p.nevra for p in packages])
        bootable = bool(kernel_dirs(build.rootfs))
    finally:
        # Tens of thousands of directories: removed while the commit boots and is published.
        remover = build.discard()
    runner = session.boots if bootable else None
    boot = runner.check(session.out_path, commit, tf.ref) if runner is not None else None

    def finish() -> ComposeResult:
        try:
            all_checks = checks + ([boot_verdict(boot, tf.ref)] if boot is not None else [])
            results = CommitResults(commit, tf.ref, version, started, tuple(all_checks))
            record_results(session.out_path, results)
            if results.failed:
                return ComposeResult(tf.ref, commit, version, len(packages), changed=True,
                                     published=False, failed_checks=tuple(results.failed),
                                     derived=build.derived)  # fmt: skip
            promote(session.out_repo, commit, tf.ref, signer=signer,
                    keep_versions=opts.keep_versions)  # fmt: skip
        finally:
            remover.join()
        return ComposeResult(tf.ref, commit, version, len(packages), changed=True,
                             derived=build.derived, booted=boot is not None)  # fmt: skip

    if boot is None:
        return PendingCompose(finish())
    return PendingCompose(finisher=finish)


def run_boot_tests(
    session: Session, results: Sequence[ComposeResult]
) -> list[tuple[str, CheckResult]]:
    """After publishing: `compose boot-test` (server/boot/proof.py) for every tree that
    passed a boot check and has an earlier published version, in parallel; each outcome
    is added to the new commit's test results as the check `boot-test`."""
    runner = session.boots
    proven = [r for r in results if r.booted and r.published and r.changed]
    proven = [r for r in proven if ot.commit_parent(session.out_repo, r.commit) is not None]
    if runner is None or not proven:
        return []
    futures = [runner.prove(session.out_path, r.ref) for r in proven]
    checks = [proof_verdict(f, r.ref) for f, r in zip(futures, proven, strict=True)]
    for r, check in zip(proven, checks, strict=True):
        recorded = load_results(session.out_path, r.commit)
        if recorded is not None:
            record_results(session.out_path, replace(recorded, checks=(*recorded.checks, check)))
    return [(r.ref, check) for r, check in zip(proven, checks, strict=True)]


def recorded_resolution(
    tf: Treefile, packages: Sequence[Package], session: Session
) -> tuple[list[RepoConfig], Lockfile]:
    """The repositories (with the lockfile-repos, which a rebuild from the lockfile reads)
    and the lockfile the commit records."""
    try:
        configs = repo_configs(tf, with_lockfile_repos=True)
    except ConfigError:  # a lockfile-repos entry no .repo file defines: unused without one
        configs = repo_configs(tf)
    pool, _ = session.metadata_for(tf)
    return configs, lockfile_for(packages, [repo.appdata for repo in pool.repos_iter()])


def publish_deltas_after(session: Session, results: Sequence[ComposeResult]) -> list[str]:
    """Once every tree of a run is published: the static deltas to the new commits, and
    the summary listing them (server/deltas.py); nothing if no tree was published."""
    if not session.options.deltas or not any(r.changed and r.published for r in results):
        return []
    made = publish_deltas(session.out_repo, session.signer)
    log.info("%d static deltas generated", len(made))
    return made


def reusable_commit(build_repo: OSTree.Repo, latest: cm.PreviousCommit | None) -> str | None:
    """The ref's newest commit (candidate or published), if the build repository still
    has it: the warm recompose derives the new tree from it (engine/incremental.py)."""
    if latest is None or not ot.has_commit(build_repo, latest.checksum):
        return None
    return latest.checksum


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
    promote(session.out_repo, latest.checksum, tf.ref, signer=session.signer,
            keep_versions=session.options.keep_versions)  # fmt: skip
    return ComposeResult(tf.ref, latest.checksum, latest.version, packages, changed=True)


def resolve_packages(tf: Treefile, session: Session) -> list[Package]:
    """The treefile's package set, pinned by the lockfile if there is one; what the
    treefile gets wrong is refused before any metadata is fetched."""
    opts = session.options
    resolve.check_treefile_request(tf, opts.lockfile, repo_names(tf))
    pool, comps = session.metadata_for(tf)
    request = resolve.request_for(tf, comps, opts.lockfile, opts.lockfile_strict)
    packages = resolve.resolve(pool, request)
    if opts.write_lockfile_to:
        repos = [repo.appdata for repo in pool.repos_iter()]
        write_lockfile(opts.write_lockfile_to, lockfile_for(packages, repos))
    return packages


__all__ = [
    "ComposeOptions", "ComposeResult", "RepoMetadata", "Session", "compose_tree", "repo_configs",
    "repo_names",
]  # fmt: skip
