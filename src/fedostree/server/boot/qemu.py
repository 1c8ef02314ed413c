"""The machine: QEMU booting a kernel and initramfs with the options of a boot entry, the
disk image as its only disk (virtio, /dev/vda), and its serial console in a log file.

QEMU runs with TCG (`-machine q35,accel=tcg -cpu max`): on these machines a nested KVM
guest hangs before the kernel's first line. `-no-reboot` turns the guest's reboot or
panic (the boot check's kernel arguments include panic=-1) into QEMU's exit, and the
guest's poweroff ends QEMU too. QEMU runs in its own session; at the time limit the whole
session is killed, so nothing it started is left running, and it dies with the process
that started it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fedostree.errors import FedostreeError

QEMU = "qemu-system-x86_64"
MEMORY_MIB = 512
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class BootRun:
    serial: str  # what the serial console printed
    seconds: float  # wall time from QEMU's start to its exit (or to the kill)
    timed_out: bool  # killed at the time limit
    exit_status: int | None  # QEMU's (None when killed)
    qemu_errors: str  # QEMU's own stderr


def qemu_binary() -> str | None:
    return shutil.which(QEMU)


def qemu_argv(kernel: Path, initrd: Path | None, options: str, image: Path, log: Path) -> list[str]:
    argv = [QEMU, "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1",
            "-m", str(MEMORY_MIB), "-nodefaults", "-no-reboot", "-display", "none",
            "-monitor", "none", "-serial", f"file:{log}",
            "-drive", f"file={image},format=raw,if=virtio,cache=unsafe",
            "-kernel", str(kernel), "-append", options]  # fmt: skip
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    return argv


def run_qemu(
    kernel: Path, initrd: Path | None, options: str, image: Path, log: Path, timeout: float
) -> BootRun:
    """Boot and wait for QEMU to exit, at most timeout seconds."""
    if qemu_binary() is None:
        raise FedostreeError(f"{QEMU} is not installed (run `make setup`)")
    log.unlink(missing_ok=True)
    errors = log.with_suffix(".qemu-stderr")
    start = time.monotonic()
    with errors.open("w") as err:
        process = subprocess.Popen(qemu_argv(kernel, initrd, options, image, log),
                                   stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                   start_new_session=True, preexec_fn=die_with_parent)  # fmt: skip
        try:
            status: int | None = process.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out, status = True, None
        finally:
            kill_session(process)
    seconds = time.monotonic() - start
    serial = log.read_text(errors="replace") if log.exists() else ""
    qemu_errors = errors.read_text(errors="replace").strip()
    errors.unlink(missing_ok=True)
    if not timed_out and status != 0 and not serial:
        raise FedostreeError(f"{QEMU} failed with exit status {status}: {qemu_errors}")
    return BootRun(serial, seconds, timed_out, status, qemu_errors)


def die_with_parent() -> None:
    """In QEMU's process before it starts: SIGKILL it when the process that started it
    dies, however that dies (QEMU's own session is out of reach of a kill of ours)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def kill_session(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL QEMU's whole session (QEMU and anything it started), and reap QEMU."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
