"""What the solver may not pick, and why: `exclude-packages` and a lockfile hide packages
from the pool, as rpm-ostree hides them from libdnf's sack (rpmostree-core.cxx,
find_locked_packages and rpmostree_context_prepare):

- every package of a name in exclude-packages;
- a locked name: every package of that name but the locked EVR(A) (and digest);
- `lockfile-repos`: every package of theirs that the lockfile does not lock;
- with --lockfile-strict: every package the lockfile does not lock.

Each hidden package keeps its reason, so a spec that matches only hidden packages, or a
dependency only hidden packages provide, is explained by name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import solv

from fedostree.engine.depsolve import Package, solvable_digest
from fedostree.engine.repomd import RepoMetadata
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.lockfile import LockedPackage, Lockfile, rfc3339, today

HiddenKind = Literal["exclude", "lock", "strict", "lockfile-repo"]
SHOWN_CANDIDATES = 5  # versions a stale lock entry's message lists


@dataclass(frozen=True)
class Hidden:
    kind: HiddenKind
    why: str  # for messages: "exclude-packages", "LOCK locks foo to 1-1.x86_64", ...


def hide_excluded(pool: solv.Pool, names: Iterable[str]) -> dict[int, Hidden]:
    excluded = set(names)
    return {
        s.id: Hidden("exclude", "exclude-packages")
        for s in pool.solvables_iter()
        if s.name in excluded
    }


def hide_for_lock(pool: solv.Pool, lock: Lockfile, *, strict: bool) -> dict[int, Hidden]:
    """Everything the lockfile rules out, after checking that every entry matches a
    package some repository has."""
    lockfile_repos = any(r.appdata.lockfile_only for r in pool.repos_iter())
    if not (lock.packages or strict or lockfile_repos):
        return {}
    locked = locked_solvables(pool, lock)
    hidden: dict[int, Hidden] = {}
    for s in pool.solvables_iter():
        if s.id in locked:
            continue
        if strict:
            hidden[s.id] = Hidden("strict", f"not in {lock.describe()} (--lockfile-strict)")
        elif s.name in lock.packages:
            entry = lock.packages[s.name]
            hidden[s.id] = Hidden("lock", f"{_origin(entry)} locks {s.name} to {entry.evra}")
        elif _repo_of(s).lockfile_only:
            hidden[s.id] = Hidden(
                "lockfile-repo", f"not locked, and {s.repo.name} is in lockfile-repos"
            )
    return hidden


def locked_solvables(pool: solv.Pool, lock: Lockfile) -> set[int]:
    """The packages the entries pin: same name, EVR, arch (for an `evra` entry) and digest
    (when given). Several when repositories share a NEVRA. An entry nothing matches is an
    error naming its lockfile: exit 2 for a package or version no repository has, 1 for a
    digest that differs from the repository's."""
    by_name: dict[str, list[solv.XSolvable]] = defaultdict(list)
    for s in pool.solvables_iter():
        by_name[s.name].append(s)
    locked: set[int] = set()
    stale, tampered = [], []
    for entry in lock.packages.values():
        same = [s for s in by_name[entry.name] if _same_evra(entry, s)]
        good = [s for s in same if entry.digest is None or solvable_digest(s) == entry.digest]
        locked.update(s.id for s in good)
        if not same:
            stale.append(_stale_message(entry, by_name[entry.name]))
        elif not good:
            tampered.append(_digest_message(entry, same[0]))
    if stale:
        raise ConfigError(_first_of(stale))
    if tampered:
        raise FedostreeError(_first_of(tampered))
    return locked


def lockfile_for(packages: Sequence[Package], repos: Sequence[RepoMetadata]) -> Lockfile:
    """The resolved set as rpm-ostree writes it (`--write-lockfile-to`): each package's EVRA,
    digest and source package name; when it and each repository's metadata were generated."""
    entries = {
        p.name: LockedPackage(
            p.name,
            p.evr,
            p.arch,
            f"sha256:{p.sha256}",
            {"sourcerpm": p.source_name} if p.source_name else {},
        )
        for p in packages
    }
    generated = {meta.config.id: rfc3339(meta.generated()) for meta in repos}
    return Lockfile(entries, today(), generated)


def _same_evra(entry: LockedPackage, s: solv.XSolvable) -> bool:
    return _evr_key(s.evr) == _evr_key(entry.evr) and entry.arch in (None, s.arch)


def _evr_key(evr: str) -> str:
    """An EVR with a zero epoch spelled or not compares the same."""
    epoch, sep, rest = evr.partition(":")
    return rest if sep and int(epoch or 0) == 0 else evr


def _stale_message(entry: LockedPackage, candidates: Sequence[solv.XSolvable]) -> str:
    where = f"{_origin(entry)}: packages.{entry.name}"
    if not candidates:
        return f"{where}: no repository has a package named {entry.name}"
    have = [f"{s} ({s.repo.name})" for s in candidates[:SHOWN_CANDIDATES]]
    more = f", and {len(candidates) - SHOWN_CANDIDATES} more" if len(have) < len(candidates) else ""
    return f"{where}: {entry.evra} is in no repository; they have {', '.join(have)}{more}"


def _digest_message(entry: LockedPackage, s: solv.XSolvable) -> str:
    return (
        f"{_origin(entry)}: packages.{entry.name}: {s} in repository '{s.repo.name}' has digest "
        f"{solvable_digest(s)}, the lockfile says {entry.digest}"
    )


def _first_of(messages: Sequence[str]) -> str:
    more = len(messages) - 1
    return messages[0] + (
        f" (and {more} more lockfile entr{'ies' if more > 1 else 'y'})" if more else ""
    )


def _origin(entry: LockedPackage) -> str:
    return str(entry.source) if entry.source else "the lockfile"


def _repo_of(s: solv.XSolvable) -> RepoMetadata:
    meta: RepoMetadata = s.repo.appdata
    return meta
