"""Resolving packages to layer on a tree: the tree's own rpmdb is the installed set
(depsolve.add_installed), so what the tree already has satisfies dependencies and is
never pulled in again, and the tree's packages are never changed: a request that would
replace or remove one is a conflict with the base, explained as libsolv explains it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import solv

from fedostree.engine.selection import select_spec
from fedostree.errors import ConfigError, ResolveError


@dataclass(frozen=True)
class LayerResolution:
    install: list[solv.XSolvable]  # new packages, in install order
    inactive: list[str]  # requests the tree already provides


class NotFound(ConfigError):
    """A requested package no repository has."""


def resolve_layer(
    pool: solv.Pool, requests: Sequence[str], local: Mapping[int, Path] = {}
) -> LayerResolution:
    """What to add to the installed set for the requests (specs) and the local RPMs (their
    solvable ids). A request an installed package satisfies is inactive, not an error."""
    pool.addfileprovides()
    pool.createwhatprovides()
    jobs: list[solv.Job] = []
    inactive = []
    for spec in requests:
        selection = select_spec(pool, spec)
        if selection.isempty():
            raise NotFound(f"{spec}: no package in the enabled repositories provides it")
        if any(s.repo == pool.installed for s in selection.solvables()):
            inactive.append(spec)
            continue
        jobs += selection.jobs(solv.Job.SOLVER_INSTALL)
    for sid in local:
        jobs.append(pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE, sid))
    if not jobs:
        return LayerResolution([], inactive)
    solver = pool.Solver()
    solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
    problems = solver.solve(jobs)
    if problems:
        raise ResolveError(_headline(problems), [str(p) for p in problems])
    transaction = solver.transaction()
    changed = [s for s in transaction.steps() if s.repo == pool.installed]
    if changed:
        raise ResolveError(
            f"the request would change the base package {changed[0]}",
            [f"{s}: {_step(transaction, s)}" for s in changed],
        )
    transaction.order()
    return LayerResolution(list(transaction.newsolvables()), inactive)


def _headline(problems: Sequence[solv.Problem]) -> str:
    first = str(problems[0])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"cannot layer the packages: {first}{more}"


def _step(transaction: solv.Transaction, s: solv.XSolvable) -> str:
    kind = transaction.steptype(s, solv.Transaction.SOLVER_TRANSACTION_SHOW_ALL)
    names = {
        solv.Transaction.SOLVER_TRANSACTION_ERASE: "would be removed",
        solv.Transaction.SOLVER_TRANSACTION_UPGRADED: "would be upgraded",
        solv.Transaction.SOLVER_TRANSACTION_DOWNGRADED: "would be downgraded",
        solv.Transaction.SOLVER_TRANSACTION_OBSOLETED: "would be obsoleted",
    }
    return names.get(kind, "would be replaced")
