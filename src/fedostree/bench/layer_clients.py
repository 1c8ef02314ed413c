"""The machines of the layering figures: fake sysroots with the tree deployed and a
`.repo` file in the deployment's /etc/yum.repos.d (as an admin adds one), on which
`fedostree install` and `fedostree upgrade` run as a user runs them; and their peer,
`dnf --installroot` into a copy of the same deployed tree, from the same rpm-md
repository served over HTTP.

dnf has to find the tree's rpmdb: the tree keeps it at /usr/share/rpm (as rpm-ostree's
trees do), Debian's rpm looks in ~/.rpmdb. A ten-line dnf plugin sets rpm's `_dbpath`
macro to /usr/share/rpm in dnf's process (libsolv's rpmdb reader and rpm's transaction
both read it), and dnf reads and updates the tree's own database there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.bench import clients
from fedostree.bench.clients import REMOTE, ServedRepo
from fedostree.bench.tools import fedostree, fresh_dir, remove_tree, run, stopwatch
from fedostree.bench.traditional import write_dnf_plugin
from fedostree.client.repos import REPOS_DIR
from fedostree.client.sysroot import Sysroot

REPO_ID = "bench-layer"
REPO_FILE = "[{id}]\nname=packages to layer\nbaseurl={url}\ngpgcheck=0\n"
TREE_DBPATH = "/usr/share/rpm"
INSTALLING = "Installing: "
DBPATH_PLUGIN = f"""\
import dnf
import rpm


class TreeDbPath(dnf.Plugin):
    name = "fedostree_bench_dbpath"

    def __init__(self, base, cli):
        super().__init__(base, cli)
        rpm.addMacro("_dbpath", "{TREE_DBPATH}")
"""


@dataclass(frozen=True)
class Layered:
    """One timed command: its wall-clock seconds, the NEVRAs it added, and the bytes the
    rpm-md server sent meanwhile (when counted)."""

    seconds: float
    added: tuple[str, ...]
    served: int = 0


def repo_file(url: str) -> str:
    return REPO_FILE.format(id=REPO_ID, url=url)


def deployment_dir(sysroot: Path) -> Path:
    root = Sysroot(sysroot)
    return root.deployment_dir(root.default())


def write_repo_file(sysroot: Path, url: str) -> Path:
    """The only .repo file of the default deployment's /etc/yum.repos.d names url (the
    synthesized universe's own .repo files are random bytes); returns the deployment."""
    deployment = deployment_dir(sysroot)
    repos = deployment / REPOS_DIR
    repos.mkdir(parents=True, exist_ok=True)
    for old in repos.glob("*.repo"):
        old.unlink()
    (repos / "bench-layer.repo").write_text(repo_file(url))
    return deployment


def layerable_sysroot(served: ServedRepo, path: Path, ref: str, rpmmd_url: str) -> Path:
    """A sysroot with ref deployed from the served directory (not over HTTP: quicker, and
    not measured), its remote then pointed at the HTTP server for later upgrades.

    Deployed twice, as a machine updated once has a default and a rollback deployment:
    every measured command then writes one deployment and removes the oldest, the same
    work whether or not anything is layered."""
    clients.new_sysroot(path, served.path.absolute().as_uri())
    fedostree("rebase", "--sysroot", path, f"{REMOTE}:{ref}")
    redeploy(path)
    clients.set_remote_url(path, served.url)
    write_repo_file(path, rpmmd_url)
    return path


def redeploy(sysroot: Path) -> None:
    """The default deployment's commit deployed again (the first becomes the rollback)."""
    root = Sysroot(sysroot)
    with root.locked():
        current = root.default()
        root.deploy(root.origin_of(current), current.get_csum())


def ours(*args: str | Path, profile: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command line, under `python -m cProfile -o PROFILE` when profile is given."""
    if profile is None:
        return fedostree(*args)
    profile.parent.mkdir(parents=True, exist_ok=True)
    return run([sys.executable, "-m", "cProfile", "-o", profile, "-m", "fedostree", *args])


def install(sysroot: Path, specs: Sequence[str], *, profile: Path | None = None) -> Layered:
    """`fedostree install SPECS`, timed."""
    with stopwatch() as watch:
        result = ours("install", "--sysroot", sysroot, *specs, profile=profile)
    return Layered(watch.seconds, installing(result.stdout))


def dry_run(sysroot: Path, specs: Sequence[str]) -> tuple[str, ...]:
    """`fedostree install --dry-run`: fetches the metadata into the sysroot's cache."""
    return installing(fedostree("install", "--sysroot", sysroot, "--dry-run", *specs).stdout)


def upgrade(sysroot: Path, *, profile: Path | None = None) -> float:
    with stopwatch() as watch:
        ours("upgrade", "--sysroot", sysroot, profile=profile)
    return watch.seconds


def installing(stdout: str) -> tuple[str, ...]:
    """The NEVRAs `fedostree install` reports (`  Installing: NEVRA`)."""
    lines = (line.strip() for line in stdout.splitlines())
    return tuple(line.removeprefix(INSTALLING) for line in lines if line.startswith(INSTALLING))


@dataclass(frozen=True)
class DnfLayer:
    """`dnf --installroot ROOT install` of packages into a copy of a deployed tree, from
    only the layering repository (`reposdir` holding one .repo file), with dnf's own
    configuration (the tree's /etc/dnf/dnf.conf is synthesized bytes), its cache outside
    the root, no weak dependencies (fedostree's layering ignores them too)."""

    work: Path
    releasever: str

    @property
    def reposdir(self) -> Path:
        return self.work / "repos.d"

    @property
    def cachedir(self) -> Path:
        return self.work / "cache"

    @property
    def plugins(self) -> Path:
        return self.work / "plugins"

    @property
    def conf(self) -> Path:
        return self.work / "dnf.conf"

    def setup(self, url: str) -> DnfLayer:
        fresh_dir(self.work)
        self.reposdir.mkdir()
        (self.reposdir / "bench-layer.repo").write_text(repo_file(url))
        self.conf.write_text("[main]\ngpgcheck=0\n")
        # the compose peer's replacefiles filter: synthesized subpackages share paths
        write_dnf_plugin(self.plugins)
        (self.plugins / "fedostree_bench_dbpath.py").write_text(DBPATH_PLUGIN)
        (self.plugins / "fedostree_bench_dbpath.conf").write_text("[main]\nenabled=1\n")
        return self

    def argv(self, root: Path, *command: str) -> list[str]:
        return ["dnf", "-y", "--installroot", str(root), "--releasever", self.releasever,
                "--nogpgcheck", "-c", str(self.conf), f"--setopt=reposdir={self.reposdir}",
                f"--setopt=cachedir={self.cachedir}", "--setopt=install_weak_deps=False",
                f"--setopt=pluginpath={self.plugins}",
                f"--setopt=pluginconfpath={self.plugins}", *command]  # fmt: skip

    def copy_root(self, deployment: Path, dest: Path) -> Path:
        """A full copy of the deployed tree (dnf edits files in place; the deployment's
        are hardlinks into the sysroot's repository)."""
        remove_tree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", "--reflink=auto", deployment, dest])
        return dest

    def makecache(self, root: Path) -> None:
        """dnf's metadata cache, warm (packages are downloaded by the install)."""
        run(self.argv(root, "makecache"))

    def install(self, root: Path, specs: Sequence[str]) -> Layered:
        """`dnf install SPECS`, timed; nothing downloaded beforehand."""
        for packages in self.cachedir.glob("*/packages"):
            shutil.rmtree(packages)
        before = set(rpm_qa(root))
        with stopwatch() as watch:
            run(self.argv(root, "install", *specs))
        return Layered(watch.seconds, tuple(sorted(set(rpm_qa(root)) - before)))


def rpm_qa(root: Path) -> list[str]:
    """The NEVRAs in the tree's rpmdb."""
    result = run(["rpm", "--root", root, "--dbpath", TREE_DBPATH, "-qa", "--qf", "%{NEVRA}\\n"])
    return result.stdout.split()
