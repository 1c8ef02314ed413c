"""The treefile model: JSON and YAML, include chains with rpm-ostree's merge rules,
per-architecture packages, variables, and errors that name the file and key path."""

from __future__ import annotations

import json
import logging
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from fedostree.compose.products import expand_treefiles, load_products
from fedostree.errors import ConfigError
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import load_treefile, validate_for_compose
from tests.support.cli import run
from tests.support.data import DATA

REAL_TREEFILES = DATA / "treefiles"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def config_error(path: Path, **kwargs: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_treefile(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- formats ---


def test_json_and_yaml_give_the_same_treefile(tmp_path: Path) -> None:
    doc = {
        "ref": "demo/x86_64/base",
        "repos": ["fedora", "updates"],
        "packages": ["kernel", "bash coreutils"],
        "exclude-packages": ["PackageKit"],
        "releasever": "39",
        "automatic-version-prefix": "39",
        "remove-files": ["usr/share/info"],
        "units": ["sshd.service"],
        "default-target": "multi-user.target",
        "ignore-scripts": ["glibc.post"],
        "postprocess": ["#!/bin/sh\ntrue\n"],
    }
    from_json = load_treefile(write(tmp_path, "tree.json", json.dumps(doc)))
    from_yaml = load_treefile(write(tmp_path, "tree.yaml", json.dumps(doc, indent=1)))
    assert from_json == replace(from_yaml, path=from_json.path)
    assert from_json.packages == ("kernel", "bash", "coreutils")
    assert from_json.repo_dirs == (tmp_path,)
    assert from_json.warnings == ()


def test_underscore_spellings_are_the_same_keys(tmp_path: Path) -> None:
    tf = load_treefile(
        write(
            tmp_path,
            "tree.yaml",
            """\
            default_target: graphical.target
            automatic_version_prefix: "38"
            exclude_packages: [nano]
            packages_x86_64: [grub2-pc]
            """,
        )
    )
    assert tf.default_target == "graphical.target"
    assert tf.automatic_version_prefix == "38"
    assert tf.exclude_packages == ("nano",)
    assert tf.packages == ("grub2-pc",)


def test_numbers_are_read_as_strings(tmp_path: Path) -> None:
    tf = load_treefile(
        write(tmp_path, "tree.yaml", "releasever: 39\nautomatic_version_prefix: 39\n")
    )
    assert (tf.releasever, tf.automatic_version_prefix) == ("39", "39")


def test_space_separated_names_in_one_string(tmp_path: Path) -> None:
    tf = load_treefile(
        write(
            tmp_path,
            "tree.yaml",
            """\
            packages:
              - openssh-server openssh-clients
              - "  podman   skopeo "
              - jq
            exclude-packages: ["python perl", nodejs]
            """,
        )
    )
    assert tf.packages == ("openssh-server", "openssh-clients", "podman", "skopeo", "jq")
    assert tf.exclude_packages == ("python", "perl", "nodejs")


# --- include chains ---


def test_include_chain_lists_append_included_first_and_scalars_override(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """\
        ref: base/ref
        repos: [fedora]
        packages: [kernel]
        releasever: "38"
        default-target: multi-user.target
        units: [sshd.service]
        remove-files: [usr/share/doc]
        """,
    )
    write(
        tmp_path,
        "mid.yaml",
        """\
        include: base.yaml
        ref: mid/ref
        repos: [updates]
        packages: [podman]
        automatic-version-prefix: "38"
        """,
    )
    top = write(
        tmp_path,
        "top.yaml",
        """\
        include: mid.yaml
        packages: [gnome-shell]
        releasever: "39"
        units: [gdm.service]
        """,
    )
    tf = load_treefile(top)
    assert tf.path == top
    assert tf.ref == "mid/ref"  # the nearest includer that sets it wins
    assert tf.repos == ("fedora", "updates")
    assert tf.packages == ("kernel", "podman", "gnome-shell")
    assert tf.releasever == "39"
    assert tf.automatic_version_prefix == "38"
    assert tf.default_target == "multi-user.target"
    assert tf.units == ("sshd.service", "gdm.service")
    assert tf.remove_files == ("usr/share/doc",)


def test_several_includes_merge_in_order_before_the_includer(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "packages: [a]\nref: from-a\n")
    write(tmp_path, "sub/b.yaml", "packages: [b]\nref: from-b\n")
    top = write(tmp_path, "top.yaml", "include: [a.yaml, sub/b.yaml]\npackages: [top]\n")
    tf = load_treefile(top)
    assert tf.packages == ("a", "b", "top")
    assert tf.ref == "from-b"
    assert tf.repo_dirs == (tmp_path, tmp_path / "sub")


def test_paths_are_relative_to_the_file_that_names_them(tmp_path: Path) -> None:
    write(tmp_path, "common/post.sh", "#!/bin/sh\ntrue\n")
    write(tmp_path, "common/motd", "hi\n")
    write(
        tmp_path,
        "common/base.yaml",
        "postprocess-script: post.sh\nadd-files: [[motd, /etc/motd]]\n",
    )
    write(tmp_path, "top/motd", "top\n")
    top = write(
        tmp_path, "top/tree.yaml", "include: ../common/base.yaml\nadd-files: [[motd, /etc/issue]]\n"
    )
    tf = load_treefile(top)
    assert tf.postprocess_script is not None
    assert tf.postprocess_script.resolve() == tmp_path / "common/post.sh"
    assert [(a.source.resolve(), a.dest) for a in tf.add_files] == [
        (tmp_path / "common/motd", "/etc/motd"),
        (tmp_path / "top/motd", "/etc/issue"),
    ]


def test_packages_for_the_basearch_merge_and_other_arches_are_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "packages: [kernel]\npackages-x86_64: [grub2-pc]\npackages-aarch64: [grub2-efi-aa64]\n",
    )
    top = write(
        tmp_path,
        "tree.yaml",
        """\
        include: base.yaml
        packages: [bash]
        packages-x86_64: [microcode_ctl thermald]
        packages-aarch64: [uboot-tools]
        packages-ppc64le: [grub2]
        """,
    )
    tf = load_treefile(top)
    assert tf.packages == ("kernel", "grub2-pc", "bash", "microcode_ctl", "thermald")
    aarch64 = load_treefile(top, basearch="aarch64")
    assert aarch64.packages == ("kernel", "grub2-efi-aa64", "bash", "uboot-tools")


def test_basearch_and_releasever_in_ref(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tree.yaml",
        'ref: "fedora/${releasever}/${basearch}/silverblue"\nreleasever: 39\n',
    )
    assert load_treefile(path).ref == "fedora/39/x86_64/silverblue"
    assert load_treefile(path, basearch="aarch64").ref == "fedora/39/aarch64/silverblue"


def test_releasever_from_an_include_substitutes_the_includers_ref(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "releasever: rawhide\n")
    top = write(tmp_path, "tree.yaml", 'include: base.yaml\nref: "f/${releasever}/${basearch}"\n')
    assert load_treefile(top).ref == "f/rawhide/x86_64"


def test_ref_with_an_undefined_variable_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", 'ref: "fedora/${releasever}/${basearch}/base"\n')
    message = config_error(path)
    assert str(path) in message
    assert "ref" in message and "releasever" in message
    other = write(tmp_path, "other.yaml", 'ref: "fedora/${stream}/base"\n')
    assert "${stream}" in config_error(other)


# --- unknown keys warn ---


def test_unknown_key_warns_naming_the_key_and_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "tree.yaml", "ref: a/b\nfrobnicate: true\nselinux: true\n")
    with caplog.at_level(logging.WARNING):
        tf = load_treefile(path)
    assert tf.ref == "a/b"
    assert any("frobnicate" in w and str(path) in w for w in tf.warnings)
    assert any("selinux" in w and "not supported" in w for w in tf.warnings)
    assert any("frobnicate" in r.getMessage() for r in caplog.records)


def test_unknown_key_in_an_include_names_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "frobnicate: 1\n")
    top = write(tmp_path, "tree.yaml", "include: base.yaml\n")
    (warning,) = load_treefile(top).warnings
    assert warning == f"{top} -> include -> base.yaml: unknown key 'frobnicate' ignored"


def test_a_non_string_key_is_reported_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", "ref: a/b\n1: x\n")
    tf = load_treefile(path)
    assert any("'1'" in w for w in tf.warnings)


# --- type errors name the key path ---


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("packages: [a, b, c, 4]\n", "packages[3]: expected a string, got int"),
        ("packages: kernel\n", "packages: expected a list of strings, got str"),
        ("repos: {a: 1}\n", "repos: expected a list of strings, got dict"),
        ("ref: [a, b]\n", "ref: expected a string, got list"),
        ("releasever: true\n", "releasever: expected a string, got bool"),
        ("packages-x86_64: 5\n", "packages-x86_64: expected a list of strings, got int"),
        ("add-files: [[a, b], [c]]\n", "add-files[1]: expected a [source, dest] pair of strings"),
        ("add-files: {a: b}\n", "add-files: expected a list of [source, dest] pairs, got dict"),
        ("postprocess: '#!/bin/sh'\n", "postprocess: expected a list of strings, got str"),
        ("ignore-scripts: [[glibc.post]]\n", "ignore-scripts[0]: expected a string, got list"),
        ("include: 5\n", "include: expected a list of strings, got int"),
    ],
)
def test_wrong_type_names_the_key_path(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, "tree.yaml", text)
    assert config_error(path) == f"{path}: {where}"


def test_wrong_type_in_an_include_names_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "repos: fedora\n")
    write(tmp_path, "mid.yaml", "include: [base.yaml]\n")
    top = write(tmp_path, "tree.yaml", "include: mid.yaml\npackages: [bash]\n")
    assert config_error(top) == (
        f"{top} -> include -> mid.yaml -> include -> base.yaml: "
        "repos: expected a list of strings, got str"
    )


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("tree.yaml", "[a, b]\n", "expected a mapping at the top level"),
        ("tree.yaml", "", "expected a mapping at the top level"),
        ("tree.yaml", "ref: [unclosed\n", "not valid YAML"),
        ("tree.json", '{"ref": "a",}', "not valid JSON"),
    ],
)
def test_unparsable_file_names_the_file(tmp_path: Path, name: str, text: str, what: str) -> None:
    path = write(tmp_path, name, text)
    assert config_error(path).startswith(f"{path}: {what}")


def test_binary_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "tree.yaml"
    path.write_bytes(b"ref: \xff\xfe\x00garbage\n")
    assert config_error(path).startswith(f"{path}: ")


# --- missing files ---


def test_missing_treefile(tmp_path: Path) -> None:
    assert config_error(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: no such file"


def test_missing_include_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, "mid.yaml", "include: [gone.yaml]\n")
    top = write(tmp_path, "tree.yaml", "include: mid.yaml\n")
    assert config_error(top) == f"{top} -> include -> mid.yaml: include[0]: gone.yaml: no such file"


def test_missing_postprocess_script_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "postprocess-script: post.sh\n")
    top = write(tmp_path, "tree.yaml", "include: base.yaml\n")
    message = config_error(top)
    assert message == f"{top} -> include -> base.yaml: postprocess-script: post.sh: no such file"


def test_missing_add_files_source_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, "motd", "hi\n")
    path = write(tmp_path, "tree.yaml", "add-files: [[motd, /etc/motd], [issue, /etc/issue]]\n")
    assert config_error(path) == f"{path}: add-files[1]: issue: no such file"


def test_include_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    top = write(tmp_path, "tree.yaml", "include: dir.yaml\n")
    assert "dir.yaml: no such file" in config_error(top)


# --- include loops ---


def test_include_of_itself_is_a_loop(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", "include: tree.yaml\n")
    message = config_error(path)
    assert message == f"{path} -> include -> tree.yaml: include loop"


def test_include_loop_through_another_file(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", "include: a.yaml\n")
    a = write(tmp_path, "a.yaml", "include: b.yaml\n")
    assert config_error(a) == f"{a} -> include -> b.yaml -> include -> a.yaml: include loop"


def test_include_loop_spelled_with_dotdot(tmp_path: Path) -> None:
    path = write(tmp_path, "d/a.yaml", "include: ../d/a.yaml\n")
    assert config_error(path) == f"{path} -> include -> ../d/a.yaml: include loop"


def test_include_loop_through_a_symlinked_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "d/a.yaml", "include: self/a.yaml\n")
    (tmp_path / "d/self").symlink_to(".")
    assert config_error(path) == f"{path} -> include -> self/a.yaml: include loop"


def test_same_file_included_twice_without_a_loop_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "common.yaml", "repos: [fedora]\n")
    write(tmp_path, "a.yaml", "include: common.yaml\npackages: [a]\n")
    write(tmp_path, "b.yaml", "include: common.yaml\npackages: [b]\n")
    tf = load_treefile(write(tmp_path, "top.yaml", "include: [a.yaml, b.yaml]\n"))
    assert tf.packages == ("a", "b")


# --- what compose requires ---


@pytest.mark.parametrize("missing", ["ref", "repos", "packages"])
def test_compose_requires_ref_repos_and_packages(tmp_path: Path, missing: str) -> None:
    doc = {"ref": "a/b", "repos": ["r"], "packages": ["p"]}
    del doc[missing]
    path = write(tmp_path, "tree.json", json.dumps(doc))
    with pytest.raises(ConfigError, match=f"^{path}: {missing}: missing"):
        validate_for_compose(load_treefile(path))


@pytest.mark.parametrize("ref", ["has space", "a//b", "/a", "a/", "remote:a/b", "a/b*"])
def test_compose_refuses_an_invalid_ref(tmp_path: Path, ref: str) -> None:
    path = write(tmp_path, "tree.json", json.dumps({"ref": ref, "repos": ["r"], "packages": ["p"]}))
    with pytest.raises(ConfigError) as info:
        validate_for_compose(load_treefile(path))
    assert str(info.value).startswith(f"{path}: ref: ")
    assert ref in str(info.value)


# --- every real treefile ---


def _real_files() -> list[Path]:
    return sorted(p for p in REAL_TREEFILES.iterdir() if p.suffix in (".json", ".yaml"))


def test_the_real_treefiles_are_there() -> None:
    names = {p.name for p in _real_files()}
    assert {
        "fedora-atomic-base.json",
        "fedora-silverblue.yaml",
        "products-2014-02-09.json",
    } <= names


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: p.name)
def test_every_real_treefile_loads(path: Path) -> None:
    if path.name.startswith("products-"):
        trees = expand_treefiles(load_products(path))
        assert trees and all(tf.ref and tf.packages for tf in trees)
        return
    try:
        tf = load_treefile(path)
    except ConfigError as e:
        # These files come from larger configs: only a referenced file may be missing.
        message = str(e)
        assert message.startswith(str(path))
        assert message.endswith(": no such file")
        assert "include[" in message or "postprocess-script:" in message
        return
    assert isinstance(tf, Treefile)
    assert tf.ref and "${" not in tf.ref
    assert tf.packages


def test_real_include_chain_merges(tmp_path: Path) -> None:
    tf = load_treefile(REAL_TREEFILES / "fedora-atomic-workstation-gnome-core.json")
    assert tf.ref == "fedora-atomic/rawhide/x86_64/workstation/gnome/core"
    assert tf.repos == ("fedora-rawhide", "walters-rpm-ostree", "fedora-rawhide-kernel-nodebug")
    assert tf.packages[0] == "kernel"
    assert tf.packages[-3:] == ("@standard", "@base-x", "@gnome-desktop")
    assert "@core" in tf.packages
    assert tf.default_target == "graphical.target"
    assert any("bootstrap_packages" in w for w in tf.warnings)


def test_real_yaml_with_its_includes_supplied(tmp_path: Path) -> None:
    """fedora-common-ostree.yaml loads once the file it includes exists beside it."""
    tree = tmp_path / "fedora-common-ostree.yaml"
    tree.write_text((REAL_TREEFILES / tree.name).read_text())
    write(
        tmp_path, "fedora-common-ostree-pkgs.yaml", "packages: [glibc]\nrepos: [fedora-rawhide]\n"
    )
    tf = load_treefile(tree)
    assert tf.ref == "fedora/rawhide/x86_64/ostree-base"
    assert tf.packages[0] == "glibc"
    assert "grub2-efi-x64" in tf.packages and "grub2-efi-aa64" not in tf.packages
    assert "shim" not in tf.packages  # only in packages-aarch64
    assert tf.exclude_packages == (
        "PackageKit",
        "gstreamer1-plugin-openh264",
        "mozilla-openh264",
        "openh264",
    )
    assert len(tf.postprocess) == 2
    assert tf.automatic_version_prefix == "38"
    assert tf.default_target == "graphical.target"
    validate_for_compose(tf)


# --- through the command line ---


def test_cli_bad_treefile_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "repos: [fedora]\npackages: [bash, kernel, vim, {x: 1}]\n")
    bad = write(tmp_path, "bad.yaml", "include: base.yaml\nref: a/b\n")
    r = run("compose", "tree", bad, "--repo", tmp_path / "R", "--cachedir", tmp_path / "C")
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines == [
        f"error: {bad} -> include -> base.yaml: packages[3]: expected a string, got dict"
    ]
    assert not (tmp_path / "R").exists()
    assert not (tmp_path / "C").exists()


def test_cli_unknown_key_is_a_warning_then_the_real_error(tmp_path: Path) -> None:
    tree = write(tmp_path, "tree.yaml", "ref: a/b\nfrobnicate: 1\n")
    r = run("compose", "tree", tree, "--repo", tmp_path / "R", "--cachedir", tmp_path / "C")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"warning: {tree}: unknown key 'frobnicate' ignored",
        f"error: {tree}: repos: missing, required for compose",
    ]
    assert not (tmp_path / "R").exists()


def test_cli_missing_treefile(tmp_path: Path) -> None:
    r = run("compose", "tree", tmp_path / "nope.yaml", "--repo", tmp_path / "R")
    assert r.exit_code == 2
    assert r.stderr == f"error: {tmp_path / 'nope.yaml'}: no such file\n"
    assert "Traceback" not in r.stderr
