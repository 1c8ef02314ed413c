"""Resolving what a treefile asks for into a complete package set, with libsolv, as
rpm-ostree's `rpmostree_context_prepare` does with libdnf:

- `packages`: each spec in dnf's forms (engine/selection.py); `@group` ids from comps (a
  fedostree extension) add their mandatory and default members, skipping, as dnf does,
  members no repository has (with a warning) or that exclude-packages names;
- `repo-packages`: each spec must come from the named repository;
- `exclude-packages`, a lockfile and `lockfile-repos` hide packages (engine/pinning.py);
- `recommends: false` installs no weak dependencies (libdnf's DNF_IGNORE_WEAK_DEPS).

A spec nothing matches is "not found" (exit 1, as rpm-ostree's "Packages not found"); a
treefile that contradicts itself or its lockfile is a ConfigError (exit 2)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcomps
import solv

from fedostree.engine import depsolve
from fedostree.engine.depsolve import Package
from fedostree.engine.pinning import Hidden, hide_excluded, hide_for_lock
from fedostree.engine.selection import in_repo, select_spec
from fedostree.errors import ConfigError, ResolveError
from fedostree.model.lockfile import Lockfile
from fedostree.model.package_spec import check_package_names, check_package_specs, is_group
from fedostree.model.treefile import RepoPackages, Treefile

log = logging.getLogger(__name__)
Jobs = list[solv.Job]


@dataclass(frozen=True)
class Request:
    """What to install, and what may not be picked."""

    packages: tuple[str, ...] = ()  # specs (no @groups)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # id -> members
    repo_packages: tuple[RepoPackages, ...] = ()
    exclude: tuple[str, ...] = ()
    recommends: bool = True
    lock: Lockfile | None = None
    strict: bool = False  # --lockfile-strict: only locked packages
    where: str = "treefile"  # the treefile, for messages


def check_treefile_request(
    tf: Treefile, lock: Lockfile | None, repos: Sequence[str] | None = None
) -> None:
    """What can be refused before any metadata is fetched: malformed specs, a
    `repo-packages` repository the treefile does not use (repos: the repositories it
    composes from, by default its `repos`), a package both asked for and excluded
    (rpm-ostree: "a fatal error")."""
    check_package_specs(tf.packages, f"{tf.path}: packages")
    check_package_names(tf.exclude_packages, f"{tf.path}: exclude-packages")
    repos = (*(tf.repos if repos is None else repos), *(tf.lockfile_repos if lock else ()))
    for i, rp in enumerate(tf.repo_packages):
        if rp.repo not in repos:
            raise ConfigError(
                f"{tf.path}: repo-packages[{i}].repo: '{rp.repo}' is not one of the "
                f"treefile's repos ({', '.join(repos)})"
            )
        check_package_specs(rp.packages, f"{tf.path}: repo-packages[{i}].packages")
    wanted = [("packages", tf.packages)] + [
        (f"repo-packages[{i}].packages", rp.packages) for i, rp in enumerate(tf.repo_packages)
    ]
    for key, specs in wanted:
        for spec in set(specs) & set(tf.exclude_packages):
            raise ConfigError(f"{tf.path}: {key}: '{spec}' is also in exclude-packages")


def request_for(
    tf: Treefile, comps: libcomps.Comps, lock: Lockfile | None = None, strict: bool = False
) -> Request:
    groups = {
        spec[1:]: tuple(depsolve.group_members(comps, spec[1:]))
        for spec in tf.packages
        if is_group(spec)
    }
    return Request(
        packages=tuple(spec for spec in tf.packages if not is_group(spec)),
        groups=groups,
        repo_packages=tf.repo_packages,
        exclude=tf.exclude_packages,
        recommends=tf.effective_recommends,
        lock=lock,
        strict=strict,
        where=str(tf.path),
    )


def resolve(pool: solv.Pool, request: Request) -> list[Package]:
    """The complete set, in install order (prerequisites first)."""
    hidden = hide_for_lock(pool, request.lock or Lockfile({}), strict=request.strict)
    hidden.update(hide_excluded(pool, request.exclude))
    with hiding(pool, hidden):
        jobs = install_jobs(pool, request, hidden)
        return solve(pool, jobs, request, hidden)


@contextmanager
def hiding(pool: solv.Pool, hidden: Mapping[int, Hidden]) -> Iterator[None]:
    """The pool outlives one resolution (a session composes several trees): unhide after."""
    if not hidden:
        yield
        return
    pool.set_disabled_list(sorted(hidden))
    pool.createwhatprovides()
    try:
        yield
    finally:
        pool.set_disabled_list([])
        pool.createwhatprovides()


# --- jobs ----------------------------------------------------------------------------------


def install_jobs(pool: solv.Pool, request: Request, hidden: Mapping[int, Hidden]) -> Jobs:
    jobs: Jobs = []
    missing = Missing(pool, request, hidden)
    for spec in request.packages:
        jobs += missing.check(spec, select_spec(pool, spec), "packages")
    for group, members in request.groups.items():
        for name in members:
            jobs += missing.check_member(group, name)
    for i, rp in enumerate(request.repo_packages):
        repo = _repo_named(pool, rp.repo, request.where, i)
        for spec in rp.packages:
            selection = in_repo(select_spec(pool, spec), repo)
            jobs += missing.check(spec, selection, f"repo-packages[{i}].packages", rp.repo)
    missing.report()
    return jobs


def _repo_named(pool: solv.Pool, repo_id: str, where: str, index: int) -> solv.Repo:
    for repo in pool.repos_iter():
        if repo.name == repo_id:
            return repo
    raise ConfigError(f"{where}: repo-packages[{index}].repo: '{repo_id}' is not configured")


class Missing:
    """Specs nothing (visible) matches: each one explained, all reported at once."""

    def __init__(self, pool: solv.Pool, request: Request, hidden: Mapping[int, Hidden]):
        self.pool, self.request, self.hidden = pool, request, hidden
        self.not_found: dict[str, list[str]] = {}  # key -> specs
        self.explained: list[str] = []

    def check(self, spec: str, selection: solv.Selection, key: str, repo: str = "") -> Jobs:
        if not selection.isempty():
            return list(selection.jobs(solv.Job.SOLVER_INSTALL))
        hidden = self._hidden_matches(spec)
        if hidden:
            self._explain(spec, key, hidden)
        elif repo:
            elsewhere = self._elsewhere(spec)
            self.explained.append(f"{key}: '{spec}' not found in repository '{repo}'{elsewhere}")
        else:
            self.not_found.setdefault(key, []).append(spec)
        return []

    def check_member(self, group: str, name: str) -> Jobs:
        """A group member: skipped when excluded or missing (dnf warns of the latter)."""
        selection = select_spec(self.pool, name)
        if not selection.isempty():
            return list(selection.jobs(solv.Job.SOLVER_INSTALL))
        reasons = {h.kind: h.why for _, h in self._hidden_matches(name)}
        if "exclude" not in reasons:
            why = next(iter(reasons.values()), "no package matches it")
            log.warning("@%s: %s skipped: %s", group, name, why)
        return []

    def report(self) -> None:
        parts = [
            f"{key}: {', '.join(repr(s) for s in specs)} not found in any repository"
            for key, specs in self.not_found.items()
        ]
        if parts or self.explained:
            raise ResolveError("; ".join([*parts, *self.explained]), [])

    def _hidden_matches(self, spec: str) -> list[tuple[solv.XSolvable, Hidden]]:
        matches = select_spec(self.pool, spec, with_disabled=True).solvables()
        return [(s, self.hidden[s.id]) for s in matches if s.id in self.hidden]

    def _explain(
        self, spec: str, key: str, hidden: Sequence[tuple[solv.XSolvable, Hidden]]
    ) -> None:
        """A contradiction in the inputs is exit 2; packages the lockfile leaves out are
        not found (exit 1), as they would be without it."""
        where = f"{self.request.where}: {key}: '{spec}'"
        by_kind = {h.kind: (s, h) for s, h in reversed(hidden)}
        if "exclude" in by_kind:
            names = sorted({s.name for s, h in hidden if h.kind == "exclude"} - {spec})
            also = f" ({', '.join(names)})" if names else ""
            raise ConfigError(f"{where} is excluded by exclude-packages{also}")
        if "lock" in by_kind:
            raise ConfigError(f"{where}: {by_kind['lock'][1].why}")
        _, reason = by_kind.get("strict") or hidden[0]
        self.explained.append(f"{key}: '{spec}' not found: {reason.why}")

    def _elsewhere(self, spec: str) -> str:
        repos = sorted({s.repo.name for s in select_spec(self.pool, spec).solvables()})
        return f" (it is in {', '.join(repos)})" if repos else ""


# --- solving -------------------------------------------------------------------------------


def solve(
    pool: solv.Pool, jobs: Jobs, request: Request, hidden: Mapping[int, Hidden]
) -> list[Package]:
    solver = pool.Solver()
    if not request.recommends:
        solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
    problems = solver.solve(jobs)
    if problems:
        raise ResolveError(_headline(pool, problems, hidden), [str(p) for p in problems])
    transaction = solver.transaction()
    transaction.order()
    return [depsolve.package_of(s) for s in transaction.newsolvables()]


def _headline(
    pool: solv.Pool, problems: Sequence[solv.Problem], hidden: Mapping[int, Hidden]
) -> str:
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    causes = [c for p in problems for c in _hidden_causes(pool, p, hidden)]
    return f"cannot resolve the package set ({count})" + (f": {causes[0]}" if causes else "")


_NEEDS = (
    solv.Solver.SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP,
    solv.Solver.SOLVER_RULE_PKG_REQUIRES,
    solv.Solver.SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP,
)


def _hidden_causes(
    pool: solv.Pool, problem: solv.Problem, hidden: Mapping[int, Hidden]
) -> list[str]:
    """'bash-5.1-1.x86_64 requires libc.so.6()(64bit), provided only by glibc-2.34-1.x86_64
    (exclude-packages)': a dependency that only hidden packages satisfy."""
    causes = []
    for rule in problem.findallproblemrules():
        info = rule.info()
        if info.type not in _NEEDS or info.dep is None:
            continue
        candidates = (pool.id2solvable(i) for i in hidden)
        providers = [s for s in candidates if s.matchesdep(solv.SOLVABLE_PROVIDES, info.dep.id)]
        if info.solvable:  # the dependent's own architecture first: glibc.x86_64, not .i686
            providers.sort(key=lambda s: s.arch != info.solvable.arch)
        if providers:
            who = f"{info.solvable} requires" if info.solvable else "the request needs"
            first = providers[0]
            causes.append(f"{who} {info.dep}, provided only by {first} ({hidden[first.id].why})")
    return causes
