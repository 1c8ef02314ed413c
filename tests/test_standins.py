"""The stand-in universes (tests/support/standins*.py) checked as fixtures: they resolve
with libsolv to what the manifests promise, the RPMs say what rpm would, and a tree
composed from them with today's `compose tree` runs the manifests' postprocess scripts
(in bubblewrap, with Debian's bash, the systemctl stand-in, ...)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import solv

from fedostree.engine import depsolve
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from fedostree.engine.resolve import Request, resolve
from fedostree.engine.sandbox import bwrap_available
from fedostree.model.treefile_load import load_treefile
from tests.support.standins import (
    FCOS_CONFIG,
    WORKSTATION_CONFIG,
    Evra,
    StandinRepos,
    fcos_lock_evras,
    fcos_manifest_names,
    silverblue_manifest_names,
)
from tests.support.standins_fcos import fcos_standins
from tests.support.standins_silverblue import silverblue_standins

FCOS_MANIFEST = FCOS_CONFIG / "manifest.yaml"
SILVERBLUE_MANIFEST = WORKSTATION_CONFIG / "fedora-silverblue.yaml"
FCOS_EXCLUDED_RECOMMENDS = {
    "python3",
    "perl-interpreter",
    "grubby",
    "NetworkManager-initscripts-ifcfg-rh",
}
SILVERBLUE_EXCLUDED = {"PackageKit", "gstreamer1-plugin-openh264", "mozilla-openh264", "openh264"}

needs_bwrap = pytest.mark.skipif(bwrap_available() is not None, reason=str(bwrap_available()))


def load(repo: Path) -> solv.Pool:
    meta = RepoMetadata(RepoConfig("standins", repo.as_uri(), repo), repo, "rev")
    return depsolve.load_pool([meta], "x86_64")


def solve(pool: solv.Pool, names: tuple[str, ...], *, recommends: bool) -> set[str]:
    """libsolv as dnf and rpm-ostree use it, with or without weak dependencies."""
    jobs = []
    for name in names:
        flags = solv.Selection.SELECTION_NAME | solv.Selection.SELECTION_PROVIDES
        jobs += pool.select(name, flags).jobs(solv.Job.SOLVER_INSTALL)
    solver = pool.Solver()
    solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, int(not recommends))
    assert solver.solve(jobs) == []
    return {s.name for s in solver.transaction().newsolvables()}


def rpm_query(repo: Path, filename: str, *args: str) -> list[str]:
    out = subprocess.run(
        ["rpm", "-qp", *args, str(repo / "Packages" / filename)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()


# --- Fedora CoreOS ----------------------------------------------------------------------


def test_fcos_names_resolve_to_exactly_the_lockfile_without_recommends(fcos_repo: Path) -> None:
    lock = fcos_lock_evras()
    pool = load(fcos_repo)
    assert solve(pool, fcos_manifest_names(), recommends=False) == set(lock)
    resolved = resolve(pool, Request(packages=tuple(fcos_manifest_names())))
    versions = {p.name: p.evra for p in resolved}
    assert {name: versions[name] for name in lock} == {n: str(e) for n, e in lock.items()}


def test_fcos_excluded_packages_come_only_as_recommends(fcos_repo: Path) -> None:
    pool = load(fcos_repo)
    with_recommends = solve(pool, fcos_manifest_names(), recommends=True)
    assert FCOS_EXCLUDED_RECOMMENDS | {"gvisor-tap-vsock"} <= with_recommends
    tf = load_treefile(FCOS_MANIFEST, basearch="x86_64")
    resolved = {
        p.name
        for p in resolve(
            load(fcos_repo), Request(packages=tf.packages, exclude=tf.exclude_packages)
        )
    }
    assert not resolved & set(tf.exclude_packages)
    assert resolved - set(fcos_lock_evras()) == {"gvisor-tap-vsock"}  # a Recommends


def test_fcos_rpms_carry_their_dependencies_and_versions(fcos_repo: Path) -> None:
    assert {"ncurses-libs", "libtinfo.so.6()(64bit)", "libc.so.6()(64bit)"} <= set(
        rpm_query(fcos_repo, "bash-5.2.26-3.fc40.x86_64.rpm", "--requires")
    )
    assert "libc.so.6()(64bit)" in rpm_query(
        fcos_repo, "glibc-2.39-22.fc40.x86_64.rpm", "--provides"
    )
    assert rpm_query(
        fcos_repo, "podman-5.2.5-1.fc40.x86_64.rpm", "--qf", "%{EPOCH}:%{VERSION}\\n"
    ) == ["5:5.2.5"]
    assert rpm_query(fcos_repo, "kexec-tools-2.0.29-1.fc40.x86_64.rpm", "--recommends") == [
        "grubby"
    ]
    assert "/usr/share/man/man8/iptables-legacy.8.gz" in rpm_query(
        fcos_repo, "iptables-legacy-1.8.10-7.fc40.x86_64.rpm", "--docfiles"
    )
    assert rpm_query(fcos_repo, "rpm-ostree-2024.8-1.fc40.x86_64.rpm", "--configfiles") == [
        "/etc/rpm-ostreed.conf"
    ]
    pre = "\n".join(rpm_query(fcos_repo, "chrony-4.6.1-1.fc40.x86_64.rpm", "--scripts"))
    assert "groupadd -r -g 992 chrony" in pre and "useradd -r -u 994 -g chrony" in pre
    assert "/usr/sbin/useradd" in rpm_query(
        fcos_repo, "chrony-4.6.1-1.fc40.x86_64.rpm", "--requires"
    )


def test_a_repository_with_one_package_bumped_builds_only_that_package(
    standin_repos: StandinRepos, fcos_repo: Path
) -> None:
    lock = fcos_lock_evras()
    bumped = dict(lock, jq=Evra.parse("1.7.1-99.fc40.x86_64"))
    rpms_before = set((standin_repos.root / "rpms").iterdir())
    repo = standin_repos.repo(fcos_standins(fcos_manifest_names(), bumped))
    assert len(set((standin_repos.root / "rpms").iterdir()) - rpms_before) == 1
    assert (repo / "Packages/jq-1.7.1-99.fc40.x86_64.rpm").is_file()
    assert not (repo / "Packages" / f"jq-{lock['jq']}.rpm").exists()
    assert standin_repos.repo(fcos_standins(fcos_manifest_names(), lock)) == fcos_repo


# --- Silverblue -------------------------------------------------------------------------


def test_silverblue_names_resolve_with_recommends_but_not_the_excluded(
    silverblue_repo: Path,
) -> None:
    tf = load_treefile(SILVERBLUE_MANIFEST, basearch="x86_64")
    universe = {p.name for p in silverblue_standins(silverblue_manifest_names())}
    resolved = {
        p.name
        for p in resolve(
            load(silverblue_repo), Request(packages=tf.packages, exclude=tf.exclude_packages)
        )
    }
    assert resolved == universe - SILVERBLUE_EXCLUDED
    assert {"gnome-tour", "p11-kit-server"} <= resolved  # only recommended
    assert solve(load(silverblue_repo), tf.packages, recommends=True) >= SILVERBLUE_EXCLUDED
