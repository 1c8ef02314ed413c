"""A thin wrapper over bubblewrap: run a program with a tree as `/` and no network.

A tree assembled from the package cache is made of hardlinks to the cache's objects,
so writing to one of its files in place would corrupt every tree that shares it. The
sandbox therefore shows the tree through rofiles-fuse (new files, renames and deletes
are fine; in-place writes to shared files are refused) where FUSE works, and with
/usr read-only otherwise. Break the links of files meant to be edited (/etc) first.

Two shapes: "tree" (the scriptlets') shows the whole tree as `/` with empty /tmp, /var and
/run; "usr-etc" is rpm-ostree's view for postprocessing (rust/src/bwrap.rs): the tree's
/usr and /etc, its /var read-only, its /bin, /lib, ... symlinks, and nothing else of it
(writes elsewhere land in the sandbox's own, discarded root). A tree in its final OSTree
layout (etc_in_usr) keeps its /etc as usr/etc: the scriptlets then see usr/etc as /etc,
beside /usr, the symlinks and empty /tmp, /var and /run, as rpm-ostree's scriptlets do
when it layers packages on a deployment."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from fedostree.engine.rootfs import resolve_in_root
from fedostree.errors import FedostreeError

ENV = {"PATH": "/usr/sbin:/usr/bin", "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb"}
HOSTNAME = "localhost"
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"  # passed on when set (as rpm-ostree's bwrap.rs)
SCRIPT_PATH = "/run/fedostree/script"
JOBS_DIR = "/run/fedostree/jobs"
STATE_DIRS = ("tmp", "var", "run")  # empty tmpfs in every sandbox
USR_LINKS = ("lib", "lib32", "lib64", "bin", "sbin")  # toplevel symlinks into /usr
Shape = Literal["tree", "usr-etc"]
OUT_DIR = "/run/fedostree/out"
# Runs each job with its input, its output captured and its exit status recorded; the
# caller stops at a failure.
DRIVER = (
    f'run() {{ n=$1; in=$2; shift 2; "$@" <"$in" >"{OUT_DIR}/$n" 2>&1; rc=$?; '
    f'echo $rc >"{OUT_DIR}/$n.rc"; return $rc; }}\n'
)


@dataclass(frozen=True)
class Job:
    argv: Sequence[str]  # SCRIPT_PATH in argv stands for the job's script
    script: str | None = None
    stdin: str = ""  # what the job reads (rpm feeds a file trigger its matching paths)


@dataclass(frozen=True)
class JobFailure:
    index: int
    returncode: int
    output: str


class Sandbox:
    def __init__(
        self, rootfs: Path, *, timeout: float = 600, shape: Shape = "tree", etc_in_usr: bool = False
    ) -> None:
        self.rootfs = rootfs
        self.timeout = timeout
        self.shape = shape
        self.etc_in_usr = etc_in_usr
        self._stack = contextlib.ExitStack()
        self._view = rootfs
        self._usr_readonly = False

    def __enter__(self) -> Sandbox:
        mount = self._stack.enter_context(_rofiles(self.rootfs))
        if mount is None:
            self._usr_readonly = True
        else:
            self._view = mount
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def run(
        self, argv: Sequence[str], *, script: str | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the tree; a script body is placed at SCRIPT_PATH, read-only."""
        with tempfile.NamedTemporaryFile("w", prefix="fedostree-script-") as f:
            args = self._bwrap_args()
            if script is not None:
                f.write(script)
                f.flush()
                args += ["--ro-bind", f.name, SCRIPT_PATH]
            cmd = [*args, "--", *argv]
            try:
                return subprocess.run(
                    cmd,
                    input=stdin,
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    env=sandbox_env(),
                    errors="replace",
                )
            except subprocess.TimeoutExpired as e:
                raise FedostreeError(
                    f"timed out after {self.timeout:.0f}s: {' '.join(argv)}"
                ) from e

    def has_shell(self) -> bool:
        return resolve_in_root(self.rootfs, "bin/sh").is_file()

    def run_many(self, jobs: Sequence[Job]) -> JobFailure | None:
        """Run jobs in order in one sandbox (the tree needs a /bin/sh); return the first
        failure, or None. One sandbox for many scriptlets saves a namespace setup each."""
        with tempfile.TemporaryDirectory(prefix="fedostree-jobs-") as tmp:
            scripts, out = Path(tmp, "jobs"), Path(tmp, "out")
            scripts.mkdir()
            out.mkdir()
            driver = [DRIVER]
            for i, job in enumerate(jobs):
                argv = [f"{JOBS_DIR}/{i}" if a == SCRIPT_PATH else a for a in job.argv]
                if job.script is not None:
                    (scripts / str(i)).write_text(job.script)
                stdin = "/dev/null"
                if job.stdin:
                    (scripts / f"{i}.in").write_text(job.stdin)
                    stdin = f"{JOBS_DIR}/{i}.in"
                driver.append(f"run {i} {stdin} {shlex.join(argv)} || exit 0\n")
            (scripts / "driver").write_text("".join(driver))
            args = [
                *self._bwrap_args(),
                "--ro-bind",
                str(scripts),
                JOBS_DIR,
                "--bind",
                str(out),
                OUT_DIR,
            ]
            try:
                proc = subprocess.run(
                    [*args, "--", "/bin/sh", f"{JOBS_DIR}/driver"],
                    capture_output=True,
                    text=True,
                    errors="replace",
                    env=sandbox_env(),
                    timeout=self.timeout * len(jobs),
                )
            except subprocess.TimeoutExpired as e:
                raise FedostreeError(f"scriptlets timed out after {e.timeout:.0f}s") from e
            return _first_failure(out, len(jobs), proc.stderr)

    def _bwrap_args(self) -> list[str]:
        if self.shape == "usr-etc":
            return [*self._usr_etc_mounts(), *isolation_args()]
        if self.etc_in_usr:
            return [*self._usr_mounts(), "--bind", str(self._view / "usr/etc"), "/etc",
                    *system_mounts(), *isolation_args()]  # fmt: skip
        args = ["bwrap", "--bind", str(self._view), "/"]
        if self._usr_readonly:
            args += ["--ro-bind", str(self._view / "usr"), "/usr"]
        return [*args, *system_mounts(), *isolation_args()]

    def _usr_mounts(self) -> list[str]:
        """The tree's /usr and its /bin, /lib, ... symlinks into it."""
        usr = "--ro-bind" if self._usr_readonly else "--bind"
        args = ["bwrap", usr, str(self._view / "usr"), "/usr"]
        for name in USR_LINKS:
            if (self.rootfs / name).is_symlink():
                args += ["--symlink", os.readlink(self.rootfs / name), f"/{name}"]
        return args

    def _usr_etc_mounts(self) -> list[str]:
        args = self._usr_mounts()
        if (self.rootfs / "etc").is_dir():
            args += ["--bind", str(self._view / "etc"), "/etc"]
        if (self.rootfs / "var").is_dir():
            args += ["--ro-bind", str(self.rootfs / "var"), "/var"]
        return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]


def system_mounts() -> list[str]:
    """bwrap's /proc, /dev and an empty tmpfs on each state directory."""
    tmpfs = [x for name in STATE_DIRS for x in ("--tmpfs", f"/{name}")]
    return ["--proc", "/proc", "--dev", "/dev", *tmpfs]


def sandbox_env() -> dict[str, str]:
    """The environment of everything run in a tree: ENV, and SOURCE_DATE_EPOCH when it is
    set (a build pins it, engine/reproducible.py), so that scriptlets that embed a time
    (useradd's last password change, generated caches) embed the build's."""
    epoch = os.environ.get(SOURCE_DATE_EPOCH)
    return ENV if epoch is None else {**ENV, SOURCE_DATE_EPOCH: epoch}


def isolation_args() -> list[str]:
    """No network or other namespaces shared, gone with us, a fresh session and a clean
    environment (sandbox_env), in /; the host name is HOSTNAME, not the build host's, so
    that a scriptlet that records it writes the same on every machine."""
    env = [x for k, v in sandbox_env().items() for x in ("--setenv", k, v)]
    return ["--unshare-all", "--hostname", HOSTNAME, "--die-with-parent", "--new-session",
            "--chdir", "/", "--clearenv", *env]  # fmt: skip


def _first_failure(out: Path, count: int, driver_stderr: str) -> JobFailure | None:
    for i in range(count):
        rc_file = out / f"{i}.rc"
        output = (out / str(i)).read_text(errors="replace") if (out / str(i)).exists() else ""
        if not rc_file.exists():
            return JobFailure(i, -1, output or driver_stderr)
        rc = int(rc_file.read_text().strip() or -1)
        if rc != 0:
            return JobFailure(i, rc, output)
    return None


def bwrap_available() -> str | None:
    """None if bubblewrap can run a sandbox here, else the reason it cannot."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed"
    r = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "true"], capture_output=True, text=True
    )
    return None if r.returncode == 0 else f"bwrap cannot create a sandbox: {r.stderr.strip()}"


@contextlib.contextmanager
def _rofiles(rootfs: Path) -> Iterator[Path | None]:
    """Mount rootfs through rofiles-fuse; yield None if FUSE is not usable here."""
    if shutil.which("rofiles-fuse") is None or not Path("/dev/fuse").exists():
        yield None
        return
    mnt = Path(tempfile.mkdtemp(prefix="fedostree-rofiles-"))
    proc = subprocess.Popen(
        ["rofiles-fuse", "-f", str(rootfs), str(mnt)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if not _wait_mounted(mnt, proc):
            yield None
            return
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        mnt.rmdir()


def _wait_mounted(mnt: Path, proc: subprocess.Popen[bytes]) -> bool:
    for _ in range(200):
        if mnt.is_mount():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False
