"""The real upstream manifests (data/treefiles/upstream) composed as rpm-ostree composes
them: Fedora CoreOS from fedora-coreos-config/manifest.yaml, with and without its
lockfile, and Silverblue from workstation-ostree-config/fedora-silverblue.yaml.

Fedora's mirrors are out of reach: each manifest directory is copied with its `.repo`
files replaced by ones that give the repository ids the manifest names to a local
repository of stand-ins (tests/support/standins*.py). FCOS's ostree-layers are committed
beforehand with the stock `ostree commit`, as coreos-assembler commits overlay.d. What a
user checks is read with the stock `ostree` and `rpm` CLIs from a checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import Result, error_message, ostree, refs, run
from tests.support.standins import (
    FCOS_CONFIG,
    WORKSTATION_CONFIG,
    Evra,
    StandinRepos,
    fcos_lock_evras,
    fcos_manifest_names,
    silverblue_manifest_names,
)
from tests.support.standins_expect import (
    check_fcos_links,
    check_fcos_postprocess,
    check_fcos_units,
    check_silverblue_postprocess,
)
from tests.support.standins_fcos import fcos_standins
from tests.support.standins_silverblue import silverblue_standins

pytestmark = pytest.mark.slow

FCOS_REF = "fedora/x86_64/coreos/testing-devel"
SILVERBLUE_REF = "fedora/rawhide/x86_64/silverblue"
KVER = "6.11.4-201.fc40.x86_64"
FCOS_LOCKFILE = "manifest-lock.x86_64.json"
FCOS_OVERRIDES = "manifest-lock.overrides.yaml"
SILVERBLUE_EXCLUDED = {"PackageKit", "gstreamer1-plugin-openh264", "mozilla-openh264", "openh264"}
# The ostree-layers the FCOS manifests name, as small trees (path -> content; a path
# ending in "*" is executable).
OVERLAYS = {
    "05core": {
        "usr/lib/systemd/journald.conf.d/10-coreos-persistent.conf": "[Journal]\nStorage=persistent\n"
    },
    "07fix-selinux-labels": {
        "usr/lib/systemd/system/coreos-fix-selinux-labels.service": "[Unit]\n"
    },
    "08nouveau": {"usr/lib/modprobe.d/blacklist-nouveau.conf": "blacklist nouveau\n"},
    "09misc": {"usr/lib/coreos/misc.txt": "misc\n"},
    "15fcos": {"usr/lib/coreos/fcos.txt": "Fedora CoreOS\n"},
    "16disable-zincati": {
        "usr/lib/zincati/config.d/90-disable-on-non-production-stream.toml": "[updates]\nenabled = false\n"
    },
    "20platform-chrony": {
        "usr/lib/systemd/system-generators/coreos-platform-chrony-config*": "#!/bin/sh\n"
    },
    "25azure-udev-rules": {"usr/lib/udev/rules.d/66-azure-storage.rules": "# azure\n"},
    "30lvmdevices": {"usr/lib/systemd/system/coreos-populate-lvmdevices.service": "[Unit]\n"},
    "40grub": {"usr/lib/bootupd/grub2-static/grub-static-efi.cfg": "# grub\n"},
}


@dataclass(frozen=True)
class Composed:
    result: Result
    manifest: Path
    repo: Path
    tree: Path


# --- set-up -------------------------------------------------------------------------------


def manifest_copy(source: Path, dest: Path, repos: dict[str, str]) -> Path:
    """The manifest directory with its .repo files replaced: each repo id -> baseurl."""
    shutil.copytree(source, dest)
    for repo_file in dest.glob("*.repo"):
        repo_file.unlink()
    (dest / "standins.repo").write_text(
        "".join(
            f"[{rid}]\nname={rid} (stand-ins)\nbaseurl={url}\ngpgcheck=0\n\n"
            for rid, url in repos.items()
        )
    )
    return dest


def fcos_config(dest: Path, standins: Path) -> Path:
    url = standins.as_uri()
    return manifest_copy(
        FCOS_CONFIG, dest, {"fedora": url, "fedora-updates": url, "fedora-coreos-pool": url}
    )


def commit_overlays(repo: Path, work: Path) -> None:
    """overlay/NAME refs in a new archive repository, committed by the stock ostree CLI."""
    subprocess.run(["ostree", "init", f"--repo={repo}", "--mode=archive"], check=True)
    for name, files in OVERLAYS.items():
        tree = work / "overlays" / name
        for rel, text in files.items():
            path = tree / rel.rstrip("*")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o755 if rel.endswith("*") else 0o644)
        ostree(repo, "commit", f"--branch=overlay/{name}", f"--tree=dir={tree}", "--owner-uid=0",
               "--owner-gid=0", "--no-xattrs", "--no-bindings", f"--subject=overlay {name}")  # fmt: skip


def compose(manifest: Path, work: Path, cache: Path, *extra: str | Path) -> Result:
    return run("compose", "tree", manifest, "--repo", work / "repo", "--cachedir", cache, *extra)


def checkout(repo: Path, ref: str, dest: Path) -> Path:
    ostree(repo, "checkout", ref, str(dest))
    return dest


def rpm_qa(tree: Path, fmt: str = "%{NAME}") -> set[str]:
    out = subprocess.run(
        ["rpm", "--dbpath", str(tree / "usr/share/rpm"), "-qa", "--qf", f"{fmt}\\n"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return set(out.split("\n")) - {""}


def promised_packages(manifest: Path) -> list[str]:
    """The packages `compose tree --print-only` says the manifest asks for."""
    result = run("compose", "tree", "--print-only", manifest)
    assert result.exit_code == 0, result.stderr
    packages = json.loads(result.stdout)["packages"]
    assert packages
    return list(packages)


def unprovided(tree: Path, names: list[str]) -> list[str]:
    """The names that no package in the tree's rpmdb provides (rpm -q --whatprovides)."""
    out = subprocess.run(
        ["rpm", "--dbpath", str(tree / "usr/share/rpm"), "-q", "--whatprovides", *names],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.startswith("no package provides")]


def metadata(repo: Path, ref: str, key: str) -> str:
    return ostree(repo, "show", f"--print-metadata-key={key}", ref).strip()


@pytest.fixture(scope="module")
def fcos_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fcos-cache")


def compose_fcos(standins: Path, work: Path, cache: Path, *extra: str) -> tuple[Result, Path]:
    config = fcos_config(work / "fedora-coreos-config", standins)
    commit_overlays(work / "repo", work)
    lockfiles = [arg for name in extra for arg in ("--lockfile", str(config / name))]
    return compose(config / "manifest.yaml", work, cache, *lockfiles), config


@pytest.fixture(scope="module")
def fcos(fcos_repo: Path, fcos_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Composed:
    work = tmp_path_factory.mktemp("fcos")
    result, config = compose_fcos(fcos_repo, work, fcos_cache)
    assert result.exit_code == 0, result.stderr
    tree = checkout(work / "repo", FCOS_REF, work / "tree")
    return Composed(result, config / "manifest.yaml", work / "repo", tree)


# --- Fedora CoreOS ----------------------------------------------------------------------


def test_fcos_commits_its_ref_with_version_and_stream(fcos: Composed) -> None:
    version = metadata(fcos.repo, FCOS_REF, "version").strip("'")
    assert re.fullmatch(r"40\.\d{8}\.dev\.0", version), version
    assert f"{FCOS_REF}: committed {version} " in fcos.result.stdout
    assert metadata(fcos.repo, FCOS_REF, "fedora-coreos.stream") == "'testing-devel'"
    assert metadata(fcos.repo, FCOS_REF, "ostree.linux") == f"'{KVER}'"


def test_fcos_installs_what_its_lockfile_lists(fcos: Composed) -> None:
    """recommends: false and exclude-packages: the manifest's names resolve to the
    lockfile's packages, no Recommends (gvisor-tap-vsock, python3, grubby, ...)."""
    lock = fcos_lock_evras()
    assert rpm_qa(fcos.tree) == set(lock)
    assert rpm_qa(fcos.tree, "%{NAME} %{EVR}.%{ARCH}") == {f"{n} {e}" for n, e in lock.items()}
    assert (fcos.tree / "usr/share/rpm/rpmdb.sqlite").is_file()  # rpmdb: sqlite


def test_fcos_installs_what_print_only_promised(fcos: Composed) -> None:
    promised = promised_packages(fcos.manifest)
    assert {"kernel", "moby-engine", "grub2", "shim", "iptables"} <= set(promised)  # x86_64
    assert unprovided(fcos.tree, promised) == []


def test_fcos_os_release_carries_the_version(fcos: Composed) -> None:
    version = metadata(fcos.repo, FCOS_REF, "version").strip("'")
    os_release = (fcos.tree / "usr/lib/os-release").read_text()
    assert f'VERSION="{version} (CoreOS)"\n' in os_release
    assert f'PRETTY_NAME="Fedora CoreOS {version}"\n' in os_release
    assert "VERSION_ID=40\n" in os_release
    assert os_release.endswith(f"OSTREE_VERSION='{version}'\n")
    assert os.readlink(fcos.tree / "usr/etc/os-release") == "../usr/lib/os-release"


def test_fcos_postprocess_edits_land_in_usr_etc(fcos: Composed) -> None:
    check_fcos_postprocess(fcos.tree)


def test_fcos_units_follow_presets_masks_and_default_target(fcos: Composed) -> None:
    check_fcos_units(fcos.tree)
    assert os.readlink(fcos.tree / "usr/lib/systemd/system/default.target") == "multi-user.target"


def test_fcos_users_and_groups_are_split_as_rpm_ostree_does(fcos: Composed) -> None:
    etc, lib = fcos.tree / "usr/etc", fcos.tree / "usr/lib"
    assert (etc / "passwd").read_text() == "root:x:0:0:Super User:/root:/bin/bash\n"
    passwd = (lib / "passwd").read_text()
    for entry in ("sshd:x:74:74:", "chrony:x:994:992:", "polkitd:x:999:998:", "zincati:x:"):
        assert entry in passwd
    assert "etcd:x:998:997:" in passwd  # from check-passwd's file, created by no package
    groups = {line.split(":")[0] for line in (etc / "group").read_text().splitlines()}
    assert groups == {
        "root",
        "wheel",
        "sudo",
        "systemd-journal",
        "adm",
        "docker",
    }  # etc-group-members
    assert "ssh_keys:x:999:" in (lib / "group").read_text()


def test_fcos_tree_layout(fcos: Composed) -> None:
    tree = fcos.tree
    assert (tree / "tmp").is_dir() and not (tree / "tmp").is_symlink()  # tmp-is-dir
    assert not (tree / "usr/etc/machine-id").exists()  # machineid-compat: false
    moddir = tree / f"usr/lib/modules/{KVER}"
    assert (moddir / "vmlinuz").is_file() and (moddir / "initramfs.img").is_file()
    assert list((tree / "boot").iterdir()) == []  # boot-location: modules
    assert not list((tree / "usr/lib/ostree-boot").glob("vmlinuz*"))
    assert (tree / "usr/lib/ostree-boot/efi/EFI/fedora/shimx64.efi").is_file()  # /boot's content


def test_fcos_commit_is_labeled_with_the_trees_policy(fcos: Composed) -> None:
    """selinux (default true): labels from the tree's file_contexts, /usr/etc as /etc."""
    for path, label in (("/usr/etc/passwd", "passwd_file_t"), ("/usr/bin/bash", "bin_t")):
        listing = ostree(fcos.repo, "ls", "-X", FCOS_REF, path)
        assert f"system_u:object_r:{label}:s0" in listing, listing


def test_fcos_removes_files_and_broken_links(fcos: Composed) -> None:
    tree = fcos.tree
    for gone in ("usr/share/doc", "usr/share/man", "usr/share/info"):  # remove-files
        assert not (tree / gone).exists()
    for gone in (  # remove-from-packages
        "usr/bin/systemd-firstboot",
        "usr/lib/systemd/system/systemd-firstboot.service",
        "usr/lib/systemd/system/sysinit.target.wants/systemd-firstboot.service",
        "usr/lib/systemd/system-generators/systemd-gpt-auto-generator",
        "usr/etc/grub.d/08_fallback_counting",
        "usr/lib/systemd/user/grub-boot-success.timer",
    ):
        assert not (tree / gone).exists(), gone
    assert (tree / "usr/etc/grub.d/00_header").is_file()
    assert (tree / "usr/lib/systemd/system/systemd-repart.service").is_file()  # not named
    check_fcos_links(tree)


def test_fcos_ostree_layers_are_in_the_tree(fcos: Composed) -> None:
    for files in OVERLAYS.values():
        for rel, text in files.items():
            assert (fcos.tree / rel.rstrip("*")).read_text() == text, rel
    assert os.access(
        fcos.tree / "usr/lib/systemd/system-generators/coreos-platform-chrony-config", os.X_OK
    )


def test_fcos_with_its_lockfile_and_overrides(
    fcos_repo: Path, fcos_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("fcos-locked")
    result, _ = compose_fcos(fcos_repo, work, fcos_cache, FCOS_LOCKFILE, FCOS_OVERRIDES)
    assert result.exit_code == 0, result.stderr
    tree = checkout(work / "repo", FCOS_REF, work / "tree")
    lock = fcos_lock_evras()
    assert rpm_qa(tree, "%{NAME} %{EVR}.%{ARCH}") == {f"{n} {e}" for n, e in lock.items()}


@pytest.fixture(scope="module")
def fcos_bumped_repo(standin_repos: StandinRepos) -> Path:
    """The FCOS stand-ins, with jq one release newer than the lockfile's."""
    lock = fcos_lock_evras()
    assert str(lock["jq"]) == "1.7.1-7.fc40.x86_64"
    return standin_repos.repo(
        fcos_standins(fcos_manifest_names(), dict(lock, jq=Evra.parse("1.7.1-8.fc40.x86_64")))
    )


def test_fcos_lockfile_naming_a_version_the_repos_lack_fails(
    fcos_bumped_repo: Path, fcos_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("fcos-mismatch")
    result, config = compose_fcos(fcos_bumped_repo, work, fcos_cache, FCOS_LOCKFILE, FCOS_OVERRIDES)
    # A configuration error: one line that names the lockfile, the package and the
    # version it pins; nothing is committed.
    message = error_message(result, 2)
    assert str(config / FCOS_LOCKFILE) in message
    assert "jq" in message and "1.7.1-7.fc40.x86_64" in message
    assert FCOS_REF not in refs(work / "repo")


def test_fcos_without_lockfile_takes_the_newer_standin(
    fcos_bumped_repo: Path, fcos_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("fcos-unlocked")
    result, _ = compose_fcos(fcos_bumped_repo, work, fcos_cache)
    assert result.exit_code == 0, result.stderr
    assert "jq 1.7.1-8.fc40.x86_64" in rpm_qa(
        checkout(work / "repo", FCOS_REF, work / "tree"), "%{NAME} %{EVR}.%{ARCH}"
    )


# --- Silverblue -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def silverblue(silverblue_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Composed:
    work = tmp_path_factory.mktemp("silverblue")
    config = manifest_copy(WORKSTATION_CONFIG, work / "workstation-ostree-config",
                           {"fedora-rawhide": silverblue_repo.as_uri()})  # fmt: skip
    manifest = config / "fedora-silverblue.yaml"
    result = compose(manifest, work, work / "cache")
    assert result.exit_code == 0, result.stderr
    return Composed(
        result, manifest, work / "repo", checkout(work / "repo", SILVERBLUE_REF, work / "tree")
    )


def test_silverblue_commits_its_ref_with_recommends_but_not_the_excluded(
    silverblue: Composed,
) -> None:
    assert (
        metadata(silverblue.repo, SILVERBLUE_REF, "version") == "'38'"
    )  # automatic_version_prefix
    assert f"{SILVERBLUE_REF}: committed 38 " in silverblue.result.stdout
    universe = {p.name for p in silverblue_standins(silverblue_manifest_names())}
    installed = rpm_qa(silverblue.tree)
    assert installed == universe - SILVERBLUE_EXCLUDED
    assert {"gnome-tour", "p11-kit-server", "grub2-pc", "shim-x64", "thermald"} <= installed


def test_silverblue_installs_what_print_only_promised(silverblue: Composed) -> None:
    promised = promised_packages(silverblue.manifest)
    assert {"gnome-shell", "fedora-release-silverblue", "grub2-pc", "shim-x64"} <= set(promised)
    assert unprovided(silverblue.tree, promised) == []


def test_silverblue_postprocess_scripts(silverblue: Composed) -> None:
    check_silverblue_postprocess(silverblue.tree)


def test_silverblue_tree(silverblue: Composed) -> None:
    tree = silverblue.tree
    assert (tree / "usr/share/doc/bash/README").is_file()  # documentation: true
    assert os.readlink(tree / "usr/lib/systemd/system/default.target") == "graphical.target"
    assert (tree / "usr/lib/os-release").read_text().endswith("OSTREE_VERSION='38'\n")
    assert "tss:x:59:59:" in (tree / "usr/lib/passwd").read_text()  # from check-passwd's file
    assert "gdm:x:42:42:" in (tree / "usr/lib/passwd").read_text()
    groups = {line.split(":")[0] for line in (tree / "usr/etc/group").read_text().splitlines()}
    assert groups == {"root", "wheel"}  # etc-group-members
    assert (tree / "usr/etc/machine-id").read_text() == ""  # machineid-compat (default)
    assert (tree / "tmp").is_dir() and not (tree / "tmp").is_symlink()  # tmp-is-dir
    assert (tree / "usr/lib/modules/6.2.0-0.rc4.31.fc38.x86_64/vmlinuz").is_file()
