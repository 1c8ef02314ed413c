"""Assembly: the order of the union checkout; scriptlet planning: order, coalescing of
`-p PROGRAM` runs."""

from __future__ import annotations

from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.checkout import checkout_packages
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import PackageCache, cache_ref
from fedostree.engine.rpmfile import Scriptlet
from fedostree.engine.scriptlets import coalesce
from tests.support.rpms import Pkg, build_rpms

LDCONFIG = ("/sbin/ldconfig",)


def test_coalesce_keeps_only_the_last_run_of_a_bodiless_program() -> None:
    phase = [
        Scriptlet("liba", "post", LDCONFIG, ""),
        Scriptlet("app", "post", ("/bin/sh",), "echo app"),
        Scriptlet("libb", "post", LDCONFIG, ""),
        Scriptlet("tool", "post", ("/usr/bin/tool",), ""),
    ]
    kept = coalesce(phase)
    assert [s.package for s in kept] == ["app", "libb", "tool"]


def test_coalesce_never_drops_scripts_with_a_body() -> None:
    phase = [Scriptlet(f"p{i}", "post", ("/bin/sh",), "echo same") for i in range(3)]
    assert coalesce(phase) == phase


def test_filesystem_is_checked_out_first_whatever_the_install_order(tmp_path: Path) -> None:
    """libsolv's install order can put a package with files in /lib64/ (libgcc) before
    filesystem and its /lib64 -> usr/lib64 symlink; as in rpm-ostree, filesystem goes
    first, so the file lands in usr/lib64 through the symlink."""
    filesystem = Pkg("filesystem", files={"/lib64": ("symlink", "usr/lib64"),
                                          "/usr/lib64": ("dir",)})  # fmt: skip
    early = Pkg("earlylib", files={"/lib64/libearly.so.1": "ELF\n"})
    rpms = build_rpms([early, filesystem], tmp_path / "rpms", tmp_path / "work")
    repo = ot.open_repo(tmp_path / "repo", create_mode="bare")
    cache = PackageCache(repo)
    cached = []
    with ot.transaction(repo):
        for rpm_path in rpms:  # install order: earlylib first
            ref = cache_ref(rpm_path.name, "1", "x86_64")
            cache.import_rpm(rpm_path, ref, "0" * 64)
    for rpm_path in rpms:
        found = cache.lookup(cache_ref(rpm_path.name, "1", "x86_64"), "0" * 64)
        assert found is not None
        cached.append(found)
    rootfs = tmp_path / "rootfs"
    checkout_packages(repo, cached, rootfs, OSTree.RepoDevInoCache.new())
    assert (rootfs / "lib64").is_symlink()
    assert (rootfs / "usr/lib64/libearly.so.1").read_text() == "ELF\n"
