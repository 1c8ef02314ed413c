"""The `boot` check: the candidate commit deployed into a scratch sysroot, made a disk
image, booted in QEMU through its default boot entry, and judged by what the tree's init
printed on the serial console (serial.py) within the time limit.

A tree that does not reach its marker, boots another commit, fails a boot-time check or
does not power off in time fails `boot`; its log is the verdict, the serial console's
last lines, then the whole console. A machine without QEMU skips the check, saying so:
it is recorded as skipped, never as passed. What breaks on this side (a disk image that
cannot be written, QEMU that does not start) is an error of the compose, not a result."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.server.boot import bls, image, qemu
from fedostree.server.boot.deploy import DeployError, install, remove_sysroot
from fedostree.server.boot.serial import BootReport, kernel_panic, last_lines, parse_serial
from fedostree.server.results import CheckResult

log = logging.getLogger(__name__)
NAME = "boot"
DEFAULT_TIMEOUT = 300.0  # seconds from QEMU's start to the tree's power-off


@dataclass(frozen=True)
class BootOptions:
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Booted:
    """One boot of a sysroot's default entry."""

    entry: bls.BootEntry
    run: qemu.BootRun
    report: BootReport

    @property
    def marker(self) -> str | None:
        return self.report.marker.line if self.report.marker else None


def skip_reason() -> str | None:
    if qemu.qemu_binary() is None:
        return f"skipped: {qemu.QEMU} is not installed on this machine (run `make setup`)"
    return None


def boot_check(repo_path: Path, commit: str, ref: str, workdir: Path,
               options: BootOptions) -> CheckResult:  # fmt: skip
    """Boot commit (in the repository at repo_path) and judge it."""
    start = time.monotonic()
    reason = skip_reason()
    if reason is not None:
        return CheckResult(NAME, "skipped", 0.0, reason + "\n", reason)
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="boot-", dir=workdir))
    try:
        sysroot = scratch / "sysroot"
        try:
            install(sysroot, ot.open_repo(repo_path), commit, ref)
        except DeployError as e:
            return failed(start, f"libostree cannot deploy the tree: {e}", "")
        booted = boot_sysroot(sysroot, scratch / "disk.img", scratch / "serial.log",
                              options.timeout)  # fmt: skip
        return judge(booted, commit, options.timeout, start)
    finally:
        remove_sysroot(scratch / "sysroot")
        shutil.rmtree(scratch, ignore_errors=True)


def boot_sysroot(sysroot: Path, disk: Path, serial_log: Path, timeout: float) -> Booted:
    """Boot the sysroot directory's default entry once (the image made afresh)."""
    entry = bls.default_entry(sysroot)
    image.make_image(sysroot, disk)
    initrd = bls.boot_file(sysroot, entry.initrd) if entry.initrd else None
    run = qemu.run_qemu(bls.boot_file(sysroot, entry.linux), initrd, entry.options, disk,
                        serial_log, timeout)  # fmt: skip
    return Booted(entry, run, parse_serial(run.serial))


def problem(booted: Booted, commit: str, timeout: float) -> str | None:
    """What is wrong with the boot, or None when it booted commit and passed."""
    report, run = booted.report, booted.run
    if report.initramfs_error:
        return f"the initramfs failed: {report.initramfs_error}"
    if booted.entry.initrd is None and report.marker is None:
        return "the boot entry has no initramfs, and the kernel did not reach the tree's init"
    if report.marker is None:
        if run.timed_out:
            return f"no boot marker within {timeout:.0f} s: killed at the time limit"
        return "the machine stopped before the tree's init printed its boot marker"
    if report.marker.commit != commit:
        return f"booted commit {report.marker.commit[:12]}, not {commit[:12]}"
    if report.failed_checks:
        return f"boot-time checks failed: {'; '.join(report.failed_checks)}"
    if not report.done:
        if run.timed_out:
            return (f"the tree's init did not finish and power off within {timeout:.0f} s: "
                    "killed at the time limit")  # fmt: skip
        return "the machine stopped before the tree's init finished its boot-time checks"
    if run.timed_out:
        return f"the machine did not power off within {timeout:.0f} s: killed at the time limit"
    return None


def judge(booted: Booted, commit: str, timeout: float, start: float) -> CheckResult:
    trouble = problem(booted, commit, timeout)
    if trouble is not None:
        return failed(start, trouble, booted.run.serial, booted)
    summary = f"booted in {booted.run.seconds:.1f} s: {booted.marker}"
    return CheckResult(NAME, "passed", time.monotonic() - start,
                       describe(booted) + "\n" + booted.run.serial, summary)  # fmt: skip


def failed(start: float, trouble: str, serial: str, booted: Booted | None = None) -> CheckResult:
    tail = last_lines(serial)
    text = [trouble, "", "last lines of the serial console:", *(f"  {t}" for t in tail)]
    if booted is not None:
        text += ["", describe(booted)]
    panic = kernel_panic(serial)
    if panic is not None and panic not in tail[-3:]:
        trouble += f" ({panic})"
    summary = trouble + (f"; serial console: {' | '.join(tail[-3:])}" if tail else "")
    return CheckResult(NAME, "failed", time.monotonic() - start,
                       "\n".join(text) + "\n\n" + serial, summary)  # fmt: skip


def describe(booted: Booted) -> str:
    e, run = booted.entry, booted.run
    how = "killed at the time limit" if run.timed_out else f"QEMU exited with {run.exit_status}"
    lines = [f"boot entry: {e.path.name} (version {e.version})", f"linux: {e.linux}",
             f"initrd: {e.initrd or '(none)'}", f"options: {e.options}",
             f"wall time: {run.seconds:.1f} s ({how})", f"marker: {booted.marker or '(none)'}",
             "--- serial console ---"]  # fmt: skip
    return "\n".join(lines)
