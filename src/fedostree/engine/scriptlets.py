"""Running packages' scriptlets (%pre, %post, %posttrans) in a bubblewrap sandbox, in
rpm-ostree's order. Shared by the compose server and client-side layering."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from fedostree.engine.checkout import apply_ownership
from fedostree.engine.pkgcache import CachedPackage
from fedostree.engine.rpmfile import Scriptlet, header_from_blob, scriptlets_of
from fedostree.engine.sandbox import SCRIPT_PATH, Job, JobFailure, Sandbox
from fedostree.errors import ConfigError, FedostreeError

log = logging.getLogger(__name__)
LUA = "<lua>"


class ScriptletError(FedostreeError):
    pass


def collect_scriptlets(packages: Sequence[CachedPackage], ignore: Iterable[str]) -> list[Scriptlet]:
    """Every scriptlet to run, refusing Lua ones that the treefile does not ignore."""
    ignored = set(ignore)
    out = []
    for pkg in packages:
        for s in scriptlets_of(header_from_blob(pkg.header_blob)):
            if {f"{s.package}.{s.name}", f"{s.package}.*"} & ignored:
                continue
            if s.program[0] == LUA:
                raise ConfigError(
                    f"{pkg.nevra}: %{s.name} is a Lua scriptlet, which fedostree cannot run; "
                    f"add '{s.package}.{s.name}' to the treefile's ignore-scripts to skip it"
                )
            out.append(s)
    return out


def run_scriptlets(rootfs: Path, packages: Sequence[CachedPackage], ignore: Iterable[str]) -> None:
    """rpm-ostree's order: every %pre, then file ownership, every %post, every %posttrans."""
    scriptlets = collect_scriptlets(packages, ignore)
    by_phase = {
        phase: [s for s in scriptlets if s.name == phase] for phase in ("pre", "post", "posttrans")
    }
    with Sandbox(rootfs) as sandbox:
        _run_phase(sandbox, by_phase["pre"])
        apply_ownership(rootfs, packages)
        _run_phase(sandbox, by_phase["post"])
        _run_phase(sandbox, by_phase["posttrans"])


def coalesce(scriptlets: Sequence[Scriptlet]) -> list[Scriptlet]:
    """A program run with no script (`%post -p /sbin/ldconfig`) rescans the whole system,
    so within a phase only its last run matters: that is the one kept."""
    last = {s.program: i for i, s in enumerate(scriptlets) if not s.body}
    return [s for i, s in enumerate(scriptlets) if s.body or last[s.program] == i]


def _run_phase(sandbox: Sandbox, scriptlets: Sequence[Scriptlet]) -> None:
    scriptlets = coalesce(scriptlets)
    jobs = [_job(s) for s in scriptlets]
    if not jobs:
        return
    if sandbox.has_shell():
        failure = sandbox.run_many(jobs)
    else:  # no /bin/sh to drive them: one sandbox each
        failure = next(
            filter(None, (_run_one(sandbox, i, job) for i, job in enumerate(jobs))), None
        )
    if failure is not None:
        s = scriptlets[failure.index]
        output = " | ".join(failure.output.strip().splitlines()[-5:])
        raise ScriptletError(
            f"{s.package}: %{s.name} scriptlet failed with exit status {failure.returncode}"
            + (f": {output}" if output else "")
        )


def _job(s: Scriptlet) -> Job:
    """rpm runs a scriptlet as `PROGRAM [ARGS] SCRIPTFILE N`, N the count after the step."""
    if not s.body:
        return Job(list(s.program))
    return Job([*s.program, SCRIPT_PATH, "0" if s.name == "posttrans" else "1"], s.body)


def _run_one(sandbox: Sandbox, index: int, job: Job) -> JobFailure | None:
    result = sandbox.run(job.argv, script=job.script)
    if result.returncode == 0:
        return None
    return JobFailure(index, result.returncode, result.stdout + result.stderr)
