"""Client machines for the benchmark: fake sysroots (as in the tests) that deploy a
tree from a served copy of the composed repository, then upgrade or roll back through
the real command line, with every byte the server sends counted."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from fedostree.bench.httpcount import CountingServer
from fedostree.bench.tools import fedostree, fresh_dir, link_copy, remove_tree, run, stopwatch
from fedostree.client.sysroot import Sysroot

OSNAME = "bench"
REMOTE = "bench"


@dataclass(frozen=True)
class Upgraded:
    """A sysroot upgraded from old to new (new is the default, old the rollback)."""

    sysroot: Path
    bytes: int
    breakdown: str
    seconds: float


class ServedRepo:
    """A copy of the composed repository (hardlinks: objects are never edited in place),
    served over HTTP; its refs are moved with the stock ostree tools, as an admin would."""

    def __init__(self, source: Path, dest: Path) -> None:
        remove_tree(dest)
        self.path = link_copy(source, dest)
        self.server = CountingServer(self.path)

    @property
    def url(self) -> str:
        return self.server.url

    def take(self, source: Path, commit: str) -> None:
        """A commit composed after the copy was made, with its objects and the static
        deltas source has by now, from source."""
        run(["ostree", f"--repo={self.path}", "pull-local", source, commit])
        if (source / "deltas").is_dir():
            shutil.copytree(source / "deltas", self.path / "deltas", copy_function=_link_new,
                            dirs_exist_ok=True)  # fmt: skip

    def publish(self, ref: str, commit: str) -> None:
        run(["ostree", f"--repo={self.path}", "reset", ref, commit])
        run(["ostree", f"--repo={self.path}", "summary", "-u"])

    def drop_static_deltas(self) -> None:
        """Serve without static deltas: clients fall back to fetching objects."""
        shutil.rmtree(self.path / "deltas", ignore_errors=True)
        run(["ostree", f"--repo={self.path}", "summary", "-u"])

    def close(self) -> None:
        self.server.stop()


def _link_new(src: str, dest: str) -> None:
    if not os.path.lexists(dest):
        os.link(src, dest)


def new_sysroot(path: Path, url: str) -> Path:
    """`admin init` and a remote without GPG verification: nothing deployed yet."""
    fresh_dir(path)
    fedostree("admin", "init", "--sysroot", path, "--os", OSNAME)
    fedostree("remote", "add", "--sysroot", path, "--no-gpg-verify", REMOTE, url)
    return path


def set_remote_url(sysroot: Path, url: str) -> None:
    """Point the remote elsewhere, with the stock tools, as an admin would."""
    repo = f"--repo={sysroot / 'ostree/repo'}"
    run(["ostree", repo, "remote", "delete", REMOTE])
    run(["ostree", repo, "remote", "add", "--no-gpg-verify", REMOTE, url])


def deploy_then_upgrade(
    served: ServedRepo, sysroot: Path, ref: str, old: str, new: str
) -> Upgraded:
    """Deploy old (not counted; pulled from the served directory itself, which is
    quicker than HTTP), then publish new and upgrade to it over HTTP (counted)."""
    served.publish(ref, old)
    new_sysroot(sysroot, served.path.absolute().as_uri())
    fedostree("rebase", "--sysroot", sysroot, f"{REMOTE}:{ref}")
    set_remote_url(sysroot, served.url)
    served.publish(ref, new)
    counter = served.server.counter
    counter.reset()
    with stopwatch() as watch:
        fedostree("upgrade", "--sysroot", sysroot)
    return Upgraded(sysroot, counter.total, counter.describe(), watch.seconds)


def rollback_cli(sysroot: Path) -> float:
    """Seconds of `fedostree rollback`, as a user runs it (interpreter start included)."""
    with stopwatch() as watch:
        fedostree("rollback", "--sysroot", sysroot)
    return watch.seconds


def rollback_in_process(sysroot: Path) -> float:
    """Seconds of the rollback itself: load the sysroot, lock, reorder, write."""
    with stopwatch() as watch:
        root = Sysroot(sysroot)
        with root.locked():
            root.rollback()
    return watch.seconds


def deployed_packages(sysroot: Path) -> int:
    """Packages in the default deployment's commit."""
    return len(Sysroot(sysroot).describe()[0].packages)
