"""The client: a sysroot's deployments, through libostree's Sysroot and deployment API.
Each verb takes the sysroot lock, so two never interleave, and changes the boot
configuration only by libostree's atomic bootversion swap."""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedostree.engine import ostree as ot
from fedostree.engine.commit import INPUTHASH_KEY, PKGLIST_KEY
from fedostree.engine.derive import CLIENTLAYER_KEY, INACTIVE_KEY, LAYERED_KEY
from fedostree.engine.ostree import Gio, GLib, OSTree
from fedostree.engine.pkgcache import cached_refs
from fedostree.engine.pkglist import PkgId, parse_pkglist
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.origin import Origin, origin_from_keyfile

log = logging.getLogger(__name__)
BASE_REFS = "rpmostree/base"
LOCAL_RPMS = "var/cache/fedostree/local"  # copies of local RPMs the origins request
LOCAL_REF_PREFIX = "fedostree/local"  # trees the client assembled (rebase --local)
LOCAL_WORK_DIR = "ostree/repo/tmp/fedostree-local"  # their builds (beside the repository)


@dataclass(frozen=True)
class DeploymentInfo:
    index: int
    osname: str
    checksum: str
    serial: int
    refspec: str | None
    version: str | None
    timestamp: int
    packages: list[PkgId]
    base_checksum: str | None  # the pulled commit, when packages are layered on it
    requested: tuple[str, ...]  # packages the origin requests
    requested_local: tuple[str, ...]  # local RPMs the origin requests (NEVRAs)
    layered: tuple[str, ...]  # the NEVRAs layered on the base
    inactive: tuple[str, ...]  # requests the base provides
    booted: bool
    default: bool
    pending: bool
    rollback: bool
    pinned: bool
    treefile: str | None = None  # the treefile of a locally assembled tree
    inputhash: str | None = None  # the base commit's rpmostree.inputhash

    def to_json(self) -> dict[str, Any]:
        local = {"treefile": self.treefile, "inputhash": self.inputhash} if self.treefile else {}
        return {
            "index": self.index,
            "osname": self.osname,
            "checksum": self.checksum,
            "serial": self.serial,
            "origin": self.refspec,
            "version": self.version,
            "timestamp": self.timestamp,
            "base-checksum": self.base_checksum,
            "requested-packages": list(self.requested),
            "requested-local-packages": list(self.requested_local),
            "packages": [r for r in self.requested if r not in self.inactive],
            "layered-packages": list(self.layered),
            "inactive-requests": list(self.inactive),
            "package-count": len(self.packages),
            "booted": self.booted,
            "default": self.default,
            "pending": self.pending,
            "rollback": self.rollback,
            "pinned": self.pinned,
            **local,
        }


def split_refspec(refspec: str) -> tuple[str | None, str]:
    remote, sep, ref = refspec.partition(":")
    return (remote, ref) if sep else (None, refspec)


class Sysroot:
    """An opened, loaded sysroot."""

    def __init__(self, path: Path) -> None:
        self.path = path.absolute()
        if not (path / "ostree" / "repo").is_dir():
            raise ConfigError(
                f"{path}: not an OSTree sysroot (create one with 'fedostree admin init')"
            )
        self.sysroot = OSTree.Sysroot.new(Gio.File.new_for_path(str(path)))
        self.sysroot.load(None)
        self._pending: list[threading.Thread] = []

    def on_exit(self, work: threading.Thread) -> None:
        """Background work the verb waits for before it releases the sysroot lock."""
        self._pending.append(work)

    @property
    def repo(self) -> OSTree.Repo:
        return self.sysroot.repo()

    @contextlib.contextmanager
    def locked(self) -> Iterator[Sysroot]:
        """Hold the sysroot lock; wait (saying so) if another verb holds it."""
        _, acquired = self.sysroot.try_lock()
        if not acquired:
            log.warning("waiting for another operation on %s to finish", self.path)
            self.sysroot.lock()
        try:
            self.sysroot.load(None)
            yield self
        finally:
            for work in self._pending:
                work.join()
            self._pending.clear()
            self.sysroot.unlock()

    def deployments(self) -> list[OSTree.Deployment]:
        return list(self.sysroot.get_deployments())

    def booted(self) -> OSTree.Deployment | None:
        return self.sysroot.get_booted_deployment()

    def default(self) -> OSTree.Deployment:
        deployments = self.deployments()
        if not deployments:
            raise FedostreeError(
                f"{self.path}: no deployments (deploy one with 'fedostree rebase REF')"
            )
        return deployments[0]

    def osname(self) -> str:
        """The stateroot: the default deployment's, or the only one there is."""
        if self.deployments():
            return str(self.default().get_osname())
        stateroots = sorted(p.name for p in (self.path / "ostree/deploy").iterdir() if p.is_dir())
        if len(stateroots) != 1:
            raise FedostreeError(
                f"{self.path}: expected one stateroot, found {stateroots or 'none'}"
            )
        return stateroots[0]

    def refspec_of(self, deployment: OSTree.Deployment) -> str | None:
        origin = self.origin_or_none(deployment)
        return origin.refspec if origin is not None else None

    def origin_or_none(self, deployment: OSTree.Deployment) -> Origin | None:
        kf = deployment.get_origin()
        try:
            return origin_from_keyfile(kf, self._where(deployment)) if kf is not None else None
        except ConfigError:
            return None

    def origin_of(self, deployment: OSTree.Deployment) -> Origin:
        """The deployment's origin; an error if it has none (deployed by other tools)."""
        kf = deployment.get_origin()
        if kf is None:
            raise FedostreeError(f"{self._where(deployment)}: the deployment has no origin")
        return origin_from_keyfile(kf, self._where(deployment))

    def _where(self, deployment: OSTree.Deployment) -> str:
        return f"{self.deployment_dir(deployment)}.origin"

    def deployment_dir(self, deployment: OSTree.Deployment) -> Path:
        return Path(self.sysroot.get_deployment_directory(deployment).get_path())

    def describe(self) -> list[DeploymentInfo]:
        deployments = self.deployments()
        booted = self.booted()
        default_index = 0
        rollback_index = _rollback_index(deployments, booted)
        out = []
        for i, d in enumerate(deployments):
            md = ot.commit_metadata(self.repo, d.get_csum())
            origin = self.origin_or_none(d)
            layered = md.get(LAYERED_KEY, [])
            base = ot.commit_parent(self.repo, d.get_csum()) if md.get(CLIENTLAYER_KEY) else None
            requested = origin.requested if origin else ()
            base_md = ot.commit_metadata(self.repo, base) if base else md
            out.append(
                DeploymentInfo(
                    index=i,
                    osname=d.get_osname(),
                    checksum=d.get_csum(),
                    serial=d.get_deployserial(),
                    refspec=self.refspec_of(d),
                    version=md.get("version"),
                    timestamp=ot.commit_timestamp(self.repo, d.get_csum()),
                    packages=parse_pkglist(md.get(PKGLIST_KEY)),
                    base_checksum=base,
                    requested=requested,
                    requested_local=tuple(p.nevra for p in origin.requested_local)
                    if origin
                    else (),
                    layered=tuple(layered),
                    inactive=tuple(md.get(INACTIVE_KEY, requested if base is None else ())),
                    booted=booted is not None and d.equal(booted),
                    default=i == default_index,
                    pending=i == default_index and booted is not None and not d.equal(booted),
                    rollback=i == rollback_index,
                    pinned=d.is_pinned(),
                    treefile=origin.local_treefile if origin else None,
                    inputhash=base_md.get(INPUTHASH_KEY),
                )
            )
        return out

    def deploy(self, origin: Origin | str, commit: str, *, prune: bool = True) -> OSTree.Deployment:
        """Deploy commit as the new default; keep one rollback and pinned ones; prune.
        Without prune, the deployments dropped are removed but the repository is not
        walked for unreachable objects (a layering transaction adds few; `cleanup -b`
        or the next upgrade frees them)."""
        osname = self.osname()
        merge = self.sysroot.get_merge_deployment(osname)
        if isinstance(origin, str):
            origin = Origin(origin)
        keyfile = origin.to_keyfile()
        try:
            self.write_base_refs(also=[commit])  # before the write prunes the repository
            _, new = self.sysroot.deploy_tree(osname, commit, keyfile, merge, None, None)
            flags = OSTree.SysrootSimpleWriteDeploymentFlags.NONE
            if not prune:
                flags = OSTree.SysrootSimpleWriteDeploymentFlags.NO_CLEAN
            self.sysroot.simple_write_deployment(osname, new, merge, flags, None)
            self.write_base_refs()  # the dropped deployment's base goes at the next prune
            if not prune:
                self.sysroot.prepare_cleanup(None)
        except GLib.Error as e:
            self._discard_unfinished()
            raise FedostreeError(f"deploying {commit[:12]}: {e.message}") from e
        return new

    def write_base_refs(self, also: Sequence[str] = ()) -> None:
        """rpm-ostree's baselayer refs: `rpmostree/base/N` names the base of each layered
        deployment (and of the layered commits in also), so that pruning keeps it after
        the remote or local ref moved on; a rollback can then be layered again."""
        commits = [d.get_csum() for d in self.deployments()] + list(also)
        bases = list(dict.fromkeys(b for c in commits if (b := self._layered_base(c))))
        _, old = self.repo.list_refs_ext(BASE_REFS, OSTree.RepoListRefsExtFlags.NONE, None)
        with ot.transaction(self.repo) as repo:
            for ref in old:
                repo.transaction_set_ref(None, ref, None)
            for index, base in enumerate(bases):
                repo.transaction_set_ref(None, f"{BASE_REFS}/{index}", base)

    def _layered_base(self, commit: str) -> str | None:
        if not ot.commit_metadata_value(self.repo, commit, CLIENTLAYER_KEY):
            return None
        return ot.commit_parent(self.repo, commit)

    def _discard_unfinished(self) -> None:
        """Remove what a failed deployment left behind: its checked-out tree, and a new
        bootversion never switched to (libostree's cleanup, without pruning the repository)."""
        try:
            self.sysroot.load(None)
            self.sysroot.prepare_cleanup(None)
        except GLib.Error as e:
            log.warning("cleaning up after the failed deployment: %s", e.message)

    def rollback(self) -> OSTree.Deployment:
        deployments = self.deployments()
        index = _rollback_index(deployments, self.booted())
        if index is None:
            raise FedostreeError("no rollback deployment")
        target = deployments[index]
        reordered = [target] + [d for d in deployments if not d.equal(target)]
        # Nothing becomes unreachable, so skip libostree's post-clean (a prune that walks
        # every deployed commit): a rollback costs the same on any size of tree.
        opts = OSTree.SysrootWriteDeploymentsOpts()
        opts.do_postclean = False
        self.sysroot.write_deployments_with_options(reordered, opts, None)
        self.sysroot.prepare_cleanup(None)
        return target

    def deployment_at(self, index: int) -> OSTree.Deployment:
        """Deployment INDEX, counted as `status` lists them (0 is the default)."""
        deployments = self.deployments()
        if not 0 <= index < len(deployments):
            raise ConfigError(f"no deployment {index} (there are {len(deployments)})")
        return deployments[index]

    def set_pinned(self, index: int, pinned: bool) -> None:
        self.sysroot.deployment_set_pinned(self.deployment_at(index), pinned)

    def cleanup(self, *, pending: bool, rollback: bool) -> list[OSTree.Deployment]:
        """Remove the pending and/or rollback deployment, then prune unreferenced objects."""
        infos = self.describe()
        deployments = self.deployments()
        drop = {i.index for i in infos if not i.pinned and not i.booted and
                ((pending and i.pending) or (rollback and i.rollback))}  # fmt: skip
        if drop:
            self.sysroot.write_deployments(
                [d for i, d in enumerate(deployments) if i not in drop], None
            )
        self.sysroot.load(None)
        self.write_base_refs()
        self.drop_unused_local_refs()
        self.drop_unused_packages()
        self.drop_unused_local_rpms()
        remove_stale_work(self.path / LOCAL_WORK_DIR)
        self.sysroot.cleanup(None)
        return [deployments[i] for i in sorted(drop)]

    def drop_unused_local_rpms(self) -> None:
        """The kept copies of local RPMs (var/cache/fedostree/local) no origin requests."""
        wanted = {
            p.sha256
            for d in self.deployments()
            if (origin := self.origin_or_none(d)) is not None
            for p in origin.requested_local
        }
        for path in (self.path / LOCAL_RPMS).glob("*.rpm"):
            if path.stem not in wanted:
                path.unlink()

    def drop_unused_local_refs(self) -> list[str]:
        """The local refs (fedostree/local/...) of locally assembled trees: one no
        deployment follows is deleted; one whose commit no deployment uses (a build whose
        deployment was interrupted, or removed) goes back to the newest deployed build,
        so the prune that follows frees the commit. Returns the refs deleted."""
        _, refs = self.repo.list_refs(LOCAL_REF_PREFIX, None)
        deployed: dict[str, list[str]] = {}  # ref -> base commits, default first
        for d in self.deployments():
            origin = self.origin_or_none(d)
            if origin is not None and origin.is_local:
                base = self._base_of(d.get_csum())
                deployed.setdefault(origin.refspec, []).append(base)
        dropped = []
        with ot.transaction(self.repo):
            for name in refs:
                ref = f"{LOCAL_REF_PREFIX}/{name}"
                bases = deployed.get(ref)
                if not bases:
                    ot.set_ref(self.repo, ref, None)
                    dropped.append(ref)
                elif ot.resolve_rev(self.repo, ref) not in bases:
                    ot.set_ref(self.repo, ref, bases[0])
        return dropped

    def _base_of(self, commit: str) -> str:
        if ot.commit_metadata(self.repo, commit).get(CLIENTLAYER_KEY):
            return ot.commit_parent(self.repo, commit) or commit
        return commit

    def drop_unused_packages(self) -> list[str]:
        """Delete the package cache refs (rpmostree/pkg/...) of packages no deployment
        layers or, for a locally assembled tree, is built from, so the prune that follows
        frees them; returns their NEVRAs."""
        used = {
            str(n)
            for d in self.deployments()
            for n in ot.commit_metadata(self.repo, d.get_csum()).get(LAYERED_KEY, [])
        }
        for d in self.deployments():
            origin = self.origin_or_none(d)
            if origin is not None and origin.is_local:
                base_md = ot.commit_metadata(self.repo, self._base_of(d.get_csum()))
                used.update(p.nevra for p in parse_pkglist(base_md.get(PKGLIST_KEY)))
        dropped = []
        with ot.transaction(self.repo):
            for ref in cached_refs(self.repo):
                commit = ot.resolve_rev(self.repo, ref)
                nevra = (
                    ot.commit_metadata(self.repo, commit).get("rpmostree.nevra") if commit else None
                )
                if nevra not in used:
                    ot.set_ref(self.repo, ref, None)
                    dropped.append(str(nevra))
        return dropped


def remove_stale_work(workdir: Path) -> None:
    """What a killed local build left: the caller holds the sysroot lock, so none is in use."""
    if workdir.is_dir():
        for stale in workdir.iterdir():
            shutil.rmtree(stale, ignore_errors=True)


def _rollback_index(
    deployments: list[OSTree.Deployment], booted: OSTree.Deployment | None
) -> int | None:
    """rpm-ostree's rollback target: the deployment after the booted one (or after the
    default, when nothing is booted, as in an image being prepared offline)."""
    if len(deployments) < 2:
        return None
    if booted is not None and deployments[0].equal(booted):
        return 1
    if booted is not None:
        return next(i for i, d in enumerate(deployments) if d.equal(booted))
    return 1


def init_sysroot(path: Path, osname: str) -> None:
    """`ostree admin init-fs` plus `os-init`, with boot/loader in place for BLS entries."""
    path.mkdir(parents=True, exist_ok=True)
    sysroot = OSTree.Sysroot.new(Gio.File.new_for_path(str(path)))
    try:
        sysroot.ensure_initialized(None)
        sysroot.load(None)
        if not (path / "ostree/deploy" / osname).is_dir():  # idempotent, unlike os-init
            sysroot.init_osname(osname, None)
    except GLib.Error as e:
        raise FedostreeError(f"{path}: cannot initialize the sysroot: {e.message}") from e
    loader = path / "boot" / "loader"
    if not loader.exists() and not loader.is_symlink():
        (path / "boot" / "loader.0").mkdir(parents=True, exist_ok=True)
        loader.symlink_to("loader.0")
