"""Three small real repositories for resolution tests: every spec form, path provides,
weak dependencies, exclusions, and the same package at different versions in different
repositories (`repo-packages`, lockfiles, `lockfile-repos`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import solv

from fedostree.engine.depsolve import load_pool
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from tests.support.rpms import Pkg, make_repo


def main_packages() -> list[Pkg]:
    return [
        Pkg("foo", version="1.0", release="1"),
        Pkg("foo", version="1.0", release="2"),
        Pkg("foo", version="2.0", release="1"),
        Pkg("multi", arch="x86_64", files={"/usr/share/multi/x86_64": "x\n"}),
        Pkg("multi", arch="noarch", files={"/usr/share/multi/noarch": "n\n"}),
        Pkg("ep", epoch=2, version="1.0", release="1"),
        Pkg("libfoo", provides=["libfoo.so.1()(64bit)"]),
        Pkg("kernel"),
        Pkg("kernel-core"),
        Pkg("kernel-modules"),
        # A path in a file list (primary.xml has */bin/*; /opt only in filelists.xml) ...
        Pkg("hasfile", files={"/usr/bin/thing": "thing\n", "/opt/data/table": "t\n"}),
        # ... and a path only an explicit Provides names: no file list has /bin/sh.
        Pkg("shprov", provides=["/bin/sh"]),
        # One path, in one package's file list and in another's Provides.
        Pkg("pathfile", files={"/usr/libexec/both": "f\n"}),
        Pkg("pathprov", provides=["/usr/libexec/both"]),
        # Weak dependencies.
        Pkg("app", recommends=["extra"]),
        Pkg("extra"),
        Pkg("app-langpack", supplements=["app"]),
        Pkg("needy", requires=["extra"]),
        Pkg("tool", version="1.0"),
        Pkg("usestool", requires=["tool"]),
        Pkg("needsnewtool", requires=["tool >= 2"]),
        Pkg("onlymain"),
    ]


def updates_packages() -> list[Pkg]:
    return [Pkg("tool", version="2.0"), Pkg("onlyupdates")]


def locked_packages() -> list[Pkg]:
    """A repository in `lockfile-repos`: a newer tool, and a package nothing locks."""
    return [Pkg("tool", version="3.0"), Pkg("lockedonly")]


GROUPS = {"tools": ["foo", "extra", "nosuch"]}  # nosuch: a member no repository has


def build_resolve_repos(root: Path) -> dict[str, Path]:
    return {
        "main": make_repo(root / "main", main_packages(), root / "work-main", GROUPS),
        "updates": make_repo(root / "updates", updates_packages(), root / "work-updates"),
        "locked": make_repo(root / "locked", locked_packages(), root / "work-locked"),
    }


def local_metadata(repo_id: str, path: Path, *, lockfile_only: bool = False) -> RepoMetadata:
    config = RepoConfig(repo_id, path, (path.as_uri(),), lockfile_only=lockfile_only)
    return RepoMetadata(config, path, "rev")


def pool_of(
    repos: Mapping[str, Path], names: Iterable[str], lockfile_only: Iterable[str] = ()
) -> solv.Pool:
    """A pool of the named repositories, those in lockfile_only marked as lockfile-repos."""
    only = set(lockfile_only)
    metas = [local_metadata(n, repos[n], lockfile_only=n in only) for n in names]
    return load_pool(metas, "x86_64")
