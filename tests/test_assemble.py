"""Assembly: the order of the union checkout; scriptlet planning: coalescing of bare
`-p PROGRAM` runs."""

from __future__ import annotations

from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.checkout import checkout_packages
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import PackageCache, cache_ref
from fedostree.engine.scriptlets import ScriptRun, coalesce
from tests.support.rpms import Pkg, build_rpms

LDCONFIG = ("/sbin/ldconfig",)


def run(
    package: str, program: tuple[str, ...], body: str | None = None, stdin: str = ""
) -> ScriptRun:
    return ScriptRun(package, f"{package}-1-1.x86_64", "post", program, body,
                     () if body is None else ("1",), stdin)  # fmt: skip


def test_coalesce_keeps_only_the_last_of_consecutive_bare_runs() -> None:
    """An action of fedostree's own between two runs (file owners) does not keep the
    first; a script between them does: it may rely on the earlier run's effect."""
    action = lambda: None  # noqa: E731
    steps = [
        run("liba", LDCONFIG),
        action,
        run("libb", LDCONFIG),
        run("app", ("/bin/sh",), "echo app"),
        run("libc", LDCONFIG),
        run("tool", ("/usr/bin/tool",)),
    ]
    kept = coalesce(steps)
    assert kept == [action, *steps[2:]]


def test_coalesce_never_drops_scripts_with_a_body_or_an_input() -> None:
    same = [run(f"p{i}", ("/bin/sh",), "echo same") for i in range(3)]
    assert coalesce(same) == same
    fed = [run(f"p{i}", LDCONFIG, stdin="/usr/lib64/libp.so\n") for i in range(2)]
    assert coalesce(fed) == fed


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
