"""The traditional path that fedostree is measured against: `dnf --installroot` of
exactly the packages our compose resolved, then `ostree commit` of that root into an
archive repository, once per tree.

Two accommodations, both for the synthesized universe and both no-ops for a consistent
one: `filesystem` is installed first with `rpm --nodeps` (as rpm-ostree checks it out
first, and old treefiles' bootstrap_packages did), because libsolv's and rpm's install
orders put libgcc (files in /lib64/) before filesystem (the /lib64 -> usr/lib64
symlink); and dnf runs with a tiny plugin adding rpm's replacefiles problem filters,
because the synthesized subpackages share paths (licenses, .build-id links) with
differing content, which real packages do not."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.bench.tools import disk_usage, remove_tree, run, stopwatch
from fedostree.errors import FedostreeError
from fedostree.model.lockfile import read_lockfile


@dataclass(frozen=True)
class RpmRepo:
    id: str
    path: Path


@dataclass(frozen=True)
class TradRound:
    """One traditional build of every tree: total seconds (removing the roots included),
    and the roots' disk usage."""

    seconds: float
    cleanup_seconds: float
    root_bytes: int
    root_apparent_bytes: int
    commits: dict[str, str]


def check_dnf() -> str:
    """dnf's version; the harness needs Debian's `dnf` package."""
    if shutil.which("dnf") is None:
        raise FedostreeError("the traditional path needs dnf (run `make setup`)")
    return run(["dnf", "--version"]).stdout.splitlines()[0].strip()


def nevras_from_lockfile(path: Path) -> list[str]:
    """NAME-EPOCH:VERSION-RELEASE.ARCH of every package an rpm-ostree lockfile pins."""
    return sorted(p.nevra for p in read_lockfile(path).packages.values())


@dataclass(frozen=True)
class Dnf:
    """How every `dnf install` of a round runs: repositories, cache, plugin."""

    repos: Sequence[RpmRepo]
    cachedir: Path
    plugins: Path
    releasever: str

    def argv(self, root: Path, specs: Sequence[str]) -> list[str]:
        """`dnf install` into root from only these repositories, no weak dependencies,
        metadata refreshed (the updates repository changes between rounds)."""
        argv = ["dnf", "-y", "-q", "--refresh", "--installroot", str(root),
                "--releasever", self.releasever, "--disablerepo=*", "--nogpgcheck",
                "--setopt=install_weak_deps=False", "--setopt=reposdir=/dev/null",
                f"--setopt=cachedir={self.cachedir}", f"--setopt=pluginpath={self.plugins}",
                f"--setopt=pluginconfpath={self.plugins}"]  # fmt: skip
        argv += [f"--repofrompath={r.id},{r.path.absolute().as_uri()}" for r in self.repos]
        return [*argv, "install", *specs]


DNF_PLUGIN = """\
import dnf
import rpm


class ReplaceFiles(dnf.Plugin):
    name = "fedostree_bench"

    def __init__(self, base, cli):
        super().__init__(base, cli)
        base._rpm_probfilter.update(
            {rpm.RPMPROB_FILTER_REPLACENEWFILES, rpm.RPMPROB_FILTER_REPLACEOLDFILES}
        )
"""


def write_dnf_plugin(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "fedostree_bench.py").write_text(DNF_PLUGIN)
    (directory / "fedostree_bench.conf").write_text("[main]\nenabled=1\n")
    return directory


def install_root(root: Path, dnf: Dnf, nevras: Sequence[str], bootstrap: Sequence[Path]) -> None:
    remove_tree(root)
    root.mkdir(parents=True)
    if bootstrap:
        run(["rpm", "--root", root, "-i", "--nodeps", "--noscripts", *bootstrap])
    run(dnf.argv(root, nevras))


def init_archive_repo(path: Path) -> Path:
    remove_tree(path)
    run(["ostree", "init", f"--repo={path}", "--mode=archive"])
    return path


def commit_root(repo: Path, branch: str, root: Path) -> str:
    result = run(["ostree", "commit", f"--repo={repo}", f"--branch={branch}",
                  f"--subject={branch}", f"--tree=dir={root}"])  # fmt: skip
    return result.stdout.strip()


def build_trees(
    lockfiles: Mapping[str, Path],
    repos: Sequence[RpmRepo],
    bootstrap: Mapping[str, Path],
    *,
    work: Path,
    archive: Path,
    releasever: str,
) -> TradRound:
    """Per tree: install and commit (timed), measure the root (not timed), remove it
    (timed, as our compose removes its build tree). bootstrap maps the NEVRAs to
    install first (filesystem) to their RPM files."""
    nevras = {name: nevras_from_lockfile(path) for name, path in lockfiles.items()}
    dnf = Dnf(repos, work / "dnf-cache", write_dnf_plugin(work / "dnf-plugins"), releasever)
    commits, build, cleanup, blocks, apparent = {}, 0.0, 0.0, 0, 0
    for name, nevra_list in nevras.items():
        root = work / "roots" / name.replace("/", "-")
        first = [path for nevra, path in bootstrap.items() if nevra in nevra_list]
        with stopwatch() as watch:
            install_root(root, dnf, nevra_list, first)
            commits[name] = commit_root(archive, f"trad/{name}", root)
        build += watch.seconds
        blocks += disk_usage(root)
        apparent += disk_usage(root, apparent=True)
        with stopwatch() as watch:
            remove_tree(root)
        cleanup += watch.seconds
    return TradRound(build + cleanup, cleanup, blocks, apparent, commits)
