"""The stand-in universes (tests/support/standins*.py) checked as fixtures: they resolve
with libsolv to what the manifests promise, the RPMs say what rpm would, and a tree
composed from them with today's `compose tree` runs the manifests' postprocess scripts
(in bubblewrap, with Debian's bash, the systemctl stand-in, ...)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import solv
import yaml

from fedostree.core import depsolve
from fedostree.core.repomd import RepoConfig, RepoMetadata
from fedostree.core.sandbox import bwrap_available
from fedostree.model.treefile_load import load_treefile
from tests.support.cli import compose, ostree, rpmdb_names
from tests.support.rpms import write_treefile
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
    resolved = depsolve.resolve(pool, fcos_manifest_names())
    versions = {p.name: p.evra for p in resolved}
    assert {name: versions[name] for name in lock} == {n: str(e) for n, e in lock.items()}


def test_fcos_excluded_packages_come_only_as_recommends(fcos_repo: Path) -> None:
    pool = load(fcos_repo)
    with_recommends = solve(pool, fcos_manifest_names(), recommends=True)
    assert FCOS_EXCLUDED_RECOMMENDS | {"gvisor-tap-vsock"} <= with_recommends
    tf = load_treefile(FCOS_MANIFEST, basearch="x86_64")
    resolved = {
        p.name for p in depsolve.resolve(load(fcos_repo), tf.packages, exclude=tf.exclude_packages)
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


# What rpm-ostree has done by the time the manifest's postprocess scripts run, and today's
# compose does not: /etc shown as /usr/etc too, mutate-os-release, remove-from-packages.
FCOS_PRELUDE = """#!/usr/bin/bash
set -euo pipefail
ln -s ../etc /usr/etc
sed -i '$a OSTREE_VERSION=\\x2740.20261202.dev.0\\x27' /usr/lib/os-release
rm /usr/bin/systemd-firstboot /usr/lib/systemd/system-generators/systemd-gpt-auto-generator
rm /etc/grub.d/08_fallback_counting /etc/grub.d/10_reset_boot_success /etc/grub.d/12_menu_auto_hide
rm -r /usr/lib/systemd/user/grub-boot-success.* /usr/lib/systemd/system/grub-boot-indeterminate.service \
  /usr/lib/systemd/system/system-update.target.wants/grub-boot-indeterminate.service
"""
FCOS_EPILOGUE = "#!/usr/bin/sh\nrm /usr/etc\n"


@pytest.fixture(scope="module")
def fcos_scripts_tree(fcos_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tree composed from the FCOS stand-ins with today's `compose tree`, running the
    manifest's postprocess scripts after a prelude that stands in for rpm-ostree's layout."""
    tf = load_treefile(FCOS_MANIFEST, basearch="x86_64")
    work = tmp_path_factory.mktemp("fcos-scripts")
    treefile = {
        "ref": "standins/fcos",
        "repos": ["standins"],
        "packages": list(tf.packages),
        "exclude-packages": list(tf.exclude_packages),
        "remove-files": list(tf.remove_files),
        "postprocess": [FCOS_PRELUDE, *tf.postprocess, FCOS_EPILOGUE],
    }
    path = write_treefile(work / "config", fcos_repo.as_uri(), yaml.safe_dump(treefile), "standins")
    result = compose(path, work)
    assert result.exit_code == 0, result.stderr
    return checkout(work / "repo", "standins/fcos", work / "tree")


def checkout(repo: Path, ref: str, dest: Path) -> Path:
    ostree(repo, "checkout", ref, str(dest))
    return dest


@needs_bwrap
def test_fcos_postprocess_scripts_run_on_the_standins(fcos_scripts_tree: Path) -> None:
    tree = fcos_scripts_tree
    etc = tree / "usr/etc"
    assert (etc / "zincati/config.d/95-disable-on-dev.toml").read_text() == (
        "# https://github.com/coreos/fedora-coreos-tracker/issues/212\nupdates.enabled = false\n"
    )
    conf = (etc / "rpm-ostreed.conf").read_text()
    assert conf.startswith("# By default, this system has its OS updates managed by\n")
    assert conf.endswith(
        "[Daemon]\n#AutomaticUpdatePolicy=none\n#IdleExitTimeout=60\n#LockLayering=false\n"
    )
    assert (etc / "selinux/targeted/active/booleans.local").read_text() == (
        "container_use_cephfs=1\nvirt_use_samba=1\n"
    )
    dropin = tree / "usr/lib/systemd/system/ssh-host-keys-migration.service.d"
    assert (
        "ConditionPathExists=\n"
        in (dropin / "coreos-force-migration-on-every-boot.conf").read_text()
    )
    metadata = json.loads((tree / "usr/lib/bootupd/updates/EFI.json").read_text())
    assert metadata["files"] == [
        "EFI/BOOT/BOOTX64.EFI",
        "EFI/fedora/grubx64.efi",
        "EFI/fedora/shimx64.efi",
    ]


@needs_bwrap
def test_fcos_systemctl_standin_masks_and_presets(fcos_scripts_tree: Path) -> None:
    system = fcos_scripts_tree / "usr/etc/systemd/system"
    assert os.readlink(system / "dnsmasq.service") == "/dev/null"
    # rpm-ostree puts each include's scripts before those of the includes listed before
    # it: ignition-and-ostree.yaml's `rm -rf /etc/systemd/system/*` runs before
    # system-configuration.yaml's mask of systemd-repart, which stays.
    assert os.readlink(system / "systemd-repart.service") == "/dev/null"
    wants = system / "multi-user.target.wants"
    assert os.readlink(wants / "sshd.service") == "/usr/lib/systemd/system/sshd.service"
    assert (wants / "zincati.service").is_symlink() and not (wants / "docker.service").exists()
    assert (
        os.readlink(system / "getty.target.wants/getty@tty1.service")
        == "/usr/lib/systemd/system/getty@.service"
    )
    user = fcos_scripts_tree / "usr/etc/systemd/user"
    assert (user / "basic.target.wants/systemd-tmpfiles-setup.service").is_symlink()
    assert not (user / "timers.target.wants/grub-boot-success.timer").is_symlink()


@needs_bwrap
def test_fcos_broken_symlinks_are_removed_with_bash_arrays(fcos_scripts_tree: Path) -> None:
    alternatives = fcos_scripts_tree / "usr/etc/alternatives"
    assert os.readlink(alternatives / "iptables") == "/usr/sbin/iptables-nft"
    assert os.readlink(alternatives / "ip6tables-save") == "/usr/sbin/ip6tables-nft-save"
    assert not (alternatives / "iptables-man").is_symlink()  # its man page was removed
    build_ids = {os.readlink(p) for p in (fcos_scripts_tree / "usr/lib/.build-id").glob("*/*")}
    assert build_ids == {"../../../../usr/bin/systemctl"}


@needs_bwrap
def test_fcos_tree_has_the_users_and_a_working_shell(fcos_scripts_tree: Path) -> None:
    passwd = (fcos_scripts_tree / "usr/etc/passwd").read_text()
    assert "chrony:x:994:992:" in passwd and "sshd:x:74:74:" in passwd
    assert "docker:x:981:" in (fcos_scripts_tree / "usr/etc/group").read_text()
    assert set(rpmdb_names(fcos_scripts_tree)) == {*fcos_lock_evras(), "gvisor-tap-vsock"}


# --- Silverblue -------------------------------------------------------------------------


def test_silverblue_names_resolve_with_recommends_but_not_the_excluded(
    silverblue_repo: Path,
) -> None:
    tf = load_treefile(SILVERBLUE_MANIFEST, basearch="x86_64")
    universe = {p.name for p in silverblue_standins(silverblue_manifest_names())}
    resolved = {
        p.name
        for p in depsolve.resolve(load(silverblue_repo), tf.packages, exclude=tf.exclude_packages)
    }
    assert resolved == universe - SILVERBLUE_EXCLUDED
    assert {"gnome-tour", "p11-kit-server"} <= resolved  # only recommended
    assert solve(load(silverblue_repo), tf.packages, recommends=True) >= SILVERBLUE_EXCLUDED


@pytest.fixture(scope="module")
def silverblue_tree(silverblue_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tf = load_treefile(SILVERBLUE_MANIFEST, basearch="x86_64")
    work = tmp_path_factory.mktemp("silverblue-scripts")
    treefile = {
        "ref": "standins/silverblue",
        "repos": ["standins"],
        "packages": list(tf.packages),
        "exclude-packages": list(tf.exclude_packages),
        "postprocess": list(tf.postprocess),
    }
    path = write_treefile(
        work / "config", silverblue_repo.as_uri(), yaml.safe_dump(treefile), "standins"
    )
    result = compose(path, work)
    assert result.exit_code == 0, result.stderr
    return checkout(work / "repo", "standins/silverblue", work / "tree")


@needs_bwrap
def test_silverblue_postprocess_scripts_run_on_the_standins(silverblue_tree: Path) -> None:
    lib = silverblue_tree / "usr/lib"
    assert (
        lib / "systemd/journald.conf.d/10-persistent.conf"
    ).read_text() == "[Journal]\nStorage=persistent\n"
    assert os.readlink(silverblue_tree / "usr/sbin/glibc_post_upgrade.x86_64") == "../bin/true"
    # Upstream's heredoc ends at 'EOF' in quotes, which bash does not take for EOF: the
    # unit file gets the rest of the script, which never runs.
    unit = (lib / "systemd/system/fedora-silverblue-readonly-sysroot.service").read_text()
    assert unit.startswith("[Unit]\nDescription=Fedora Silverblue Read-Only Sysroot Migration\n")
    assert unit.endswith("systemctl enable fedora-silverblue-readonly-sysroot.service\n")
    assert not (silverblue_tree / "usr/libexec/fedora-silverblue-readonly-sysroot").exists()
    user = silverblue_tree / "usr/etc/systemd/user"
    assert (
        os.readlink(user / "sockets.target.wants/pipewire.socket")
        == "/usr/lib/systemd/user/pipewire.socket"
    )
    assert os.readlink(silverblue_tree / "usr/etc/systemd/system/display-manager.service") == (
        "/usr/lib/systemd/system/gdm.service"
    )
    passwd = (silverblue_tree / "usr/etc/passwd").read_text()
    assert "gdm:x:42:42:" in passwd and "polkitd:x:999:998:" in passwd
