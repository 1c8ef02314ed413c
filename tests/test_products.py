"""The products matrix: the original fedostree products.json files, expanded into one
treefile per release x architecture x product/tree, and its errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fedostree.errors import ConfigError
from fedostree.model.treefile_load import load_treefile, validate_for_compose
from fedostree.server.products import NAMED_POSTPROCESS, expand_treefiles, load_products
from tests.support.cli import ostree, published_refs, run
from tests.support.data import DATA

REAL = DATA / "treefiles"
JAN = REAL / "products-2014-01-22.json"
FEB = REAL / "products-2014-02-09.json"
MAY = REAL / "products-2014-05-05.json"
JAN_BASE = ("kernel", "ostree", "fedora-release", "lvm2", "btrfs-progs", "e2fsprogs", "xfsprogs")
FEB_BOOTSTRAP = ("filesystem", "glibc", "nss-altfiles", "shadow-utils")
FEB_BASE = (
    "kernel",
    "ostree",
    "generic-release",
    "lvm2",
    "btrfs-progs",
    "e2fsprogs",
    "xfsprogs",
    "rpm-ostree-public-gpg-key",
    "gnupg2",
)


def by_ref(path: Path, only: str | None = None) -> dict[str, Any]:
    return {tf.ref: tf for tf in expand_treefiles(load_products(path), only)}


def packages(*names: str) -> tuple[str, ...]:
    """A tree's packages: a sorted set, as in every treefile (rpm-ostree's semantics;
    they used to be kept in the order written)."""
    return tuple(sorted(set(names)))


def test_january_products_expand_to_every_release_and_tree() -> None:
    products = load_products(JAN)
    assert products.osname == "fedostree"
    assert products.releases == ("20", "rawhide")
    assert products.architectures == ("x86_64",)
    assert products.warnings == ()
    trees = [
        "base/minimal",
        "server/docker-io",
        "server/freeipa",
        "server/jbossas",
        "server/virthost",
        "workstation/gnome/core",
        "workstation/gnome/basic",
        "workstation/gnome/development-virt",
    ]
    expected = [f"fedostree/{rel}/x86_64/{tree}" for rel in ("20", "rawhide") for tree in trees]
    assert [tf.ref for tf in expand_treefiles(products)] == expected


def test_january_docker_io_tree() -> None:
    tf = by_ref(JAN)["fedostree/20/x86_64/server/docker-io"]
    assert tf.packages == packages(*JAN_BASE, "@core", "@standard", "docker-io")
    assert tf.repos == ("fedora-20", "fedora-20-updates", "walters-rpm-ostree")
    assert tf.releasever == "20"
    assert tf.automatic_version_prefix == "20"
    assert tf.postprocess == ()
    assert tf.path == JAN
    assert tf.repo_dirs == (REAL,)
    validate_for_compose(tf)


def test_rawhide_has_no_updates_repo() -> None:
    tf = by_ref(JAN)["fedostree/rawhide/x86_64/base/minimal"]
    assert tf.repos == ("fedora-rawhide", "walters-rpm-ostree")
    assert tf.packages == packages(*JAN_BASE, "@core")
    assert tf.automatic_version_prefix == "rawhide"


def test_february_products_with_the_named_postprocess_step() -> None:
    trees = by_ref(FEB)
    assert len(trees) == 12
    assert sorted({"/".join(ref.split("/")[3:]) for ref in trees}) == [
        "server/docker-io",
        "server/jbossas",
        "server/virthost",
        "workstation/gnome/core",
        "workstation/gnome/development-virt",
        "workstation/kde/core",
    ]
    tf = trees["fedostree/20/x86_64/server/docker-io"]
    # bootstrap_base is installed in every tree, as the original autobuilder did (it
    # used to be dropped)
    assert tf.packages == packages(
        *FEB_BOOTSTRAP, *FEB_BASE, "@core", "@standard", "NetworkManager-config-server", "docker-io"
    )
    assert tf.postprocess == (NAMED_POSTPROCESS["remove-root-password"],)
    assert tf.repos == ("fedora-20", "fedora-20-updates", "walters-rpm-ostree")
    for tf in trees.values():
        validate_for_compose(tf)


def test_explicit_repos_replace_the_default_and_add_repos_append(tmp_path: Path) -> None:
    path = write_products(tmp_path, repos=["mine"], **{"add-repos": ["extra"]})
    (tf,) = expand_treefiles(load_products(path))
    assert tf.repos == ("mine", "extra")


def test_packages_is_the_old_spelling_of_base_required_packages(tmp_path: Path) -> None:
    path = write_products(tmp_path, packages=["kernel ostree"])
    (tf,) = expand_treefiles(load_products(path))
    assert tf.packages == ("@core", "kernel", "ostree")


def test_may_products_bootstrap_packages_and_treefile_keys() -> None:
    """The 2014-05 matrix is a treefile base: bootstrap_packages and packages go into
    every tree, selinux is a treefile key, gpg_key, kargs and image_formats have no
    effect on the trees."""
    products = load_products(MAY)
    assert products.warnings == ()
    tf = by_ref(MAY)["fedora-atomic/rawhide/x86_64/server/docker-io"]
    assert {"filesystem", "glibc", "nss-altfiles", "shadow-utils", "generic-release"} <= set(
        tf.packages
    )
    assert {"kernel", "rpm-ostree", "gnupg2", "@core", "cockpit", "docker-io"} <= set(tf.packages)
    assert tf.units == ("docker.service",)
    assert tf.selinux is True
    assert tf.informational["gpg-key"] == "843833DF"
    assert tf.repos == ("fedora-rawhide", "walters-rpm-ostree", "fedora-rawhide-kernel-nodebug")
    assert tf.postprocess == (NAMED_POSTPROCESS["remove-root-password"],)
    assert "kargs" not in tf.print_form() and "image_formats" not in tf.print_form()


def test_treefile_keys_pass_to_every_tree(tmp_path: Path) -> None:
    path = write_products(
        tmp_path,
        documentation=False,
        **{"exclude-packages": ["nano"], "packages-aarch64": ["uboot-tools"]},
        architectures=["x86_64", "aarch64"],
    )
    x86, arm = expand_treefiles(load_products(path))
    assert (x86.documentation, x86.exclude_packages, x86.packages) == (False, ("nano",), ("@core",))
    assert arm.packages == ("@core", "uboot-tools")


def test_a_refused_treefile_key_in_products_is_an_error(tmp_path: Path) -> None:
    path = write_products(tmp_path, **{"initramfs-args": ["--no-hostonly"]})
    r = run("compose", "products", path, "--repo", tmp_path / "R", "--cachedir", tmp_path / "C")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"error: {path}: initramfs-args: not supported: fedostree's initramfs generator "
        "takes no dracut arguments, and it would change the tree"
    ]
    assert not (tmp_path / "R").exists()


def test_tree_postprocess_steps_follow_the_matrixs(tmp_path: Path) -> None:
    path = write_products(
        tmp_path,
        postprocess=["remove-root-password"],
        products={
            "base": {"core": {"packages": ["@core"], "postprocess": ["remove-root-password"]}}
        },
    )
    (tf,) = expand_treefiles(load_products(path))
    assert tf.postprocess == (NAMED_POSTPROCESS["remove-root-password"],) * 2


def test_tree_units_and_version_prefix(tmp_path: Path) -> None:
    path = write_products(
        tmp_path,
        products={"server": {"docker": {"packages": ["docker"], "units": ["docker.service"]}}},
        **{"automatic-version-prefix": 21},  # a number, as in treefiles, is read as a string
    )
    (tf,) = expand_treefiles(load_products(path))
    assert tf.units == ("docker.service",)
    assert tf.automatic_version_prefix == "21"


# --- --only ---


def test_only_product_tree_selects_it_in_every_release() -> None:
    assert list(by_ref(JAN, "server/docker-io")) == [
        "fedostree/20/x86_64/server/docker-io",
        "fedostree/rawhide/x86_64/server/docker-io",
    ]
    assert list(by_ref(JAN, "workstation/gnome/core")) == [
        "fedostree/20/x86_64/workstation/gnome/core",
        "fedostree/rawhide/x86_64/workstation/gnome/core",
    ]


def test_only_a_full_ref_selects_one_tree() -> None:
    ref = "fedostree/rawhide/x86_64/server/virthost"
    assert list(by_ref(FEB, ref)) == [ref]


@pytest.mark.parametrize(
    "only", ["server/nosuch", "server", "docker-io", "fedostree/21/x86_64/x/y"]
)
def test_only_an_unknown_tree_is_a_config_error(only: str) -> None:
    with pytest.raises(ConfigError) as info:
        expand_treefiles(load_products(JAN), only)
    assert str(info.value) == f"{JAN}: --only {only}: no such product/tree"


def test_cli_only_unknown_tree_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    r = run(
        "compose",
        "products",
        FEB,
        "--only",
        "server/nosuch",
        "--repo",
        tmp_path / "R",
        "--cachedir",
        tmp_path / "C",
    )
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [f"error: {FEB}: --only server/nosuch: no such product/tree"]
    assert not (tmp_path / "R").exists()
    assert not (tmp_path / "C").exists()


# --- bad products ---


def write_products(directory: Path, **doc: Any) -> Path:
    data = {
        "osname": "testos",
        "releases": ["rawhide"],
        "products": {"base": {"core": {"packages": ["@core"]}}},
    }
    data.update(doc)
    data = {k: v for k, v in data.items() if v is not None}
    path = directory / "products.json"
    path.write_text(json.dumps(data))
    return path


def products_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_products(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize(
    ("doc", "what"),
    [
        ({"osname": None}, "osname: missing or not a string"),
        ({"osname": ""}, "osname: missing or not a string"),
        ({"osname": ["a"]}, "osname: missing or not a string"),
        ({"products": None}, "products: expected a mapping of products to trees"),
        ({"products": ["base"]}, "products: expected a mapping of products to trees"),
        ({"products": {}}, "products: expected a mapping of products to trees"),
        ({"products": {"base": ["core"]}}, "products.base: expected a mapping of trees"),
        (
            {"products": {"base": {"core": {"units": []}}}},
            "products.base.core: expected a mapping with 'packages'",
        ),
        (
            {"products": {"base": {"core": {"packages": ["@core", 7]}}}},
            "products.base.core.packages[1]: expected a string, got int",
        ),
        (
            {"products": {"base": {"core": {"packages": [], "units": "a.service"}}}},
            "products.base.core.units: expected a list of strings, got str",
        ),
        ({"releases": "20"}, "releases: expected a list of strings, got str"),
        ({"architectures": [64]}, "architectures[0]: expected a string, got int"),
        ({"add-repos": "extra"}, "add-repos: expected a list of strings, got str"),
        (
            {"base_required_packages": {"kernel": 1}},
            "base_required_packages: expected a list of strings, got dict",
        ),
        (
            {"postprocess": ["remove-root-password", "make-coffee"]},
            "postprocess: unknown step 'make-coffee' (known: remove-root-password)",
        ),
        (
            {"products": {"base": {"core": {"packages": [], "postprocess": ["x"]}}}},
            "products.base.core.postprocess: unknown step 'x' (known: remove-root-password)",
        ),
        (
            {"products": {"base": {"core": {"packages": [], "selinux": False}}}},
            "products.base.core: selinux: not a key of a tree (expected comment, packages, postprocess, units)",
        ),
        (
            {"bootstrap_base": "glibc"},
            "bootstrap_base: expected a list of strings, got str",
        ),
        (
            {"automatic-version-prefix": ["21"]},
            "automatic-version-prefix: expected a string, got list",
        ),
    ],
)
def test_bad_products_name_the_key(tmp_path: Path, doc: dict[str, Any], what: str) -> None:
    assert products_error(write_products(tmp_path, **doc)) == what


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"[1, 2]", "expected a JSON object"),
        (b'{"osname": "a",}', "not valid JSON"),
        (b"\xff\xfe{}", "not a text file"),
    ],
)
def test_unreadable_products_file(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "products.json"
    path.write_bytes(content)
    assert products_error(path).startswith(what)


def test_missing_products_file(tmp_path: Path) -> None:
    assert products_error(tmp_path / "nope.json") == "no such file"


def test_products_path_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "products.json").mkdir()
    assert products_error(tmp_path / "products.json").startswith("cannot read")


def test_unknown_key_is_a_warning(tmp_path: Path) -> None:
    path = write_products(tmp_path, frobnicate=True, kargs=["quiet"], units=["a.service"])
    products = load_products(path)
    assert products.warnings == (
        f"{path}: unknown key 'frobnicate' ignored",
        f"{path}: units: ignored at the top level: each tree's units are its own",
    )


def test_cli_bad_products_exits_2(tmp_path: Path) -> None:
    path = write_products(tmp_path, postprocess=["make-coffee"], frobnicate=1)
    r = run("compose", "products", path, "--repo", tmp_path / "R", "--cachedir", tmp_path / "C")
    assert r.exit_code == 2
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"error: {path}: postprocess: unknown step 'make-coffee'")
    assert not (tmp_path / "R").exists()


# --- end to end ---


def test_compose_products_only_one_tree(tmp_path: Path, base_repo: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "test-repo.repo").write_text(f"[test-repo]\nbaseurl={base_repo.as_uri()}\n")
    products = write_products(
        config,
        repos=["test-repo"],
        postprocess=["remove-root-password"],
        products={
            "base": {"core": {"packages": ["@core"]}},
            "server": {"hello": {"packages": ["hello"]}},
        },
    )
    repo = tmp_path / "repo"
    args = ("--repo", repo, "--cachedir", tmp_path / "cache")
    r = run("compose", "products", products, "--only", "base/core", *args)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("testos/rawhide/x86_64/base/core: committed rawhide ")
    assert list(published_refs(repo)) == ["testos/rawhide/x86_64/base/core"]
    ostree(repo, "fsck")
    r = run("compose", "products", products, *args)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("testos/rawhide/x86_64/base/core: unchanged")
    assert r.stdout.splitlines()[1].startswith("testos/rawhide/x86_64/server/hello: committed")
    assert sorted(published_refs(repo)) == [
        "testos/rawhide/x86_64/base/core",
        "testos/rawhide/x86_64/server/hello",
    ]


# --- --print-only ---


def test_print_only_writes_a_treefile_that_loads_to_the_same_tree(tmp_path: Path) -> None:
    r = run("compose", "products", JAN, "--only", "fedostree/20/x86_64/server/docker-io",
            "--print-only")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    printed = tmp_path / "docker-io.json"
    printed.write_text(r.stdout)
    tf = load_treefile(printed)
    (expected,) = by_ref(JAN, "fedostree/20/x86_64/server/docker-io").values()
    assert tf.flattened() == expected.flattened()  # the same input hash


def test_print_only_needs_one_tree() -> None:
    r = run("compose", "products", JAN, "--only", "server/docker-io", "--print-only")
    assert r.exit_code == 2
    assert "selects 2 trees" in r.stderr
    assert run("compose", "products", JAN, "--print-only").exit_code == 2
