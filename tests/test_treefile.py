"""The treefile model: JSON and YAML as rpm-ostree reads them, value types, the files a
treefile names, what compose requires, the real historical treefiles, and errors that
name the file and key path. Include chains: test_treefile_merge.py; variables and
conditions: test_treefile_variables.py; the key tables: test_treefile_keys.py."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from fedostree.errors import ConfigError
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import load_treefile, validate_for_compose
from fedostree.server.products import expand_treefiles, load_products
from tests.support.cli import run
from tests.support.data import DATA
from tests.support.treefiles import compose_error, config_error, load, write

REAL_TREEFILES = DATA / "treefiles"


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
    # rpm-ostree keeps packages as a sorted set (it used to be the order written)
    assert from_json.packages == ("bash", "coreutils", "kernel")
    assert from_json.repo_dirs == (tmp_path,)
    assert from_json.warnings == ()


def test_numbers_are_read_as_strings(tmp_path: Path) -> None:
    """A number for a string key reads as written (rpm-ostree refuses it; fedostree
    always accepted it); releasever stays a number for conditions."""
    tf = load(tmp_path, "releasever: 39\nautomatic_version_prefix: 39\nref: 1.10\n")
    assert (tf.releasever, tf.automatic_version_prefix, tf.ref) == ("39", "39", "1.10")
    assert tf.variables["releasever"] == 39


def test_yaml_is_read_with_the_core_schema_as_rpm_ostree_does(tmp_path: Path) -> None:
    """serde_yaml (YAML 1.2) reads `no`, `on` and dates as strings; PyYAML's YAML 1.1
    would read `prod: no` as false and change what a condition sees."""
    tf = load(
        tmp_path,
        """\
        variables: {prod: no, day: 2019-01-01, hex: 0x10}
        packages: ['on', off]
        """,
    )
    assert tf.variables["prod"] == "no"
    assert tf.variables["day"] == "2019-01-01"
    assert tf.variables["hex"] == 16
    assert tf.packages == ("off", "on")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tree.yaml", "packages: [a]\nref: x\npackages: [b]\n"),
        ("tree.json", '{"ref": "a", "ref": "b"}'),
    ],
)
def test_a_key_given_twice_is_an_error(tmp_path: Path, name: str, text: str) -> None:
    """A YAML or JSON parser keeps the last value; rpm-ostree refuses the file."""
    path = write(tmp_path, name, text)
    message = config_error(path)
    assert message.startswith(f"{path}: not valid ")
    assert "duplicate key" in message


def test_space_separated_names_in_one_string(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        """\
        packages:
          - openssh-server openssh-clients
          - "  podman   skopeo "
          - jq
        """,
    )
    assert tf.packages == ("jq", "openssh-clients", "openssh-server", "podman", "skopeo")


def test_quoted_package_specs_are_one_spec(tmp_path: Path) -> None:
    """rpm-ostree's split_whitespace_unless_quoted: single quotes keep a spec whole."""
    tf = load(
        tmp_path,
        """\
        packages:
          - "'podman >= 4.1'"
          - corge 'quuz >= 1.0' baz
        repo-packages:
          - repo: r
            packages: ["'a < 2' b"]
        """,
    )
    assert tf.packages == ("baz", "corge", "podman >= 4.1", "quuz >= 1.0")
    assert tf.repo_packages[0].packages == ("a < 2", "b")


@pytest.mark.parametrize("spec", ["foobar >= 1.0'", "'foobar >= 1.0 baz", "'a' b' c", "''"])
def test_unbalanced_quotes_in_a_package_spec(tmp_path: Path, spec: str) -> None:
    path = write(tmp_path, "tree.json", json.dumps({"packages": ["ok", spec]}))
    assert config_error(path).startswith(f"{path}: packages[1]: ")


def test_exclude_packages_are_names_not_split(tmp_path: Path) -> None:
    """rpm-ostree matches each exclude-packages entry as one name, without splitting it:
    `python perl` would exclude nothing, so it is an error (it used to be split)."""
    path = write(tmp_path, "tree.yaml", "exclude-packages: [nodejs, python perl]\n")
    assert (
        config_error(path)
        == f"{path}: exclude-packages[1]: 'python perl': one package name per entry"
    )


def test_null_values_are_unset_and_a_null_packages_is_empty(tmp_path: Path) -> None:
    """`packages:` with every entry commented out is null: no packages, no error."""
    tf = load(
        tmp_path,
        "ref:\npackages:\nrepos:\ninclude: base.yaml\n",
        {"base.yaml": "ref: a/b\nrepos: [r]\n"},
    )
    assert (tf.ref, tf.packages, tf.repos) == ("a/b", (), ("r",))


# --- type errors name the key path ---


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("packages: [a, b, c, 4]\n", "packages[3]: expected a string, got int"),
        ("packages: kernel\n", "packages: expected a list of strings, got str"),
        ("repos: {a: 1}\n", "repos: expected a list of strings, got dict"),
        ("ref: [a, b]\n", "ref: expected a string, got list"),
        ("releasever: true\n", "releasever: expected a string or a number, got bool"),
        ("packages-x86_64: 5\n", "packages-x86_64: expected a list of strings, got int"),
        ("packages-s390x: [zipl, 7]\n", "packages-s390x[1]: expected a string, got int"),
        (
            "add-files: [[a, /usr/share/a], [c]]\n",
            "add-files[1]: expected a [source, dest] pair of strings",
        ),
        ("add-files: {a: b}\n", "add-files: expected a list of [source, dest] pairs, got dict"),
        (
            "add-files: [[a, /usr/local/a]]\n",
            "add-files[0]: unsupported destination /usr/local/a (rpm-ostree's rule)",
        ),
        ("postprocess: '#!/bin/sh'\n", "postprocess: expected a list of strings, got str"),
        ("ignore-scripts: [[glibc.post]]\n", "ignore-scripts[0]: expected a string, got list"),
        ("include: 5\n", "include: expected a list of strings, got int"),
        ("recommends: 'no'\n", "recommends: expected true or false, got str"),
        (
            "automatic-version-suffix: '--'\n",
            "automatic-version-suffix: '--': must be exactly one ASCII character",
        ),
        (
            "boot-location: old\n",
            "boot-location: 'old': expected one of new, modules, kernel-install",
        ),
        (
            "check-groups: {type: data, entries: {adm: [3, 4]}}\n",
            "check-groups.entries.adm: expected a number from 0 to 4294967295, got [3, 4]",
        ),
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


# --- unknown keys warn ---


def test_unknown_key_warns_naming_the_key_and_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "tree.yaml", "ref: a/b\nfrobnicate: true\nselinux: false\n")
    with caplog.at_level(logging.WARNING):
        tf = load_treefile(path)
    assert tf.ref == "a/b"
    assert tf.warnings == (f"{path}: unknown key 'frobnicate' ignored",)
    assert tf.selinux is False  # a key the model now has: no warning
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


def test_missing_check_passwd_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", "check-passwd: {type: file, filename: passwd}\n")
    assert config_error(path) == f"{path}: check-passwd.filename: passwd: no such file"


def test_include_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    top = write(tmp_path, "tree.yaml", "include: dir.yaml\n")
    assert "dir.yaml: no such file" in config_error(top)


def test_finalize_d_scripts_are_refused(tmp_path: Path) -> None:
    """rpm-ostree runs the executables in finalize.d beside a treefile on the tree."""
    script = write(tmp_path, "finalize.d/10-tweak", "#!/bin/sh\n")
    path = write(tmp_path, "tree.yaml", "ref: a/b\n")
    assert load_treefile(path).ref == "a/b"  # not executable: rpm-ostree skips it too
    script.chmod(0o755)
    assert (
        config_error(path) == f"{path}: {tmp_path}/finalize.d: finalize.d scripts are not supported"
    )


def test_kickstart_includes_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "pkgs.ks", "%packages\nbash\n%end\n")
    path = write(tmp_path, "tree.yaml", "include: pkgs.ks\n")
    assert config_error(path) == f"{path}: include: pkgs.ks: kickstart files are not supported"


# --- what compose requires ---


@pytest.mark.parametrize("missing", ["ref", "packages"])
def test_compose_requires_ref_and_packages(tmp_path: Path, missing: str) -> None:
    """Not repos: without them rpm-ostree uses every enabled repository (tests/test_repos.py)."""
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


BAD_REFS = ["fedostree/20/../x", "fedostree/20/.x", "fedostree/-x", "a/./b", "a\tb"]


@pytest.mark.parametrize("ref", BAD_REFS)
def test_an_invalid_ref_is_refused_when_the_treefile_loads(tmp_path: Path, ref: str) -> None:
    """libostree's own ref syntax (ostree_validate_rev), checked on load: `..`, `.` or a
    fragment starting with `.` or `-` never reach the compose."""
    path = write(tmp_path, "tree.json", json.dumps({"ref": ref}))
    assert config_error(path) == f"{path}: ref: '{ref}' is not a valid OSTree ref"


def test_an_invalid_ref_from_an_include_or_a_variable_names_where_it_was_set(
    tmp_path: Path,
) -> None:
    write(tmp_path, "base.yaml", "ref: fedostree/${name}/x\n")
    path = write(tmp_path, "tree.yaml", "include: base.yaml\nvariables: {name: '..'}\n")
    assert config_error(path) == (
        f"{path} -> include -> base.yaml: ref: 'fedostree/../x' is not a valid OSTree ref"
    )


@pytest.mark.parametrize(
    ("extra", "what"),
    [
        (
            {"repovars": {"releasever": "40"}},
            "repovars.releasever: not allowed (use the releasever key)",
        ),
        ({"repovars": {"basearch": "x"}}, "repovars.basearch: not allowed (it is set)"),
        (
            {"machineid-compat": False, "units": ["a.service"]},
            "units: incompatible with machineid-compat: false",
        ),
    ],
)
def test_compose_checks_what_rpm_ostree_checks(
    tmp_path: Path, extra: dict[str, object], what: str
) -> None:
    doc = {"ref": "a/b", "repos": ["r"], "packages": ["p"], **extra}
    path = write(tmp_path, "tree.json", json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        validate_for_compose(load_treefile(path))
    assert str(info.value) == f"{path}: {what}"


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


# Historical treefiles that use a key fedostree refuses: they fail with that one line.
REFUSING = {
    "fedora-atomic-docker-host-f22.json": "initramfs-args",
    "fedora-coreos-base-2020-02-07.yaml": "initramfs-args",
}


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: p.name)
def test_every_real_treefile_loads(path: Path) -> None:
    if path.name.startswith("products-"):
        trees = expand_treefiles(load_products(path))
        assert trees and all(tf.ref and tf.packages for tf in trees)
        return
    try:
        tf = load_treefile(path)
    except ConfigError as e:
        message = str(e)
        assert message.startswith(str(path))
        if path.name in REFUSING:
            key = REFUSING[path.name]
            assert message == (
                f"{path}: {key}: not supported: fedostree's initramfs generator takes no "
                "dracut arguments, and it would change the tree"
            )
            return
        # These files come from larger configs: only a referenced file may be missing.
        assert message.endswith(": no such file")
        return
    assert isinstance(tf, Treefile)
    assert tf.ref and "${" not in tf.ref
    assert tf.packages


def test_real_include_chain_merges() -> None:
    tf = load_treefile(REAL_TREEFILES / "fedora-atomic-workstation-gnome-core.json")
    assert tf.ref == "fedora-atomic/rawhide/x86_64/workstation/gnome/core"
    assert tf.repos == ("fedora-rawhide", "walters-rpm-ostree", "fedora-rawhide-kernel-nodebug")
    # bootstrap_packages is merged into packages, as rpm-ostree does (it used to be
    # ignored with a warning); packages are one sorted set
    assert {"filesystem", "glibc", "nss-altfiles", "shadow-utils", "generic-release"} <= set(
        tf.packages
    )
    assert {"kernel", "@core", "@standard", "@base-x", "@gnome-desktop"} <= set(tf.packages)
    assert tf.packages == tuple(sorted(tf.packages))
    assert len(tf.packages) == 5 + 11 + 3
    assert tf.default_target == "graphical.target"  # the includer's value wins
    assert tf.informational["gpg-key"] == "843833DF"  # legacy gpg_key: accepted, no effect
    assert tf.selinux is True


def test_real_yaml_with_its_includes_supplied(tmp_path: Path) -> None:
    """fedora-common-ostree.yaml loads once the files it names exist beside it."""
    tree = tmp_path / "fedora-common-ostree.yaml"
    tree.write_text((REAL_TREEFILES / tree.name).read_text())
    write(
        tmp_path, "fedora-common-ostree-pkgs.yaml", "packages: [glibc]\nrepos: [fedora-rawhide]\n"
    )
    write(tmp_path, "passwd", "root:x:0:0:root:/root:/bin/bash\n")
    write(tmp_path, "group", "root:x:0:\n")
    tf = load_treefile(tree)
    assert tf.ref == "fedora/rawhide/x86_64/ostree-base"
    assert "glibc" in tf.packages
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
    assert tf.check_passwd is not None and tf.check_passwd.filename == tmp_path / "passwd"
    validate_for_compose(tf)


# --- through the command line ---


def test_cli_bad_treefile_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "repos: [fedora]\npackages: [bash, kernel, vim, {x: 1}]\n")
    bad = write(tmp_path, "bad.yaml", "include: base.yaml\nref: a/b\n")
    assert compose_error(bad, tmp_path) == (
        f"{bad} -> include -> base.yaml: packages[3]: expected a string, got dict"
    )


@pytest.mark.parametrize("ref", BAD_REFS[:3])
def test_cli_invalid_ref_exits_2_and_creates_nothing(tmp_path: Path, ref: str) -> None:
    write(tmp_path, "r.repo", f"[r]\nname=r\nbaseurl={tmp_path.as_uri()}\ngpgcheck=0\n")
    tree = write(tmp_path, "tree.yaml", f"ref: {ref}\nrepos: [r]\npackages: [bash]\n")
    assert compose_error(tree, tmp_path) == f"{tree}: ref: '{ref}' is not a valid OSTree ref"


def test_cli_unknown_key_is_a_warning_then_the_real_error(tmp_path: Path) -> None:
    tree = write(tmp_path, "tree.yaml", "ref: a/b\nfrobnicate: 1\n")
    r = run("compose", "tree", tree, "--repo", tmp_path / "R", "--cachedir", tmp_path / "C")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"warning: {tree}: unknown key 'frobnicate' ignored",
        f"error: {tree}: packages: missing, required for compose",
    ]
    assert not (tmp_path / "R").exists()


def test_cli_missing_treefile(tmp_path: Path) -> None:
    r = run("compose", "tree", tmp_path / "nope.yaml", "--repo", tmp_path / "R")
    assert r.exit_code == 2
    assert r.stderr == f"error: {tmp_path / 'nope.yaml'}: no such file\n"
    assert "Traceback" not in r.stderr


def test_cli_repo_is_required_without_print_only(tmp_path: Path) -> None:
    tree = write(tmp_path, "tree.yaml", "ref: a/b\nrepos: [r]\npackages: [p]\n")
    r = run("compose", "tree", tree)
    assert r.exit_code == 2
    assert "Missing option '--repo'" in r.stderr
