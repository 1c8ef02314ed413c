"""Running a transaction's scriptlets and file triggers in a bubblewrap sandbox, with the
arguments and standard input rpm gives them, in the order engine/transaction.py plans.

A plan is a list of steps: scriptlet runs, and actions fedostree does itself between
them (giving a package's files their owners, erasing a package's files). Consecutive
runs share one sandbox; an action runs with no sandbox mounted on the tree. Every
failure is fatal: a transaction that ran half its scriptlets must not be committed."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine.sandbox import SCRIPT_PATH, Job, JobFailure, Sandbox
from fedostree.errors import ConfigError, FedostreeError

log = logging.getLogger(__name__)
LUA = "<lua>"


class ScriptletError(FedostreeError):
    pass


@dataclass(frozen=True)
class ScriptRun:
    """One run of a scriptlet or file trigger. body None: a `-p PROGRAM` scriptlet with
    no script, which rpm runs bare (no script file, no arguments); otherwise rpm runs
    `PROGRAM SCRIPTFILE ARGS...` (a file trigger always, its script file maybe empty)."""

    package: str  # the name of the package whose scriptlet it is
    nevra: str
    kind: str  # pre, post, ..., filetriggerin, ..., transfiletriggerpostun
    program: tuple[str, ...]
    body: str | None
    args: tuple[str, ...] = ()
    stdin: str = ""
    prefixes: tuple[str, ...] = ()  # a trigger's

    def describe(self) -> str:
        if self.prefixes:
            return f"%{self.kind} scriptlet (-- {' '.join(self.prefixes)})"
        return f"%{self.kind} scriptlet"

    def job(self) -> Job:
        if self.body is None:
            return Job(list(self.program), stdin=self.stdin)
        return Job([*self.program, SCRIPT_PATH, *self.args], self.body, self.stdin)

    @property
    def bare(self) -> bool:
        """A program run with no script, argument or input: each such run of a program
        rescans the whole system (`-p /sbin/ldconfig`)."""
        return self.body is None and not self.stdin


Action = Callable[[], None]
Step = ScriptRun | Action


def wanted(run: ScriptRun, ignore: Iterable[str]) -> bool:
    """False for a run the treefile's ignore-scripts skips (PACKAGE.KIND or PACKAGE.*);
    a Lua one it does not skip is refused, before anything ran."""
    if {f"{run.package}.{run.kind}", f"{run.package}.*"} & set(ignore):
        return False
    if run.program[0] == LUA:
        raise ConfigError(
            f"{run.nevra}: %{run.kind} is a Lua scriptlet, which fedostree cannot run; "
            f"a treefile skips it with ignore-scripts: ['{run.package}.{run.kind}']"
        )
    return True


def coalesce(steps: Sequence[Step]) -> list[Step]:
    """Of bare runs of one program that follow each other with no other run between them
    (fedostree's own actions may be), only the last is kept: nothing could see the
    effect of the earlier ones. A run in between keeps them all, as it may depend on
    the earlier run (a %pre calling a library that a %post's ldconfig made findable)."""
    runs = [i for i, s in enumerate(steps) if isinstance(s, ScriptRun)]
    dropped = set()
    for i, j in itertools.pairwise(runs):
        a, b = steps[i], steps[j]
        assert isinstance(a, ScriptRun) and isinstance(b, ScriptRun)
        if a.bare and b.bare and a.program == b.program:
            dropped.add(i)
    return [s for i, s in enumerate(steps) if i not in dropped]


def run_steps(rootfs: Path, steps: Sequence[Step], *, etc_in_usr: bool = False) -> None:
    """Run the plan in order: consecutive runs in one sandbox, actions between them."""
    batch: list[ScriptRun] = []
    for step in [*coalesce(steps), None]:
        if isinstance(step, ScriptRun):
            batch.append(step)
            continue
        if batch:
            _run_batch(rootfs, batch, etc_in_usr)
            batch = []
        if step is not None:
            step()


def _run_batch(rootfs: Path, runs: Sequence[ScriptRun], etc_in_usr: bool) -> None:
    jobs = [r.job() for r in runs]
    with Sandbox(rootfs, etc_in_usr=etc_in_usr) as sandbox:
        if sandbox.has_shell():
            failure = sandbox.run_many(jobs)
        else:  # no /bin/sh to drive them: one sandbox each
            failure = next(
                filter(None, (_run_one(sandbox, i, job) for i, job in enumerate(jobs))), None
            )
    if failure is not None:
        run = runs[failure.index]
        output = " | ".join(failure.output.strip().splitlines()[-5:])
        raise ScriptletError(
            f"{run.package}: {run.describe()} failed with exit status {failure.returncode}"
            + (f": {output}" if output else "")
        )


def _run_one(sandbox: Sandbox, index: int, job: Job) -> JobFailure | None:
    result = sandbox.run(job.argv, script=job.script, stdin=job.stdin)
    if result.returncode == 0:
        return None
    return JobFailure(index, result.returncode, result.stdout + result.stderr)
