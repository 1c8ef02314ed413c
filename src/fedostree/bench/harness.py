"""The benchmark harness: every measurement as a ratio against its peer, measured in
the same run on the same machine, medians over the runs, written to results.json.

Each run builds a fresh world (`Scenario`): the measurements share its steps (the
cold compose, the traditional path's rounds, the update, the client sysroots), each
done once, in the order of GROUPS, so that a cold step is never measured warm."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from fedostree.bench import measure_client as mc
from fedostree.bench import measure_compose as mp
from fedostree.bench import measure_layering as ml
from fedostree.bench import measure_local as ms
from fedostree.bench.measure_depsolve import DATA, measure_depsolve
from fedostree.bench.results import (
    Entry,
    Sample,
    Spec,
    fmt,
    print_table,
    summarize,
    write_results,
)
from fedostree.bench.scenario import Scenario, Universe, import_universe, load_universe
from fedostree.bench.tools import read_all, remove_tree, stopwatch
from fedostree.bench.traditional import check_dnf
from fedostree.errors import ConfigError, FedostreeError

Measured = list[tuple[str, Sample]]

SPECS = {s.name: s for s in [
    Spec("cold-compose", "s", 0.5, "compose tree of every tree, empty cache and repository",
         "dnf --installroot of the same NEVRAs + ostree commit, per tree"),
    Spec("warm-recompose", "s", 0.1, "compose tree of every tree after one package update",
         "dnf --installroot into fresh roots + ostree commit into the existing repository"),
    Spec("noop-recompose", "s", 0.02, "compose tree of every tree, nothing changed",
         "our cold compose"),
    Spec("repo-size-vs-standalone", "bytes", None, "du of the archive repository's objects",
         "sum of du of the six dnf installroots"),
    Spec("repo-size-vs-unique", "bytes", 1.1, "du of the archive repository's objects",
         "unique file content of the six trees (uncompressed)"),
    Spec("upgrade-bytes-delta", "bytes", 1.5, "bytes served for fedostree upgrade",
         "new content objects' uncompressed size"),
    Spec("upgrade-bytes-no-delta", "bytes", 1.5,
         "bytes served for fedostree upgrade, no static delta on the server",
         "new content objects' uncompressed size"),
    Spec("rollback", "s", 1.5, "fedostree rollback on the largest tree's deployment",
         "fedostree rollback on a tiny tree's deployment"),
    Spec("layer-one", "s", 0.5,
         "fedostree install of one package (+2 missing dependencies), deployed tree",
         "dnf --installroot install of it into a copy of the tree"),
    Spec("layer-ten", "s", 0.5,
         "fedostree install of ten packages (+ missing dependencies), deployed tree",
         "dnf --installroot install of them into a copy of the tree"),
    Spec("layer-incremental", "s", 1.3,
         "fedostree install of the one package on a deployment with the ten layered",
         "the same on a deployment with none (layer-one)"),
    Spec("upgrade-layered", "s", 1.5,
         "fedostree upgrade to the warm commit with the ten layered",
         "the same upgrade with nothing layered"),
    Spec("local-cold", "s", 0.5,
         "fedostree rebase --local of the largest tree, empty caches",
         "dnf --installroot of the same NEVRAs, empty cache"),
    Spec("local-warm", "s", 0.1,
         "fedostree upgrade of the local build after one package update",
         "dnf --installroot of the same NEVRAs into a fresh root"),
    Spec("local-vs-pull", "s", None,
         "fedostree upgrade of the local build after one package update",
         "fedostree upgrade pulling the server's commit of the update"),
    Spec("assembly", "s", 3.0, "union hardlink checkout of the largest tree's packages",
         "cp -al of the assembled tree"),
    Spec("depsolve-load", "s", None, "libsolv load_pool + comps, BaseOS+AppStream",
         "dnf 'sack setup' timer, fresh cache"),
    Spec("depsolve-solve", "s", None, "libsolv resolve of the largest tree's names",
         "dnf 'depsolve' timer"),
    Spec("depsolve-total", "s", None, "our load + solve process, wall clock",
         "dnf --assumeno install, wall clock"),
]}  # fmt: skip


@dataclass(frozen=True)
class Options:
    scale: float
    runs: int
    out: Path
    workdir: Path
    only: tuple[str, ...] = ()
    trees: tuple[str, ...] = ()  # a subset of the universe's trees (default: all)
    universe: str = "centos"
    reps: int = 3  # repetitions per run of the quick measurements (assembly, rollback)
    data: Path = DATA
    keep: bool = False
    profile: Path | None = None  # the layering figures' commands under cProfile, .prof here


@dataclass(frozen=True)
class Group:
    """Measurements made together, by one function of the run's scenario."""

    name: str
    entries: tuple[str, ...]
    measure: Callable[[Scenario, Options], Measured]
    tools: tuple[str, ...] = ()


GROUPS = [
    Group("cold-compose", ("cold-compose",), lambda sc, o: mp.measure_cold(sc), ("dnf",)),
    Group("repo-size", ("repo-size-vs-standalone", "repo-size-vs-unique"),
          lambda sc, o: mp.measure_repo_size(sc), ("dnf",)),
    Group("noop-recompose", ("noop-recompose",), lambda sc, o: mp.measure_noop(sc)),
    Group("assembly", ("assembly",), lambda sc, o: mp.measure_assembly(sc, o.reps)),
    Group("warm-recompose", ("warm-recompose",), lambda sc, o: mp.measure_warm(sc),
          ("dnf", "rpmbuild")),
    Group("upgrade-bytes", ("upgrade-bytes-delta", "upgrade-bytes-no-delta"),
          lambda sc, o: mc.measure_upgrade_bytes(sc), ("rpmbuild",)),
    Group("rollback", ("rollback",),
          lambda sc, o: mc.measure_rollback(sc, max(o.reps, ROLLBACK_REPS)), ("rpmbuild",)),
    Group("local", ms.NAMES, lambda sc, o: ms.measure_local(sc, o.profile), ("dnf", "rpmbuild")),
    Group("layering", ml.NAMES, lambda sc, o: ml.measure_layering(sc, o.profile),
          ("rpmbuild", "dnf", "rpm")),
]  # fmt: skip
DEPSOLVE = "depsolve"
ROLLBACK_REPS = 5  # rollbacks are quick: at least this many per run
GROUP_NAMES = [g.name for g in GROUPS] + [DEPSOLVE]


def select_groups(only: Iterable[str]) -> list[str]:
    """The groups to run, in their fixed order; names may be groups or entries."""
    wanted = set()
    by_entry = {e: g.name for g in GROUPS for e in g.entries}
    by_entry.update({e: DEPSOLVE for e in SPECS if e.startswith("depsolve-")})
    for name in only:
        if name not in GROUP_NAMES and name not in by_entry:
            raise ConfigError(f"--only {name}: expected one of {', '.join(GROUP_NAMES)}")
        wanted.add(by_entry.get(name, name))
    return [g for g in GROUP_NAMES if not wanted or g in wanted]


def select_trees(universe: Universe, names: Sequence[str]) -> Universe:
    unknown = [n for n in names if n not in universe.trees]
    if unknown:
        raise ConfigError(
            f"--trees {', '.join(unknown)}: expected some of {', '.join(universe.trees)}"
        )
    if not names:
        return universe
    return replace(universe, trees={n: universe.trees[n] for n in universe.trees if n in names})


def preflight(groups: Sequence[str]) -> list[str]:
    """The tools the selected measurements need; what each reports about itself."""
    needed = {"ostree", "createrepo_c", "chattr", "cp", "du"}
    needed |= {t for g in GROUPS if g.name in groups for t in g.tools}
    needed |= {"dnf"} if DEPSOLVE in groups else set()
    missing = sorted(t for t in needed if shutil.which(t) is None)
    if missing:
        raise FedostreeError(f"the benchmark needs {', '.join(missing)} (run `make setup`)")
    return [check_dnf()] if "dnf" in needed else []


@dataclass
class Collector:
    console: Console
    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))

    def add(self, measured: Measured) -> None:
        for name, sample in measured:
            self.samples[name].append(sample)
            unit = SPECS[name].unit
            self.console.log(
                f"  {name}: ours {fmt(sample.ours, unit)}, peer {fmt(sample.peer, unit)}"
            )

    def entries(self) -> list[Entry]:
        return [summarize(spec, self.samples[n]) for n, spec in SPECS.items() if n in self.samples]


def run_scenario_groups(
    universe: Universe, groups: Sequence[str], opts: Options, collect: Collector, run: int
) -> None:
    sc = Scenario(universe, opts.workdir / "run", opts.workdir / "shared")
    try:
        for group in (g for g in GROUPS if g.name in groups):
            with stopwatch() as watch:
                collect.add(group.measure(sc, opts))
            collect.console.log(f"run {run}/{opts.runs}: {group.name} ({watch.seconds:.1f} s)")
    finally:
        sc.close()
        if not opts.keep:
            remove_tree(sc.root)


def run_benchmark(opts: Options, console: Console | None = None) -> list[Entry]:
    console = console or Console()
    groups = select_groups(opts.only)
    for line in preflight(groups):
        console.log(line)
    collect = Collector(console)
    if any(g.name in groups for g in GROUPS):
        with stopwatch() as watch:
            universe = load_universe(opts.universe, opts.workdir / "universe", opts.scale)
            universe = select_trees(universe, opts.trees)
            read_all(universe.repo)
        console.log(f"universe ready in {universe.repo} ({watch.seconds:.1f} s)")
        for run in range(1, opts.runs + 1):
            run_scenario_groups(universe, groups, opts, collect, run)
            write_results(opts.out, collect.entries())  # an interrupted run keeps these
    if DEPSOLVE in groups:
        trees = load_trees(opts.universe)
        trees = {n: t for n, t in trees.items() if not opts.trees or n in opts.trees}
        reps = max(opts.runs, 3)
        collect.add(measure_depsolve(opts.data, trees, opts.workdir / "depsolve", reps))
        console.log(f"depsolve ({reps} runs)")
    entries = collect.entries()
    write_results(opts.out, entries)
    print_table(entries, f"fedostree benchmark (scale {opts.scale:g}, {opts.runs} runs)", console)
    return entries


def load_trees(kind: str) -> dict[str, list[str]]:
    """The trees alone (depsolve runs on real metadata, not on the built universe)."""
    return dict(import_universe(kind).TREES)
