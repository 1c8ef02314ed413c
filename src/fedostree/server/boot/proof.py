"""`fedostree compose boot-test REF`: rpm-ostree's upgrade-rollback test (coreos-assembler's
kola `rpmostree.upgrade-rollback`), with real boots.

    1. An installer deploys the previous version of REF into a fresh sysroot directory
       (its origin follows REF on a remote that is the published repository); boot it.
    2. Between boots, as an admin would: a file is written in the booted deployment's
       /etc, then fedostree's client runs `upgrade` on the sysroot; boot: the new commit
       is booted, and the /etc file came along (libostree's three-way /etc merge).
    3. The client's `rollback`; boot: the previous commit is booted again.

Each boot's init counts the boots in /var; the counter reaching 3 shows /var persisting
across deployments. The sysroot, the disk image and the serial logs of the last run are
kept in WORKDIR for inspection (`ostree admin status --sysroot WORKDIR/sysroot`)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from fedostree.client import operations as ops
from fedostree.client.remotes import add_remote
from fedostree.client.sysroot import Sysroot
from fedostree.engine import ostree as ot
from fedostree.errors import FedostreeError
from fedostree.server.boot import image
from fedostree.server.boot.check import Booted, BootOptions, boot_sysroot, problem
from fedostree.server.boot.deploy import install, remove_sysroot

log = logging.getLogger(__name__)
REMOTE = "published"
PROBE = "etc/fedostree/boot-probe"


@dataclass(frozen=True)
class ProofBoot:
    step: str  # previous, upgraded, rolled-back
    expected: str  # the commit that should have booted
    version: str | None  # its version (commit metadata)
    booted: Booted

    def to_json(self) -> dict[str, object]:
        marker = self.booted.report.marker
        return {"step": self.step, "expected": self.expected, "commit_version": self.version,
                "commit": marker.commit if marker else None,
                "version": marker.version if marker else None,
                "boots": marker.boots if marker else None, "probe": self.booted.report.probe,
                "seconds": round(self.booted.run.seconds, 1), "marker": self.booted.marker}  # fmt: skip


@dataclass(frozen=True)
class Proof:
    ref: str
    previous: str
    current: str
    boots: tuple[ProofBoot, ...]
    workdir: Path


class ProofFailed(FedostreeError):
    """A boot of the proof did not show what it should."""


def previous_commit(repo: ot.OSTree.Repo, ref: str, current: str) -> str:
    parent = ot.commit_parent(repo, current)
    if parent is None or not ot.has_commit(repo, parent):
        raise FedostreeError(f"{ref}: no earlier published version to upgrade from")
    return parent


def boot_test(repo_path: Path, ref: str, workdir: Path, options: BootOptions,
              previous: str | None = None) -> Proof:  # fmt: skip
    """Run the proof for ref's newest published commit; ProofFailed names the step."""
    repo = ot.open_repo(repo_path)
    current = ot.resolve_rev(repo, ref, local_only=True)
    if current is None:
        raise FedostreeError(f"{ref}: not published in {repo_path}")
    previous = previous or previous_commit(repo, ref, current)
    prepare_workdir(workdir)
    sysroot, disk = workdir / "sysroot", workdir / "disk.img"
    install(sysroot, repo, previous, f"{REMOTE}:{ref}")
    add_remote(Sysroot(sysroot).repo, REMOTE, repo_path.absolute().as_uri(),
               gpg_verify=False, gpg_key=None)  # fmt: skip
    old, new = Expected.of(repo, previous), Expected.of(repo, current)
    boots = [boot_step(sysroot, disk, workdir, "previous", old, options)]
    probe = write_probe(sysroot, previous)
    root = Sysroot(sysroot)
    with root.locked():
        ops.upgrade(root, check=False, preview=False, download_only=False, allow_downgrade=False)
    boots.append(boot_step(sysroot, disk, workdir, "upgraded", new, options, probe))
    root = Sysroot(sysroot)
    with root.locked():
        root.rollback()
    boots.append(boot_step(sysroot, disk, workdir, "rolled-back", old, options, probe))
    return Proof(ref, previous, current, tuple(boots), workdir)


def prepare_workdir(workdir: Path) -> None:
    """An empty WORKDIR (the last run's sysroot removed first)."""
    remove_sysroot(workdir / "sysroot")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)


@dataclass(frozen=True)
class Expected:
    """What a boot of a commit must show: the commit, and its tree's os-release VERSION."""

    commit: str
    os_version: str | None  # VERSION in the tree's os-release
    version: str | None  # the commit's version (its metadata)

    @classmethod
    def of(cls, repo: ot.OSTree.Repo, commit: str) -> Expected:
        version = ot.commit_metadata_value(repo, commit, "version")
        return cls(commit, os_release_version(repo, commit), version)


def os_release_version(repo: ot.OSTree.Repo, commit: str) -> str | None:
    """VERSION of /usr/lib/os-release (or /usr/etc/os-release, /etc in a commit)."""
    for path in ("/usr/lib/os-release", "/usr/etc/os-release"):
        data = ot.read_commit_file(repo, commit, path)
        if data is None:
            continue
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("VERSION="):
                return line.split("=", 1)[1].strip().strip('"')
    return None


def boot_step(sysroot: Path, disk: Path, workdir: Path, step: str, expected: Expected,
              options: BootOptions, probe: str | None = None) -> ProofBoot:  # fmt: skip
    """Boot the sysroot, read back what the boot changed, and check the marker."""
    number = {"previous": 1, "upgraded": 2, "rolled-back": 3}[step]
    booted = boot_sysroot(sysroot, disk, workdir / f"serial-{number}-{step}.log", options.timeout)
    image.read_back(disk, sysroot)
    trouble = problem(booted, expected.commit, options.timeout)
    marker = booted.report.marker
    if trouble is None and marker is not None and marker.version != (expected.os_version or ""):
        trouble = (f"booted os-release VERSION {marker.version!r}, not the tree's "
                   f"{expected.os_version!r}")  # fmt: skip
    if trouble is None and marker is not None and marker.boots != number:
        trouble = f"/var did not persist: the boot counter says {marker.boots}, not {number}"
    if trouble is None and probe is not None and booted.report.probe != probe:
        trouble = (f"the /etc change made before the upgrade is gone: the init saw "
                   f"{booted.report.probe!r}, not {probe!r}")  # fmt: skip
    if trouble is not None:
        raise ProofFailed(f"boot {number} ({step}, {expected.commit[:12]}): {trouble}; serial log "
                          f"{workdir / f'serial-{number}-{step}.log'}")  # fmt: skip
    log.info("boot %d (%s): %s", number, step, booted.marker)
    return ProofBoot(step, expected.commit, expected.version, booted)


def write_probe(sysroot: Path, deployed: str) -> str:
    """The admin's /etc change, in the booted (default) deployment's /etc."""
    root = Sysroot(sysroot)
    deployment = root.default()
    if deployment.get_csum() != deployed:
        raise ProofFailed(f"the default deployment is {deployment.get_csum()[:12]}, "
                          f"not {deployed[:12]}")  # fmt: skip
    text = f"written before the upgrade from {deployed[:12]}"
    path = root.deployment_dir(deployment) / PROBE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return text
