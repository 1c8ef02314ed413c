"""`compose tree --print-only` on the real upstream manifests (data/treefiles/upstream):
Fedora CoreOS with its variables and conditional includes, every Fedora desktop, and
rpm-ostree's own examples. The expected package sets are computed here from the YAML
text of the files each chain includes (read with plain PyYAML), not with the loader."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedostree.model.treefile_load import load_treefile
from tests.support.cli import run
from tests.support.data import DATA

UPSTREAM = DATA / "treefiles/upstream"
FCOS = UPSTREAM / "fedora-coreos-config"
WORKSTATION = UPSTREAM / "workstation-ostree-config"
EXAMPLES = UPSTREAM / "rpm-ostree-examples"

# The files Fedora CoreOS's chain includes on x86_64 with releasever 40, prod false (in
# rpm-ostree's order: each file, then its includes in order, depth first).
FCOS_X86_64 = [
    "manifest.yaml",
    "manifests/fedora-coreos.yaml",
    "manifests/fedora-coreos-base.yaml",
    "manifests/kernel.yaml",
    "manifests/system-configuration.yaml",
    "manifests/ignition-and-ostree.yaml",
    "manifests/bootable-rpm-ostree.yaml",
    "manifests/file-transfer.yaml",
    "manifests/networking-tools.yaml",
    "manifests/user-experience.yaml",
    "manifests/shared-workarounds.yaml",
    "manifests/bootupd.yaml",
    "manifests/shared-el9.yaml",
    "manifests/shared-el10.yaml",
    "manifests/disable-zincati.yaml",  # prod == false
    "manifests/grub2-removals.yaml",  # basearch != "s390x"
    "manifests/exclude-dnf.yaml",  # releasever < 41
    "manifests/wifi-firmwares.yaml",  # releasever < 41
]
DESKTOPS = {
    "fedora-silverblue.yaml": "gnome-desktop-pkgs.yaml",
    "fedora-kinoite.yaml": "kde-desktop-pkgs.yaml",
    "fedora-lxqt.yaml": "lxqt-desktop-pkgs.yaml",
    "fedora-mate.yaml": "mate-desktop-pkgs.yaml",
    "fedora-pantheon.yaml": "pantheon-desktop-pkgs.yaml",
    "fedora-deepin.yaml": "deepin-desktop-pkgs.yaml",
    "fedora-vauxite.yaml": "xfce-desktop-pkgs.yaml",
    "fedora-base.yaml": None,
}
COMMON = ["fedora-common-ostree.yaml", "fedora-common-ostree-pkgs.yaml"]


def text_of(directory: Path, names: list[str]) -> list[dict[str, Any]]:
    return [yaml.safe_load((directory / name).read_text()) or {} for name in names]


def packages_in(docs: list[dict[str, Any]], arch: str = "x86_64") -> set[str]:
    """Every package the files name for `arch` (entries split at whitespace)."""
    return {
        name
        for doc in docs
        for key in ("packages", f"packages-{arch}")
        for entry in doc.get(key) or []
        for name in entry.split()
    }


def printed(path: Path, basearch: str = "x86_64") -> dict[str, Any]:
    return load_treefile(path, basearch=basearch).print_form()


# --- the command line ---

ALL = [
    FCOS / "manifest.yaml",
    *(WORKSTATION / name for name in DESKTOPS),
    EXAMPLES / "manifest.yaml",
    EXAMPLES / "fedora-rawhide-base.json",
    EXAMPLES / "fedora-rawhide-docker.json",
]


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_print_only_flattens_every_upstream_manifest(path: Path, tmp_path: Path) -> None:
    """No repository, no network, no cache: nothing is written."""
    r = run("compose", "tree", "--print-only", path, "--cachedir", tmp_path / "C")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    doc = json.loads(r.stdout)
    assert doc == load_treefile(path).print_form()
    assert doc["basearch"] == os.uname().machine
    assert doc["packages"] == sorted(set(doc["packages"]))
    assert not {"include", "arch-include", "conditional-include", "variables"} & set(doc)
    assert not (tmp_path / "C").exists()


# --- Fedora CoreOS ---


def test_fcos_package_set_is_its_chains() -> None:
    doc = printed(FCOS / "manifest.yaml")
    expected = packages_in(text_of(FCOS, FCOS_X86_64))
    assert set(doc["packages"]) == expected
    assert len(doc["packages"]) == len(expected) == 146
    assert {"irqbalance", "grub2", "grub2-efi-x64", "microcode_ctl", "shim"} <= expected
    wifi = text_of(FCOS, ["manifests/wifi-firmwares.yaml"])[0]["packages"]
    assert set(wifi) <= set(doc["packages"])  # releasever < 41
    assert "dnf5" not in doc["packages"]  # include-dnf.yaml is for releasever >= 41
    assert "qemu-user-static-x86" not in doc["packages"]  # not on x86_64


def test_fcos_keys_merged_from_the_chain() -> None:
    doc = printed(FCOS / "manifest.yaml")
    assert doc["ref"] == "fedora/x86_64/coreos/testing-devel"
    assert doc["releasever"] == 40
    assert doc["automatic-version-prefix"] == "40.<date:%Y%m%d>.dev"
    assert doc["mutate-os-release"] == "40"
    assert doc["add-commit-metadata"] == {"fedora-coreos.stream": "testing-devel"}
    assert doc["rojig"] == {
        "name": "fedora-coreos",
        "summary": "Fedora CoreOS testing-devel",
        "license": "MIT",
        "description": None,
    }
    assert doc["repos"] == ["fedora", "fedora-updates"]
    assert doc["lockfile-repos"] == ["fedora-coreos-pool"]
    assert {"dnf", "dnf5", "kernel-debug-core", "python3", "perl"} <= set(doc["exclude-packages"])
    removed = {entry[0] for entry in doc["remove-from-packages"]}
    assert {"grub2-tools", "cracklib-dicts", "systemd"} <= removed  # grub2: basearch != s390x
    assert "overlay/16disable-zincati" in doc["ostree-layers"]  # prod == false
    assert "overlay/08composefs" not in doc["ostree-layers"]  # releasever >= 41 only
    assert doc["ostree-layers"][0] == "overlay/16disable-zincati"  # a later include first
    assert doc["ostree-layers"][-1] == "overlay/15fcos"  # the includer's last
    assert doc["check-passwd"] == {"type": "file", "filename": "passwd"}
    assert doc["check-groups"] == {"type": "file", "filename": "group"}
    assert doc["etc-group-members"][-1] == "docker"
    assert (doc["boot-location"], doc["tmp-is-dir"], doc["machineid-compat"]) == (
        "modules",
        True,
        False,
    )
    assert doc["recommends"] is False
    assert doc["rpmdb"] == "sqlite"
    assert doc["container-cmd"] == ["/usr/bin/bash"]


def test_fcos_postprocess_in_rpm_ostrees_order() -> None:
    """An includer's scripts after its includes'; a later include's before an earlier
    one's: bootupd, ignition-and-ostree, system-configuration (the base's includes
    that have scripts, last first), the base's own, then fedora-coreos.yaml's."""
    order = [
        "manifests/bootupd.yaml",
        "manifests/ignition-and-ostree.yaml",
        "manifests/system-configuration.yaml",
        "manifests/fedora-coreos-base.yaml",
        "manifests/fedora-coreos.yaml",
    ]
    expected = [script for doc in text_of(FCOS, order) for script in doc.get("postprocess", [])]
    assert printed(FCOS / "manifest.yaml")["postprocess"] == expected
    assert len(expected) == 10


def test_fcos_for_another_architecture() -> None:
    x86 = printed(FCOS / "manifest.yaml")
    arm = printed(FCOS / "manifest.yaml", basearch="aarch64")
    assert arm["ref"] == "fedora/aarch64/coreos/testing-devel"
    assert arm["basearch"] == "aarch64"
    expected = packages_in(text_of(FCOS, FCOS_X86_64), arch="aarch64")
    assert set(arm["packages"]) == expected
    assert {"grub2-efi-aa64", "qemu-user-static-x86"} <= set(arm["packages"])
    assert not {"microcode_ctl", "grub2-efi-x64", "amd-ucode-firmware"} & set(arm["packages"])
    s390x = printed(FCOS / "manifest.yaml", basearch="s390x")
    assert "grub2-tools" not in {entry[0] for entry in s390x["remove-from-packages"]}
    assert {"/usr/sbin/zipl", "veritysetup"} <= set(s390x["packages"])
    assert x86["postprocess"] == arm["postprocess"]


# --- the Fedora desktops ---


@pytest.mark.parametrize("name", DESKTOPS, ids=str)
def test_desktop_package_sets_are_their_chains(name: str) -> None:
    chain = [name, *([DESKTOPS[name]] if DESKTOPS[name] else []), *COMMON]
    docs = text_of(WORKSTATION, chain)
    doc = printed(WORKSTATION / name)
    assert set(doc["packages"]) == packages_in(docs)
    assert doc["ref"] == f"fedora/rawhide/x86_64/{docs[0]['ref'].split('/')[-1]}"
    assert doc["rojig"]["name"] == docs[0]["rojig"]["name"]
    assert doc["automatic-version-prefix"] == "38"  # automatic_version_prefix, the legacy spelling
    assert doc["default-target"] == "graphical.target"  # default_target, likewise
    assert doc["check-passwd"] == {"type": "file", "filename": "passwd"}
    assert "shim" not in doc["packages"]  # packages-aarch64 only
    assert "grub2-efi-x64" in doc["packages"]  # packages-x86_64


def test_silverblue_exact_entries() -> None:
    doc = printed(WORKSTATION / "fedora-silverblue.yaml")
    assert len(doc["packages"]) == len(
        packages_in(
            text_of(WORKSTATION, ["fedora-silverblue.yaml", "gnome-desktop-pkgs.yaml", *COMMON])
        )
    )
    assert {"gnome-shell", "fedora-release-silverblue", "evince-thumbnailer", "flatpak"} <= set(
        doc["packages"]
    )
    assert doc["repos"] == ["fedora-rawhide"]
    assert doc["exclude-packages"] == [
        "PackageKit",
        "gstreamer1-plugin-openh264",
        "mozilla-openh264",
        "openh264",
    ]


def test_kinoite_excludes_after_the_common_ones() -> None:
    doc = printed(WORKSTATION / "fedora-kinoite.yaml")
    own = text_of(WORKSTATION, ["fedora-kinoite.yaml"])[0]["exclude-packages"]
    assert doc["exclude-packages"][-len(own) :] == own


# --- rpm-ostree's examples ---


def test_rpm_ostree_example_json_include() -> None:
    base = json.loads((EXAMPLES / "fedora-rawhide-base.json").read_text())
    docker = json.loads((EXAMPLES / "fedora-rawhide-docker.json").read_text())
    doc = printed(EXAMPLES / "fedora-rawhide-docker.json")
    assert doc["ref"] == docker["ref"]
    assert set(doc["packages"]) == packages_in([base, docker])
    assert doc["units"] == docker["units"]
    assert doc["gpg-key"] == base["gpg-key"]
