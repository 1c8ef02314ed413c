"""`fedostree compose tree` and the package keys, end to end: bad package input fails with
one line and exit 2 before anything is fetched or written, and a compose is pinned by an
rpm-ostree lockfile plus an overrides YAML, as Fedora CoreOS composes are."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from tests.support.cli import compose, error_message, ostree
from tests.support.rpms import base_packages, demo_packages, make_repo, write_treefile

REF = "test/x86_64/pinned"


@pytest.fixture(scope="module")
def two_hellos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base OS with hello 2.10 and 2.11."""
    root = tmp_path_factory.mktemp("two-hellos")
    hello = demo_packages()[0]
    pkgs = [*base_packages(), *demo_packages(), dataclasses.replace(hello, version="2.11")]
    return make_repo(root / "repo", pkgs, root / "work")


def treefile(tmp_path: Path, repo: Path, extra: str = "", packages: str = "[hello]") -> Path:
    text = f"ref: {REF}\nrepos: [test-repo]\npackages: {packages}\n{textwrap.dedent(extra)}"
    return write_treefile(tmp_path / "config", repo.as_uri(), text)


def assert_nothing_fetched(tmp_path: Path) -> None:
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "repo").exists()


def hello_in_commit(tmp_path: Path) -> str:
    pkglist = ostree(tmp_path / "repo", "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", REF)
    (entry,) = [e for e in pkglist.split("), (") if "'hello'" in e]
    return entry.split("'")[5]  # ('hello', '0', VERSION, ...


# --- refused before anything is fetched ----------------------------------------------------


def test_repo_packages_naming_a_repository_the_treefile_does_not_use(
    tmp_path: Path, two_hellos: Path
) -> None:
    tf = treefile(
        tmp_path, two_hellos, "repo-packages:\n  - repo: updates\n    packages: [hello]\n"
    )
    r = compose(tf, tmp_path)
    assert error_message(r, 2) == (
        f"{tf}: repo-packages[0].repo: 'updates' is not one of the treefile's repos (test-repo)"
    )
    assert_nothing_fetched(tmp_path)


def test_a_malformed_spec(tmp_path: Path, two_hellos: Path) -> None:
    tf = treefile(tmp_path, two_hellos, packages="[\"hello 'bash =>'\"]")
    r = compose(tf, tmp_path)
    assert error_message(r, 2) == (
        f"{tf}: packages: 'bash =>': expected NAME OP VERSION, OP one of <, <=, =, ==, >=, >"
    )
    assert_nothing_fetched(tmp_path)


def test_a_package_both_listed_and_excluded(tmp_path: Path, two_hellos: Path) -> None:
    tf = treefile(tmp_path, two_hellos, "exclude-packages: [hello]\n")
    r = compose(tf, tmp_path)
    assert error_message(r, 2) == f"{tf}: packages: 'hello' is also in exclude-packages"
    assert_nothing_fetched(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lockfile-strict"], "--lockfile-strict needs --lockfile"),
        (
            ["--write-lockfile-to", "nosuch/lock.json"],
            "--write-lockfile-to nosuch/lock.json: no such directory",
        ),
        (["--lockfile", "nosuch.json"], "nosuch.json: no such file"),
    ],
)
def test_bad_lockfile_options(
    tmp_path: Path, two_hellos: Path, args: list[str], message: str
) -> None:
    r = compose(treefile(tmp_path, two_hellos), tmp_path, *args)
    assert error_message(r, 2) == message
    assert_nothing_fetched(tmp_path)


def test_a_lockfile_with_a_wrong_shape(tmp_path: Path, two_hellos: Path) -> None:
    lock = tmp_path / "lock.yaml"
    lock.write_text("packages:\n  hello:\n    evra: 2.10-1\n")
    r = compose(treefile(tmp_path, two_hellos), tmp_path, "--ex-lockfile", lock)
    assert error_message(r, 2) == (
        f"{lock}: packages.hello.evra: '2.10-1' is not [EPOCH:]VERSION-RELEASE.ARCH"
    )
    assert_nothing_fetched(tmp_path)


# --- refused after resolving, with nothing written -----------------------------------------


def test_a_lockfile_naming_a_package_no_repository_has(tmp_path: Path, two_hellos: Path) -> None:
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"packages": {"gone": {"evra": "1-1.x86_64"}}}))
    out = tmp_path / "out.json"
    r = compose(treefile(tmp_path, two_hellos), tmp_path, "--lockfile", lock,
                "--write-lockfile-to", out)  # fmt: skip
    assert error_message(r, 2) == f"{lock}: packages.gone: no repository has a package named gone"
    assert not out.exists()
    assert not (tmp_path / "repo").exists()


def test_a_spec_no_repository_matches(tmp_path: Path, two_hellos: Path) -> None:
    r = compose(treefile(tmp_path, two_hellos, packages="[\"'hello >= 99'\"]"), tmp_path)
    assert error_message(r, 1) == "packages: 'hello >= 99' not found in any repository"
    assert not (tmp_path / "repo").exists()


# --- a compose pinned by a lockfile and its overrides ----------------------------------------


def test_compose_pinned_by_a_lockfile_and_overrides(tmp_path: Path, two_hellos: Path) -> None:
    tf = treefile(tmp_path, two_hellos, 'automatic-version-prefix: "1"\n')
    lock = tmp_path / "manifest-lock.x86_64.json"
    r = compose(tf, tmp_path, "--ex-write-lockfile-to", lock)
    assert r.exit_code == 0, r.stderr
    assert hello_in_commit(tmp_path) == "2.11"
    data = json.loads(lock.read_text())
    assert list(data) == ["packages", "metadata"]
    hello = data["packages"]["hello"]
    assert list(hello) == ["evra", "digest", "metadata"]
    assert hello["evra"] == "2.11-1.x86_64"
    assert hello["digest"].startswith("sha256:") and len(hello["digest"]) == 71
    assert hello["metadata"] == {"sourcerpm": "hello"}
    assert set(data["packages"]) == {"bash", "filesystem", "hello", "libhello", "setup"}
    assert data["metadata"]["generated"].endswith("T00:00:00Z")
    assert list(data["metadata"]["rpmmd_repos"]) == ["test-repo"]

    overrides = tmp_path / "manifest-lock.overrides.yaml"
    overrides.write_text(
        textwrap.dedent("""\
        packages:
          hello:
            evr: 2.10-1
            metadata:
              type: pin
              reason: https://example.com/issue/1
        """)
    )
    r = compose(tf, tmp_path, "--lockfile", lock, "--ex-lockfile", overrides,
                "--lockfile-strict")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert f"{REF}: committed 1.1 " in r.stdout
    assert hello_in_commit(tmp_path) == "2.10"


def test_lockfile_repos_are_fetched_and_used_only_for_locked_packages(
    tmp_path: Path, two_hellos: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Fedora CoreOS's `lockfile-repos: [fedora-coreos-pool]`: the pool is fetched only
    with a lockfile, and gives only the packages the lockfile locks."""
    root = tmp_path_factory.mktemp("pool")
    hello = dataclasses.replace(demo_packages()[0], version="2.12")
    pool = make_repo(
        root / "repo", [hello, dataclasses.replace(hello, name="unlocked")], root / "w"
    )
    tf = treefile(tmp_path, two_hellos, "lockfile-repos: [pool]\n", packages="[hello]")
    (tf.parent / "pool.repo").write_text(f"[pool]\nbaseurl={pool.as_uri()}\ngpgcheck=0\n")
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert hello_in_commit(tmp_path) == "2.11"
    assert sorted(p.name for p in (tmp_path / "cache/repos").iterdir()) == ["test-repo"]

    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"packages": {"hello": {"evra": "2.12-1.x86_64"}}}))
    r = compose(tf, tmp_path, "--lockfile", lock)
    assert r.exit_code == 0, r.stderr
    assert hello_in_commit(tmp_path) == "2.12"
    tf.write_text(tf.read_text().replace("[hello]", "[hello, unlocked]"))
    r = compose(tf, tmp_path, "--lockfile", lock)
    assert error_message(r, 1) == (
        "packages: 'unlocked' not found: not locked, and pool is in lockfile-repos"
    )
