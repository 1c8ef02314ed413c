"""Trees that rpm transactions run on: real RPMs imported into a package cache, checked
out into a tree (in the install root's layout, or the final OSTree layout with /etc in
usr/etc), their scriptlets and file triggers run by engine/transaction.py; and the same
transactions run by the host's own rpm, to compare."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.checkout import checkout_packages
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import CachedPackage, PackageCache, cache_ref
from fedostree.engine.transaction import run_erase, run_install
from tests.support.rpms import Pkg, build_rpms

LOG = "etc/triggers.log"


def logged(tag: str) -> str:
    """A scriptlet body that appends its name, argument count, arguments and stdin to
    /etc/triggers.log."""
    return f'{{ echo "{tag} ($#) $*"; cat; }} >> /{LOG}'


def key(pkg: Pkg) -> str:
    return pkg.name if pkg.version == "1.0" else f"{pkg.name}-{pkg.version}"


class Packages:
    """Packages built once and imported into a bare package cache, by key(pkg)."""

    def __init__(self, pkgs: Sequence[Pkg], workdir: Path) -> None:
        self.rpms = dict(zip(map(key, pkgs), build_rpms(pkgs, workdir / "rpms", workdir / "work"),
                             strict=True))  # fmt: skip
        self.repo = ot.open_repo(workdir / "repo", create_mode="bare")
        cache = PackageCache(self.repo)
        self.cached: dict[str, CachedPackage] = {}
        with ot.transaction(self.repo):
            refs = {k: cache_ref(k, "1", "x86_64") for k in self.rpms}
            for k, path in self.rpms.items():
                cache.import_rpm(path, refs[k], "0" * 64)
        for k, ref in refs.items():
            found = cache.lookup(ref, "0" * 64)
            assert found is not None
            self.cached[k] = found


class Tree:
    """A tree and the packages installed in it, in rpmdb order."""

    def __init__(self, packages: Packages, root: Path, *, etc_in_usr: bool = False) -> None:
        self.packages, self.root, self.etc_in_usr = packages, root, etc_in_usr
        self.installed: list[str] = []

    def install(self, *keys: str, ignore: Iterable[str] = ()) -> None:
        added = [self.packages.cached[k] for k in keys]
        checkout_packages(self.packages.repo, added, self.root, OSTree.RepoDevInoCache.new())
        if self.etc_in_usr:
            move_etc_to_usr(self.root)
        run_install(self.root, added, installed=self.blobs(self.installed), ignore=ignore,
                    etc_in_usr=self.etc_in_usr)  # fmt: skip
        self.installed += keys

    def erase(self, *keys: str) -> None:
        remaining = [k for k in self.installed if k not in keys]
        order = [self.packages.cached[k].nevra for k in self.installed]
        run_erase(self.root, self.blobs(keys), remaining=self.blobs(remaining),
                  etc_in_usr=self.etc_in_usr, rpmdb_order=order)  # fmt: skip
        self.installed = remaining

    def blobs(self, keys: Iterable[str]) -> list[bytes]:
        return [self.packages.cached[k].header_blob for k in keys]

    def log(self) -> str:
        """What the scriptlets logged since the last call."""
        path = self.root / ("usr/" if self.etc_in_usr else "") / LOG
        text = path.read_text() if path.exists() else ""
        path.unlink(missing_ok=True)
        return text


def move_etc_to_usr(root: Path) -> None:
    """The final OSTree layout's /etc: usr/etc."""
    if (root / "etc").is_dir():
        shutil.copytree(root / "etc", root / "usr/etc", symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(root / "etc")


def rpm_available() -> str | None:
    """None if the host's rpm can install into a root here (it chroots: root only)."""
    if shutil.which("rpm") is None:
        return "rpm is not installed"
    return None if os.geteuid() == 0 else "rpm --root needs root"


class RpmTree:
    """The same as Tree, run by the host's rpm in a root of its own."""

    def __init__(self, packages: Packages, root: Path) -> None:
        self.packages, self.root = packages, root
        root.mkdir(parents=True)

    def _rpm(self, *args: str) -> None:
        subprocess.run(["rpm", "--root", str(self.root), "--dbpath", "/usr/share/rpm",
                        "--nodeps", *args], check=True, capture_output=True)  # fmt: skip

    def install(self, *keys: str) -> None:
        self._rpm("-i", *(str(self.packages.rpms[k]) for k in keys))

    def erase(self, *keys: str) -> None:
        self._rpm("-e", *(self.packages.rpms[k].name.removesuffix(".x86_64.rpm") for k in keys))

    def log(self) -> str:
        path = self.root / LOG
        text = path.read_text() if path.exists() else ""
        path.unlink(missing_ok=True)
        return text
