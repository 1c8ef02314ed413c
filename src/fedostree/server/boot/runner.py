"""Boots in the background, for a compose: each `boot` check and each upgrade/rollback
proof runs in a worker process of its own (several at once, up to the number of cores),
while the compose goes on with the next tree.

Processes, not threads: a boot check deploys with libostree, and libostree in several
threads of one process once lost a file descriptor under a concurrent deployment (an
object "not found" halfway through a checkout). A worker process also has its own
file descriptors, its own libostree state and its own interpreter lock. What the parent
must say (a skipped check, a failed boot) is said by the parent, from the result."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from fedostree.errors import FedostreeError
from fedostree.server.boot.check import NAME, BootOptions, boot_check, skip_reason
from fedostree.server.boot.proof import boot_test
from fedostree.server.results import CheckResult

log = logging.getLogger(__name__)
BOOT_TEST = "boot-test"


class BootRunner:
    def __init__(self, options: BootOptions, cachedir: Path) -> None:
        self.options = options
        self.cachedir = cachedir
        self._pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def check(self, repo_path: Path, commit: str, ref: str) -> Future[CheckResult]:
        """Start the commit's `boot` check (a skipped one is done at once, and said)."""
        reason = skip_reason()
        if reason is not None:
            log.warning("check boot of %s: %s", ref, reason)
            done: Future[CheckResult] = Future()
            done.set_result(CheckResult(NAME, "skipped", 0.0, reason + "\n", reason))
            return done
        workdir = self.cachedir / "boot"
        return self.pool().submit(boot_check, repo_path, commit, ref, workdir, self.options)

    def prove(self, repo_path: Path, ref: str) -> Future[CheckResult]:
        """Start `compose boot-test REF` on ref's newest published commit."""
        return self.pool().submit(prove_upgrade, repo_path, ref, self.cachedir, self.options)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def boot_verdict(boot: Future[CheckResult], ref: str) -> CheckResult:
    """The check's result once it is in; a failure is told with its verdict."""
    result = boot.result()
    log.info("check boot of %s: %s (%.1f s)", ref, result.outcome, result.duration)
    if result.outcome == "failed":
        log.warning("%s: boot failed: %s", ref, result.summary)
    return result


def proof_verdict(proof: Future[CheckResult], ref: str) -> CheckResult:
    result = proof.result()
    if result.outcome == "failed":
        log.warning("%s: boot-test failed: %s", ref, result.summary)
    return result


def prove_upgrade(repo_path: Path, ref: str, cachedir: Path, options: BootOptions) -> CheckResult:
    """The proof as a check result (in a worker process)."""
    start = time.monotonic()
    workdir = cachedir / "boot-test" / ref.replace("/", "_")
    try:
        proof = boot_test(repo_path, ref, workdir, options)
    except FedostreeError as e:
        return CheckResult(BOOT_TEST, "failed", time.monotonic() - start, f"{e}\n", str(e))
    lines = [f"boot {n} ({b.step} {b.version or b.expected[:12]}, {b.booted.run.seconds:.1f} s): "
             f"{b.booted.marker}" for n, b in enumerate(proof.boots, 1)]  # fmt: skip
    summary = (f"upgrade {proof.previous[:12]} -> {proof.current[:12]} and rollback booted "
               "as expected; /etc and /var kept")  # fmt: skip
    return CheckResult(BOOT_TEST, "passed", time.monotonic() - start,
                       "\n".join([summary, *lines]) + "\n", summary)  # fmt: skip
