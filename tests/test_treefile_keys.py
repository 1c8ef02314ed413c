"""Every key rpm-ostree knows is classified: acted on, accepted without effect, accepted
only at a neutral value, or refused (exit 2, naming the key and the file). A truly
unknown key is a warning. Nobody gets a silently different tree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fedostree.errors import ConfigError
from fedostree.model.treefile_keys import (
    BOOTSTRAP,
    INFORMATIONAL,
    KEYS,
    LEGACY_ALIASES,
    NEUTRAL_VALUES,
    REFUSED,
    STRUCTURAL,
    is_known,
)
from tests.support.cli import run
from tests.support.data import DATA
from tests.support.treefiles import compose_error, config_error, load, write

TREEFILE_MD = DATA / "treefiles/upstream/rpm-ostree-examples/treefile.md"

# rpm-ostree's TreeComposeConfig (rust/src/treefile.rs at d5ef5f0), serde's kebab-case
# names: its own fields, BaseComposeConfigFields and DeriveConfigFields.
RPM_OSTREE_FIELDS = [
    "packages",
    "repo-packages",
    "cliwrap",
    "cliwrap-binaries",
    "edition",
    "ref",
    "metadata",
    "basearch",
    "variables",
    "repovars",
    "rojig",
    "repos",
    "lockfile-repos",
    "selinux",
    "ignore-devices",
    "selinux-label-version",
    "sysusers",
    "ima",
    "gpg-key",
    "include",
    "arch-include",
    "conditional-include",
    "bootstrap-packages",
    "ostree-layers",
    "ostree-override-layers",
    "exclude-packages",
    "platform-module",
    "container",
    "recommends",
    "documentation",
    "install-langs",
    "initramfs-args",
    "no-initramfs",
    "readonly-executables",
    "boot-location",
    "tmp-is-dir",
    "opt-usrlocal",
    "units",
    "default-target",
    "machineid-compat",
    "releasever",
    "automatic-version-prefix",
    "automatic-version-suffix",
    "mutate-os-release",
    "etc-group-members",
    "preserve-passwd",
    "check-passwd",
    "check-groups",
    "ignore-removed-users",
    "ignore-removed-groups",
    "postprocess-script",
    "postprocess",
    "add-files",
    "remove-files",
    "remove-from-packages",
    "add-commit-metadata",
    "repo-metadata",
    "advisories-metadata",
    "rpmdb",
    "rpmdb-normalize",
    "container-cmd",
    "base-refspec",
    "container-image-reference",
    "packages-local",
    "packages-local-fileoverride",
    "override-remove",
    "ex-override-replace",
    "override-replace-local",
    "initramfs",
    "custom",
    "override-commit",
    "unconfigured-state",
]


def _classes(name: str) -> list[str]:
    tables = {
        "acted on": KEYS,
        "structural": STRUCTURAL,
        "bootstrap": BOOTSTRAP,
        "informational": INFORMATIONAL,
        "neutral": NEUTRAL_VALUES,
        "refused": REFUSED,
    }
    return [what for what, table in tables.items() if name in table]


@pytest.mark.parametrize("name", RPM_OSTREE_FIELDS)
def test_every_rpm_ostree_field_is_classified_once(name: str) -> None:
    assert len(_classes(name)) == 1, (name, _classes(name))


def test_every_documented_key_is_known() -> None:
    documented = re.findall(r"^ \* `([a-z_$-]+)`", TREEFILE_MD.read_text(), re.MULTILINE)
    assert len(documented) == 60
    for name in documented:
        assert is_known(name.replace("$basearch", "x86_64")), name


def test_the_legacy_spellings_are_rpm_ostrees_only() -> None:
    """LegacyTreeComposeConfigFields: gpg_key, boot_location, default_target,
    automatic_version_prefix (and the documented bootstrap_packages)."""
    assert set(LEGACY_ALIASES) == {
        "gpg_key",
        "boot_location",
        "default_target",
        "automatic_version_prefix",
    }
    assert "bootstrap_packages" in BOOTSTRAP


def test_legacy_spellings_are_the_same_keys(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        """\
        default_target: graphical.target
        automatic_version_prefix: "38"
        boot_location: modules
        gpg_key: ABCD
        bootstrap-packages: [glibc]
        """,
    )
    assert tf.default_target == "graphical.target"
    assert tf.automatic_version_prefix == "38"
    assert tf.boot_location == "modules"
    assert tf.informational["gpg-key"] == "ABCD"
    assert tf.packages == ("glibc",)


def test_both_spellings_of_a_legacy_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", "default-target: a.target\ndefault_target: b.target\n")
    assert (
        config_error(path)
        == f"{path}: default_target: also given as default-target: use one spelling"
    )


@pytest.mark.parametrize(
    ("key", "spelled"),
    [
        ("exclude_packages", "exclude-packages"),
        ("packages_x86_64", "packages-x86_64"),
        ("remove_files", "remove-files"),
        ("initramfs_args", "initramfs-args"),
    ],
)
def test_other_underscore_spellings_are_errors(tmp_path: Path, key: str, spelled: str) -> None:
    """rpm-ostree does not know them (a YAML treefile is refused, a JSON one silently
    loses the key); fedostree used to accept some: an error now, never a silent change."""
    path = write(tmp_path, "tree.json", json.dumps({key: ["x"]}))
    assert config_error(path) == f"{path}: {key}: not an rpm-ostree key: it is spelled {spelled}"


# --- refused and neutral keys ---


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (
            "initramfs-args: [--no-hostonly]",
            "initramfs-args: not supported: fedostree's initramfs generator takes no dracut arguments, and it would change the tree",
        ),
        (
            "platform-module: platform:f36",
            "platform-module: not supported: fedostree does not support modularity, and it would change the tree",
        ),
        (
            "override-remove: [foo]",
            "override-remove: not supported: a client-side derivation key, and it would change the tree",
        ),
        ("rpmdb: host", 'rpmdb: "host": not supported by fedostree (it would change the tree)'),
        ("ima: true", "ima: true: not supported by fedostree (it would change the tree)"),
        (
            "container: true",
            "container: true: not supported by fedostree (it would change the tree)",
        ),
        (
            "selinux-label-version: 1",
            "selinux-label-version: 1: not supported by fedostree (it would change the tree)",
        ),
        (
            "selinux-label-version: false",
            "selinux-label-version: false: not supported by fedostree (it would change the tree)",
        ),
        (
            "opt-usrlocal: root",
            'opt-usrlocal: "root": not supported by fedostree (it would change the tree)',
        ),
        (
            "cliwrap-binaries: [kernel-install]",
            'cliwrap-binaries: ["kernel-install"]: not supported by fedostree (it would change the tree)',
        ),
    ],
)
def test_refused_keys_exit_2_naming_the_key_and_the_file(
    tmp_path: Path, text: str, what: str
) -> None:
    write(tmp_path, "base.yaml", text + "\n")
    tree = write(tmp_path, "tree.yaml", "include: base.yaml\nref: a/b\nrepos: [r]\npackages: [p]\n")
    assert compose_error(tree, tmp_path) == f"{tree} -> include -> base.yaml: {what}"


def test_neutral_values_are_accepted_and_printed(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        """\
        rpmdb: b-d-b
        ignore-devices: true
        ima: false
        container: false
        cliwrap: false
        selinux-label-version: 0
        opt-usrlocal: var
        sysusers: compose-auto
        rpmdb-normalize: false
        """,
    )
    assert tf.informational["rpmdb"] == "bdb"  # rpm-ostree's name for its alias b-d-b
    assert tf.print_form()["opt-usrlocal"] == "var"


def test_no_initramfs_is_a_key_of_the_model(tmp_path: Path) -> None:
    """It changes the tree (engine/kernel.py): in the input hash, printed, merged as a
    scalar (the includer's value wins)."""
    write(tmp_path, "base.yaml", "no-initramfs: false\n")
    tf = load(tmp_path, "include: base.yaml\nno-initramfs: true\n")
    assert tf.no_initramfs is True and tf.effective_no_initramfs
    assert tf.flattened()["no-initramfs"] is True
    assert tf.print_form()["no-initramfs"] is True
    assert "no-initramfs" not in tf.informational
    assert not load(tmp_path, "ref: a/b\n").effective_no_initramfs
    with pytest.raises(ConfigError, match="no-initramfs"):
        load(tmp_path, "no-initramfs: yes please\n")


def test_informational_keys_are_accepted_without_effect(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        """\
        rojig: {name: os, summary: an os, license: MIT}
        repo-metadata: detached
        advisories-metadata: disabled
        """,
    )
    assert tf.warnings == ()
    assert tf.informational["repo-metadata"] == "detached"
    flat = tf.flattened()
    assert "rojig" not in flat and "repo-metadata" not in flat


def test_unknown_keys_warn_and_are_printed_as_rpm_ostree_keeps_them(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.json", json.dumps({"ref": "a/b", "comment-packages": "why"}))
    r = run("compose", "tree", "--print-only", path)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"warning: {path}: unknown key 'comment-packages' ignored\n"
    assert json.loads(r.stdout)["comment-packages"] == "why"


def test_basearch_must_be_the_composes(tmp_path: Path) -> None:
    tf = load(tmp_path, "basearch: x86_64\n")
    assert tf.print_form()["basearch"] == "x86_64"
    path = write(tmp_path, "tree.yaml", "basearch: aarch64\n")
    assert config_error(path, basearch="x86_64") == (
        f"{path}: basearch: 'aarch64': cross-composes are not supported (this is x86_64)"
    )


def test_print_only_on_a_bad_treefile_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", "initramfs-args: [--no-hostonly]\n")
    r = run("compose", "tree", "--print-only", path)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        f"error: {path}: initramfs-args: not supported: fedostree's initramfs generator "
        "takes no dracut arguments, and it would change the tree"
    ]
