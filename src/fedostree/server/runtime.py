"""The runtime checks: commands run in bubblewrap with the composed tree as `/`.

The tree is shown read-only, never written: each top-level entry of the tree is bound
read-only (its symlinks recreated), /usr/etc is bound at /etc, and /tmp, /var and /run
are fresh tmpfs mounts. No network (every namespace unshared), a cleared environment,
and the sandbox dies with us. A command that outlives its time limit is killed with its
whole sandbox: its PID namespace ends with the sandbox's init."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fedostree.engine.sandbox import ENV, STATE_DIRS, isolation_args, system_mounts
from fedostree.model.treefile import TreeTest
from fedostree.server.results import CheckResult, Outcome
from fedostree.server.treeview import TreeView

SH_TIMEOUT = 60.0
SPECIAL_DIRS = ("proc", "dev", "etc")
HEAD, TAIL = 16 * 1024, 48 * 1024  # bytes of a command's output kept in its log
NO_SHELL = "no /bin/sh in the tree"


@dataclass(frozen=True)
class Run:
    returncode: int | None  # None: killed at its time limit
    output: str  # stdout and stderr, interleaved, head and tail kept


def run_runtime_checks(view: TreeView, tests: Sequence[TreeTest]) -> list[CheckResult]:
    """`sh`, then one `test:NAME` per declared test."""
    shell = view.lookup("/bin/sh")
    if shell is None or not shell.is_file():
        missing = [CheckResult("sh", "failed", 0.0, NO_SHELL + "\n")]
        return missing + [
            CheckResult(f"test:{t.name}", "failed", 0.0, NO_SHELL + "\n") for t in tests
        ]
    args = sandbox_args(view.rootfs)
    results = [check_shell(args)]
    results += [run_test(view, args, test) for test in tests]
    return results


def check_shell(args: Sequence[str]) -> CheckResult:
    argv = ["/bin/sh", "-c", "echo ok"]
    start = time.monotonic()
    run = run_sandboxed(args, argv, SH_TIMEOUT)
    passed = run.returncode == 0 and "ok" in run.output.splitlines()
    log = describe(argv, run, SH_TIMEOUT)
    if run.returncode == 0 and not passed:
        log += "expected the output 'ok'\n"
    return CheckResult("sh", "passed" if passed else "failed", time.monotonic() - start, log)


def run_test(view: TreeView, args: Sequence[str], test: TreeTest) -> CheckResult:
    name = f"test:{test.name}"
    start = time.monotonic()
    if not find_program(view, test.command[0]):
        log = f"$ {shlex.join(test.command)}\n{test.command[0]}: command not found in the tree"
        log += "" if "/" in test.command[0] else f" (PATH={ENV['PATH']})"
        return CheckResult(name, "failed", time.monotonic() - start, log + "\n")
    run = run_sandboxed(args, test.command, test.timeout)
    outcome: Outcome = "passed" if run.returncode == 0 else "failed"
    log = describe(test.command, run, test.timeout)
    return CheckResult(name, outcome, time.monotonic() - start, log)


def find_program(view: TreeView, program: str) -> bool:
    """Whether argv[0] names a file in the tree, directly or through the sandbox's PATH."""
    if "/" in program:
        candidates = [program if program.startswith("/") else f"/{program}"]
    else:
        candidates = [f"{d}/{program}" for d in ENV["PATH"].split(":")]
    return any((host := view.lookup(c)) is not None and host.is_file() for c in candidates)


def describe(argv: Sequence[str], run: Run, timeout: float) -> str:
    """The log: the command, its output, and how it ended."""
    lines = [f"$ {shlex.join(argv)}\n", run.output]
    if run.output and not run.output.endswith("\n"):
        lines.append("\n")
    if run.returncode is None:
        lines.append(f"timed out after {timeout:g} s: the sandbox was killed\n")
    elif run.returncode == 127:
        lines.append("exit status 127: command not found\n")
    elif run.returncode < 0:
        lines.append(f"killed by signal {-run.returncode}\n")
    else:
        lines.append(f"exit status {run.returncode}\n")
    return "".join(lines)


# --- bubblewrap -------------------------------------------------------------------------


def sandbox_args(rootfs: Path) -> list[str]:
    """bwrap's arguments for a read-only view of rootfs as `/`."""
    args = ["bwrap"]
    with os.scandir(rootfs) as it:
        children = sorted(it, key=lambda e: e.name)
    for child in children:
        if child.name in STATE_DIRS + SPECIAL_DIRS:
            continue
        if child.is_symlink():
            args += ["--symlink", os.readlink(child.path), f"/{child.name}"]
        else:
            args += ["--ro-bind", child.path, f"/{child.name}"]
    etc = rootfs / "etc"
    if not etc.is_dir() or etc.is_symlink():
        etc = rootfs / "usr/etc"
    if etc.is_dir():
        args += ["--ro-bind", str(etc), "/etc"]
    return [*args, *system_mounts(), "--remount-ro", "/", *isolation_args()]


def run_sandboxed(args: Sequence[str], argv: Sequence[str], timeout: float) -> Run:
    try:
        proc = subprocess.Popen(
            [*args, "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=ENV,
            start_new_session=True,
        )
    except OSError as e:
        return Run(1, f"cannot start bubblewrap: {e}\n")
    assert proc.stdout is not None
    capture = Capture(proc.stdout)
    try:
        returncode: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_sandbox(proc)
        returncode = None
    capture.join()
    return Run(returncode, capture.text())


def kill_sandbox(proc: subprocess.Popen[bytes]) -> None:
    """Kill bwrap; --die-with-parent takes its init, and with it the PID namespace."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Capture:
    """Reads a pipe to its end in a thread, keeping its first HEAD and last TAIL bytes."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with self.pipe:
            while chunk := os.read(self.pipe.fileno(), 65536):
                take = chunk[: max(0, HEAD - len(self.head))]
                self.head += take
                self.tail += chunk[len(take) :]
                if len(self.tail) > TAIL:
                    self.dropped += len(self.tail) - TAIL
                    del self.tail[: len(self.tail) - TAIL]

    def join(self) -> None:
        self.thread.join(timeout=30)

    def text(self) -> str:
        cut = f"\n[... {self.dropped} bytes of output left out ...]\n" if self.dropped else ""
        return _decode(self.head) + cut + _decode(self.tail)


def _decode(data: bytearray) -> str:
    return bytes(data).decode(errors="replace")
