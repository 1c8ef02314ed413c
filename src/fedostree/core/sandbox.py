"""A thin wrapper over bubblewrap: run a program with a tree as `/` and no network.

A tree assembled from the package cache is made of hardlinks to the cache's objects,
so writing to one of its files in place would corrupt every tree that shares it. The
sandbox therefore shows the tree through rofiles-fuse (new files, renames and deletes
are fine; in-place writes to shared files are refused) where FUSE works, and with
/usr read-only otherwise. Break the links of files meant to be edited (/etc) first."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

from fedostree.errors import FedostreeError

ENV = {"PATH": "/usr/sbin:/usr/bin", "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb"}
SCRIPT_PATH = "/run/fedostree/script"


class Sandbox:
    def __init__(self, rootfs: Path, *, timeout: float = 600) -> None:
        self.rootfs = rootfs
        self.timeout = timeout
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
        self, argv: Sequence[str], *, script: str | None = None
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
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    env=ENV,
                    errors="replace",
                )
            except subprocess.TimeoutExpired as e:
                raise FedostreeError(
                    f"timed out after {self.timeout:.0f}s: {' '.join(argv)}"
                ) from e

    def _bwrap_args(self) -> list[str]:
        args = ["bwrap", "--bind", str(self._view), "/"]
        if self._usr_readonly:
            args += ["--ro-bind", str(self._view / "usr"), "/usr"]
        return [
            *args,
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/var",
            "--tmpfs",
            "/run",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--chdir",
            "/",
            "--clearenv",
            *[x for k, v in ENV.items() for x in ("--setenv", k, v)],
        ]


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
