"""Resolving with libsolv against REAL CentOS Stream 9 BaseOS metadata, and lockfiles
against a tiny rpmbuild repository holding two versions of one package."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import libcomps
import pytest
import solv

from fedostree.core import depsolve
from fedostree.core.depsolve import Package
from fedostree.core.repofile import RepoConfig
from fedostree.core.repomd import RepoMetadata
from fedostree.errors import ConfigError, FedostreeError, ResolveError
from tests.support.data import SHARED_DATA
from tests.support.rpms import Pkg, make_repo

BASEOS = SHARED_DATA / "centos-stream-9/baseos-2022-02"


def metadata(repo_id: str, path: Path) -> RepoMetadata:
    return RepoMetadata(RepoConfig(repo_id, Path("x"), ("file:///unused",)), path, "rev")


@pytest.fixture(scope="module")
def baseos() -> tuple[solv.Pool, libcomps.Comps]:
    meta = metadata("baseos", BASEOS)
    return depsolve.load_pool([meta], "x86_64"), depsolve.load_comps([meta])


def resolve(
    baseos: tuple[solv.Pool, libcomps.Comps], specs: Sequence[str], **kwargs: object
) -> list[Package]:
    pool, comps = baseos
    return depsolve.resolve(pool, depsolve.expand_groups(comps, specs), **kwargs)


def names(packages: Sequence[Package]) -> list[str]:
    return [p.name for p in packages]


# --- the real BaseOS metadata ---


def test_core_and_kernel(baseos) -> None:
    packages = resolve(baseos, ["@core", "kernel"])
    assert len(packages) == 306
    assert len(set(names(packages))) == 306
    for name in ("kernel", "kernel-core", "systemd", "bash", "glibc", "dnf", "openssh-server"):
        assert name in names(packages)
    assert {p.arch for p in packages} <= {"x86_64", "noarch"}
    for p in packages:
        assert len(p.sha256) == 64 and int(p.sha256, 16) >= 0
        assert p.location.startswith("Packages/") and p.location.endswith(".rpm")
        assert (p.repo_id, p.repo.baseurls) == ("baseos", ("file:///unused",))
    kernel = next(p for p in packages if p.name == "kernel")
    assert kernel.nevra == "kernel-5.14.0-55.el9.x86_64"
    assert sum(p.install_size for p in packages) // 2**20 == 751


def test_core_standard_and_kernel(baseos) -> None:
    packages = resolve(baseos, ["@core", "@standard", "kernel"])
    assert len(packages) == 409
    assert sum(p.install_size for p in packages) // 2**20 == 940
    core = set(names(resolve(baseos, ["@core", "kernel"])))
    assert core < set(names(packages))


def test_install_order_puts_prerequisites_first(baseos) -> None:
    order = names(resolve(baseos, ["@core", "kernel"]))
    assert order.index("setup") < order.index("filesystem")  # Requires(pre): setup
    assert order.index("systemd") < order.index("openssh-server")


def test_resolution_is_deterministic(baseos) -> None:
    first = resolve(baseos, ["@core", "kernel"])
    assert resolve(baseos, ["@core", "kernel"]) == first
    assert set(resolve(baseos, ["kernel", "@core"])) == set(first)


def test_file_provide_resolves_to_its_package(baseos) -> None:
    packages = resolve(baseos, ["/usr/bin/bash"])
    assert "bash" in names(packages)
    assert set(names(packages)) == set(names(resolve(baseos, ["bash"])))


def test_provides_and_versioned_specs(baseos) -> None:
    assert "glibc" in names(resolve(baseos, ["libc.so.6()(64bit)"]))
    assert "bash" in names(resolve(baseos, ["bash >= 5"]))
    with pytest.raises(ResolveError, match="packages not found: bash >= 6"):
        resolve(baseos, ["bash >= 6"])


def test_group_members_are_mandatory_and_default(baseos) -> None:
    _, comps = baseos
    members = depsolve.group_members(comps, "core")
    assert "kernel" not in members  # optional or absent in @core; the treefile adds it
    assert {"bash", "systemd", "dnf"} <= set(members)
    assert depsolve.expand_groups(comps, ["bash", "@core"])[0] == "bash"
    assert len(depsolve.expand_groups(comps, ["@core", "@core"])) == len(members)


def test_unknown_package_lists_every_missing_one(baseos) -> None:
    with pytest.raises(ResolveError) as info:
        resolve(baseos, ["bash", "nosuch-package", "kernel", "/usr/bin/nosuch"])
    assert str(info.value) == "packages not found: nosuch-package, /usr/bin/nosuch"
    assert info.value.problems == []
    assert info.value.exit_code == 1


def test_unknown_group(baseos) -> None:
    with pytest.raises(ResolveError) as info:
        resolve(baseos, ["@core", "@nosuch-group"])
    assert str(info.value) == "group '@nosuch-group' is not in any repository's comps"


def test_exclude_that_makes_the_set_unresolvable_explains_why(baseos) -> None:
    with pytest.raises(ResolveError) as info:
        resolve(baseos, ["bash", "kernel"], exclude=["glibc"])
    message = str(info.value)
    assert message.startswith("cannot resolve the package set")
    assert "\n" not in message
    assert info.value.problems
    assert all("\n" not in p for p in info.value.problems)
    assert any(p.startswith("nothing provides ") for p in info.value.problems)
    assert any("needed by bash-5.1.8-2.el9.x86_64" in p for p in info.value.problems)


def test_exclude_of_a_requested_package(baseos) -> None:
    with pytest.raises(ResolveError, match=r"^packages not found: bash$"):
        resolve(baseos, ["bash"], exclude=["bash"])
    with pytest.raises(ResolveError, match=r"^packages not found: glibc$"):
        resolve(baseos, ["@core"], exclude=["glibc"])


def test_exclude_is_not_remembered_by_the_pool(baseos) -> None:
    with pytest.raises(ResolveError):
        resolve(baseos, ["bash"], exclude=["glibc"])
    assert "glibc" in names(resolve(baseos, ["bash"]))


def test_exclude_of_an_optional_package_picks_another_provider(baseos) -> None:
    full = names(resolve(baseos, ["@core", "kernel"]))
    assert "NetworkManager" in full
    packages = names(resolve(baseos, ["@core", "kernel"], exclude=["NetworkManager-wifi"]))
    assert "NetworkManager-wifi" not in packages


# --- lockfiles, on a tiny real repository with two versions of foo ---


@pytest.fixture(scope="module")
def two_foos(tmp_path_factory: pytest.TempPathFactory) -> solv.Pool:
    root = tmp_path_factory.mktemp("two-foos")
    pkgs = [Pkg("foo", version="1"), Pkg("foo", version="2"), Pkg("bar", requires=["foo"])]
    repo = make_repo(root / "repo", pkgs, root / "work")
    return depsolve.load_pool([metadata("tiny", repo)], "x86_64")


def evras(packages: Sequence[Package]) -> dict[str, str]:
    return {p.name: p.evra for p in packages}


def test_newest_version_wins_without_a_lockfile(two_foos) -> None:
    assert evras(depsolve.resolve(two_foos, ["bar"])) == {
        "foo": "2-1.x86_64",
        "bar": "1.0-1.x86_64",
    }


def test_lockfile_round_trip_pins_the_older_version(two_foos, tmp_path: Path) -> None:
    pinned = depsolve.resolve(two_foos, ["bar", "foo = 1-1"])
    lockfile = tmp_path / "lock.json"
    depsolve.write_lockfile(lockfile, pinned)
    data = json.loads(lockfile.read_text())
    foo1 = next(p for p in pinned if p.name == "foo")
    assert data == {
        "packages": {
            "foo": {"evra": "1-1.x86_64", "digest": f"sha256:{foo1.sha256}"},
            "bar": {"evra": "1.0-1.x86_64", "digest": data["packages"]["bar"]["digest"]},
        }
    }
    assert not list(tmp_path.glob(".*tmp"))
    lock = depsolve.read_lockfile(lockfile)
    packages = depsolve.resolve(two_foos, ["bar"], lock=lock)
    assert evras(packages) == {"foo": "1-1.x86_64", "bar": "1.0-1.x86_64"}
    depsolve.check_lock_digests(packages, lock)
    # The lock does not stick to the pool: without it, foo 2 again.
    assert evras(depsolve.resolve(two_foos, ["bar"]))["foo"] == "2-1.x86_64"


def test_lockfile_digest_mismatch(two_foos, tmp_path: Path) -> None:
    lockfile = tmp_path / "lock.json"
    depsolve.write_lockfile(lockfile, depsolve.resolve(two_foos, ["foo = 1-1"]))
    data = json.loads(lockfile.read_text())
    data["packages"]["foo"]["digest"] = "sha256:" + "0" * 64
    lockfile.write_text(json.dumps(data))
    lock = depsolve.read_lockfile(lockfile)
    packages = depsolve.resolve(two_foos, ["foo"], lock=lock)
    with pytest.raises(FedostreeError) as info:
        depsolve.check_lock_digests(packages, lock)
    assert str(info.value) == "lockfile: foo-1-1.x86_64: digest differs from the repository's"


def test_lockfile_pinning_a_version_no_repository_has(two_foos) -> None:
    lock = {"foo": depsolve.LockEntry("3-1.x86_64", "")}
    for specs in (["foo"], ["bar"]):
        with pytest.raises(ResolveError) as info:
            depsolve.resolve(two_foos, specs, lock=lock)
        assert str(info.value) == "lockfile pins versions no repository has: foo-3-1.x86_64"


def test_lockfile_entries_for_packages_no_repository_has_are_ignored(two_foos) -> None:
    lock = {"gone": depsolve.LockEntry("1-1.x86_64", "")}
    assert evras(depsolve.resolve(two_foos, ["foo"], lock=lock)) == {"foo": "2-1.x86_64"}


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"pkgs": {}}', '{"packages": []}', '{"packages": {"foo": "1-1.x86_64"}}'],
)
def test_invalid_lockfile(tmp_path: Path, content: str) -> None:
    path = tmp_path / "lock.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        depsolve.read_lockfile(path)
    assert str(info.value).startswith(f"{path}: not a valid lockfile")
    assert "\n" not in str(info.value)


def test_missing_lockfile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such lockfile"):
        depsolve.read_lockfile(tmp_path / "nope.json")
