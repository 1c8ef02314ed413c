"""Resolving with libsolv against REAL CentOS Stream 9 BaseOS metadata (1125 packages,
comps groups, full file lists). The spec forms, repo-packages and lockfiles on small
rpmbuild repositories are in test_package_specs.py and test_lockfile.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import libcomps
import pytest
import solv

from fedostree.engine import depsolve
from fedostree.engine.depsolve import Package
from fedostree.engine.pinning import lockfile_for
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from fedostree.engine.resolve import request_for
from fedostree.engine.resolve import resolve as resolve_request
from fedostree.errors import ConfigError, ResolveError
from fedostree.model.lockfile import Lockfile
from fedostree.model.treefile import Treefile
from tests.support.data import DATA

BASEOS = DATA / "centos-stream-9/baseos-2022-02"


def metadata(repo_id: str, path: Path) -> RepoMetadata:
    return RepoMetadata(RepoConfig(repo_id, Path("x"), ("file:///unused",)), path, "rev")


@pytest.fixture(scope="module")
def baseos() -> tuple[solv.Pool, libcomps.Comps]:
    meta = metadata("baseos", BASEOS)
    return depsolve.load_pool([meta], "x86_64"), depsolve.load_comps([meta])


def resolve(
    baseos: tuple[solv.Pool, libcomps.Comps],
    specs: Sequence[str],
    exclude: Sequence[str] = (),
    recommends: bool | None = None,
    lock: Lockfile | None = None,
    strict: bool = False,
) -> list[Package]:
    """What a treefile with these packages and exclude-packages resolves to."""
    pool, comps = baseos
    tf = Treefile(
        Path("treefile.yaml"),
        packages=tuple(specs),
        exclude_packages=tuple(exclude),
        recommends=recommends,
    )
    return resolve_request(pool, request_for(tf, comps, lock, strict))


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
    with pytest.raises(ResolveError) as info:
        resolve(baseos, ["bash >= 6"])
    assert str(info.value) == "packages: 'bash >= 6' not found in any repository"


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
    assert str(info.value) == (
        "packages: 'nosuch-package', '/usr/bin/nosuch' not found in any repository"
    )
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
    assert message.startswith("cannot resolve the package set (")
    assert message.endswith(", provided only by glibc-2.34-21.el9.x86_64 (exclude-packages)")
    assert "\n" not in message
    assert info.value.problems
    assert all("\n" not in p for p in info.value.problems)
    assert any(p.startswith("nothing provides ") for p in info.value.problems)
    assert any("needed by bash-5.1.8-2.el9.x86_64" in p for p in info.value.problems)


def test_exclude_of_a_requested_package(baseos) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(baseos, ["/usr/bin/bash"], exclude=["bash"])
    assert str(info.value) == (
        "treefile.yaml: packages: '/usr/bin/bash' is excluded by exclude-packages (bash)"
    )


def test_exclude_of_a_group_member_skips_it(baseos) -> None:
    """dnf leaves excluded group members out; what needs them then fails, naming them."""
    assert "NetworkManager-team" in names(resolve(baseos, ["@core"]))
    assert "NetworkManager-team" not in names(
        resolve(baseos, ["@core"], exclude=["NetworkManager-team"])
    )
    with pytest.raises(ResolveError) as info:
        resolve(baseos, ["@core"], exclude=["glibc"])
    assert "provided only by glibc-2.34-21.el9.x86_64 (exclude-packages)" in str(info.value)


def test_exclude_is_not_remembered_by_the_pool(baseos) -> None:
    with pytest.raises(ResolveError):
        resolve(baseos, ["bash"], exclude=["glibc"])
    assert "glibc" in names(resolve(baseos, ["bash"]))


def test_exclude_of_an_optional_package_picks_another_provider(baseos) -> None:
    full = names(resolve(baseos, ["@core", "kernel"]))
    assert "NetworkManager" in full
    packages = names(resolve(baseos, ["@core", "kernel"], exclude=["NetworkManager-wifi"]))
    assert "NetworkManager-wifi" not in packages


def test_recommends_false_leaves_out_weak_dependencies(baseos) -> None:
    with_weak = set(names(resolve(baseos, ["@core", "kernel"])))
    without = names(resolve(baseos, ["@core", "kernel"], recommends=False))
    assert len(without) == 303
    assert sorted(with_weak - set(without)) == ["glibc-gconv-extra", "kpartx", "openssl-pkcs11"]


def test_a_written_lockfile_reproduces_the_set_strictly(baseos, tmp_path: Path) -> None:
    packages = resolve(baseos, ["@core", "kernel"])
    lock = lockfile_for(packages, [metadata("baseos", BASEOS)])
    assert lock.rpmmd_repos == {"baseos": "2022-02-07T19:58:35Z"}
    assert len(lock.packages) == 306
    assert set(resolve(baseos, ["@core", "kernel"], lock=lock, strict=True)) == set(packages)
