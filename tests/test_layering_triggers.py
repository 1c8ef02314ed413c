"""File triggers across the layer boundary, on a real sysroot: the base tree's glibc
rebuilds ld.so.cache (the host's real, static ldconfig) when a library is layered and
when it is removed, and a layered package's trigger fires for matching base files; each
trigger's stdin is what rpm passes it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import compose
from tests.support.client import (
    OSNAME,
    RELEASE,
    add_remote,
    client,
    deployment_root,
    status,
    unfreeze,
)
from tests.support.rpms import (
    Pkg,
    base_packages,
    build_rpms,
    createrepo,
    demo_packages,
    write_treefile,
)

REF = "test/x86_64/triggers"
LDCONFIG = "/sbin/ldconfig"  # Debian's is statically linked: it runs in any tree
HOST_LIBZ = next(Path("/lib/x86_64-linux-gnu").glob("libz.so.1.*"))
GLIBC = Pkg(
    "glibc",
    version="2.38",
    files={
        "/usr/sbin/ldconfig": ("copy", LDCONFIG),
        "/etc/ld.so.conf": "/usr/lib64\n",
        "/usr/lib64/libbase.so": "a library file of the base\n",
    },
    attrs={"/usr/sbin/ldconfig": "0755,root,root"},
    scripts={
        "transfiletriggerin -- /usr/lib64": "/usr/sbin/ldconfig",
        "transfiletriggerpostun -- /usr/lib64": "/usr/sbin/ldconfig",
        "filetriggerin -- /usr/lib64": "cat >> /etc/glibc-filetriggerin.stdin",
    },
)
BASE_ICONS = Pkg("base-icons", files={"/usr/share/icons/base.png": "png\n"})
LIBZED = Pkg("libzed", files={"/usr/lib64/libzed.so.1": ("copy", str(HOST_LIBZ))})
ICON_CACHE = Pkg(
    "icon-cache",
    files={"/usr/share/icons/cache.png": "png\n"},
    scripts={"transfiletriggerin -- /usr/share/icons": "cat > /etc/icon-cache.stdin"},
)
TREE = (
    f"ref: {REF}\nrepos: [test-repo]\npackages: [bash, kernel, fedora-release, glibc, base-icons]\n"
)


@pytest.fixture(scope="module")
def trigger_trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The composed tree (glibc with its triggers) and the rpm-md repository to layer from."""
    root = tmp_path_factory.mktemp("trigger-trees")
    rpms = root / "rpms"
    kernel = next(p for p in demo_packages() if p.name == "kernel")
    build_rpms([*base_packages(), RELEASE, kernel, GLIBC, BASE_ICONS, LIBZED, ICON_CACHE],
               rpms, root / "work")  # fmt: skip
    createrepo(rpms)
    r = compose(write_treefile(root / "config", rpms.as_uri(), TREE), root)
    assert r.exit_code == 0, r.stderr
    return root / "repo", rpms


@pytest.fixture
def sysroot_with_triggers(
    tmp_path: Path, trigger_trees: tuple[Path, Path], http_server: Callable[[Path], str]
) -> Iterator[Path]:
    repo, rpms = trigger_trees
    sysroot = tmp_path / "sysroot"
    assert client(sysroot, "admin", "init", "--os", OSNAME).exit_code == 0
    add_remote(sysroot, http_server(repo))
    r = client(sysroot, "rebase", f"srv:{REF}")
    assert r.exit_code == 0, r.stderr
    repos = deployment(sysroot) / "etc/yum.repos.d"
    repos.mkdir(exist_ok=True)
    (repos / "test.repo").write_text(f"[test-repo]\nbaseurl={http_server(rpms)}\ngpgcheck=0\n")
    yield sysroot
    unfreeze(sysroot)


def deployment(sysroot: Path) -> Path:
    d = status(sysroot)[0]
    return deployment_root(sysroot, d["checksum"], d["serial"])


def ld_cache(root: Path) -> str:
    r = subprocess.run([LDCONFIG, "-p", "-C", str(root / "etc/ld.so.cache")],
                       capture_output=True, text=True, check=True)  # fmt: skip
    return r.stdout


def test_the_base_glibc_trigger_caches_a_layered_library(sysroot_with_triggers: Path) -> None:
    sysroot = sysroot_with_triggers
    # ldconfig links the library's SONAME (libz.so.1: it is the host's zlib) and caches it
    cached = "libz.so.1 (libc6,x86-64) => /usr/lib64/libz.so.1"
    assert "libz.so.1" not in ld_cache(deployment(sysroot))
    r = client(sysroot, "install", "libzed")
    assert r.exit_code == 0, r.stderr
    root = deployment(sysroot)
    assert cached in ld_cache(root)
    assert (root / "usr/lib64/libz.so.1").resolve().name == "libzed.so.1"
    # %filetriggerin: once for libzed, its matching files on stdin, one per line
    stdin = (root / "etc/glibc-filetriggerin.stdin").read_text().splitlines()
    assert stdin[-1:] == ["/usr/lib64/libzed.so.1"]
    r = client(sysroot, "uninstall", "libzed")
    assert r.exit_code == 0, r.stderr
    root = deployment(sysroot)
    assert not (root / "usr/lib64/libzed.so.1").exists()
    assert "libz.so.1" not in ld_cache(root)  # %transfiletriggerpostun ran ldconfig again


def test_a_layered_trigger_fires_for_base_files(sysroot_with_triggers: Path) -> None:
    sysroot = sysroot_with_triggers
    r = client(sysroot, "install", "icon-cache")
    assert r.exit_code == 0, r.stderr
    stdin = (deployment(sysroot) / "etc/icon-cache.stdin").read_text().splitlines()
    # a new package's %transfiletriggerin: the installed files under its prefix (the
    # base's icon) and its own, as rpm lists them
    assert stdin == ["/usr/share/icons/base.png", "/usr/share/icons/cache.png"]
