"""Which packages the layering figures layer: packages of the universe that the
benchmarked tree lacks and that need some packages the tree lacks too, chosen by name
order from what libsolv resolves for each on the tree's own rpmdb (as `fedostree
install` resolves them), so that every run of the same universe and tree picks the same.

`one` adds itself and exactly `deps` missing dependencies; `ten` are packages each adding
a few, whose dependency sets are disjoint from one another and from `one`'s, so that
layering `one` on a deployment with the ten layered adds exactly what it adds alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import solv

from fedostree.engine import depsolve
from fedostree.engine.layer_resolve import resolve_layer
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from fedostree.errors import FedostreeError

EXCLUDED_PREFIXES = ("kernel",)  # rpm-ostree treats kernels apart; dnf installs them plainly
DEPS = 2  # missing dependencies of the single package
COUNT = 10
MOST_ADDED = 4  # each of the ten adds at most this many packages (itself included)


@dataclass(frozen=True)
class LayerPick:
    one: str  # the single package's name
    one_adds: tuple[str, ...]  # the NEVRAs layering it adds, sorted
    ten: tuple[str, ...]  # the names of the ten
    ten_adds: tuple[str, ...]  # the NEVRAs layering them together adds

    def describe(self) -> str:
        return (
            f"one: {self.one} (+{len(self.one_adds) - 1} missing dependencies); "
            f"ten: {' '.join(self.ten)} ({len(self.ten_adds)} packages with their missing "
            "dependencies)"
        )


Resolver = Callable[[Sequence[str]], frozenset[str] | None]


def universe_pool(repo: Path, installed: Sequence[bytes], arch: str) -> solv.Pool:
    """The universe's rpm-md repository (read in place) with the tree's rpmdb installed."""
    config = RepoConfig("bench-universe", repo / "universe.repo", (repo.absolute().as_uri(),))
    pool = depsolve.load_pool([RepoMetadata(config, repo, "")], arch)
    depsolve.add_installed(pool, installed)
    return pool


def candidates(pool: solv.Pool) -> list[str]:
    """Names the pool's repositories have and the installed set does not, in name order."""
    installed = pool.installed
    have = {s.name for s in installed.solvables} if installed is not None else set()
    names = {s.name for r in pool.repos if r != installed for s in r.solvables}
    return sorted(n for n in names - have if not n.startswith(EXCLUDED_PREFIXES))


def pool_resolver(pool: solv.Pool) -> Resolver:
    """The NEVRAs layering names would add, or None when they cannot be layered."""

    def resolve(names: Sequence[str]) -> frozenset[str] | None:
        try:
            return frozenset(str(s) for s in resolve_layer(pool, list(names)).install)
        except FedostreeError:
            return None

    return resolve


def pick_packages(
    names: Iterable[str],
    resolve: Resolver,
    *,
    deps: int = DEPS,
    count: int = COUNT,
    most_added: int = MOST_ADDED,
) -> LayerPick:
    """The first name adding exactly deps others; then the first count names (in order)
    adding 2 to most_added each, disjoint from what the others add and resolvable together."""
    names = list(names)
    one, one_adds = _pick_one(names, resolve, deps)
    ten: list[str] = []
    taken, joint = set(one_adds), frozenset[str]()
    for name in names:
        if len(ten) == count:
            break
        adds = resolve([name]) if name != one else None
        if adds is None or not 2 <= len(adds) <= most_added or adds & taken:
            continue
        together = resolve([*ten, name])
        if together is None or together & set(one_adds):
            continue
        ten.append(name)
        taken |= adds
        joint = together
    if len(ten) < count:
        raise FedostreeError(
            f"the universe has only {len(ten)} packages to layer with missing dependencies "
            f"(wanted {count})"
        )
    return LayerPick(one, tuple(sorted(one_adds)), tuple(ten), tuple(sorted(joint)))


def _pick_one(names: Sequence[str], resolve: Resolver, deps: int) -> tuple[str, frozenset[str]]:
    for name in names:
        adds = resolve([name])
        if adds is not None and len(adds) == deps + 1:
            return name, adds
    raise FedostreeError(f"no package of the universe adds exactly {deps} missing dependencies")
