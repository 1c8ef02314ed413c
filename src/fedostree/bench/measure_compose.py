"""The server's figures: cold compose, warm and no-op recompose, repository size, and
the floor of assembly (the union hardlink checkout against `cp -al`)."""

from __future__ import annotations

import os
from pathlib import Path

from fedostree.bench import ostree_stats
from fedostree.bench.results import Sample, fmt_bytes
from fedostree.bench.scenario import ComposeRound, Scenario
from fedostree.bench.tools import disk_usage, fresh_dir, remove_tree, stopwatch, timed
from fedostree.bench.traditional import TradRound
from fedostree.engine import ostree as ot
from fedostree.engine.checkout import checkout_packages
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import ensure_cached
from fedostree.model.treefile_load import load_treefile
from fedostree.server.pipeline import ComposeOptions, Session, resolve_packages

Measured = list[tuple[str, Sample]]


def describe_round(composed: ComposeRound) -> str:
    counts = ", ".join(f"{name} {c.packages}" for name, c in composed.trees.items())
    return f"{len(composed.trees)} trees ({counts} packages)"


def describe_trad(peer: TradRound) -> str:
    return f"peer's removal of its installroots {peer.cleanup_seconds:.1f} s of it"


def measure_cold(sc: Scenario) -> Measured:
    """All trees from empty caches, ours against dnf --installroot + ostree commit."""
    ours, peer = sc.cold(), sc.trad_cold()
    notes = f"{describe_round(ours)}; {describe_trad(peer)}"
    return [("cold-compose", Sample(ours.seconds, peer.seconds, notes))]


def measure_noop(sc: Scenario) -> Measured:
    """Compose again with nothing changed, against the cold compose."""
    ours, cold = sc.noop(), sc.cold()
    return [("noop-recompose", Sample(ours.seconds, cold.seconds, "every tree unchanged"))]


def measure_warm(sc: Scenario) -> Measured:
    """After one package every tree holds is updated, against the traditional path's
    rebuild of every tree (fresh installroots, committed into its existing repository)."""
    ours, peer = sc.warm(), sc.trad_warm()
    update = sc.update()
    notes = f"update {update.old_nevra} -> {update.new_nevra}; {describe_trad(peer)}"
    if ours.deltas_seconds is not None:
        notes += (
            f"; static deltas generated afterwards in {ours.deltas_seconds:.1f} s (not counted)"
        )
    return [("warm-recompose", Sample(ours.seconds, peer.seconds, notes))]


def measure_repo_size(sc: Scenario) -> Measured:
    """The archive repository's objects after the cold compose, against the six
    standalone roots (du of the dnf installroots) and against the unique content."""
    cold, standalone = sc.cold(), sc.trad_cold()
    stored = disk_usage(sc.repo / "objects")
    apparent = disk_usage(sc.repo / "objects", apparent=True)
    repo = ot.open_repo(sc.repo)
    unique = ostree_stats.unique_content(repo, [c.commit for c in cold.trees.values()])
    notes = (
        f"objects apparent size {fmt_bytes(apparent)}; unique content {unique.objects} "
        f"objects; standalone roots apparent size {fmt_bytes(standalone.root_apparent_bytes)}"
    )
    return [
        ("repo-size-vs-standalone", Sample(stored, standalone.root_bytes, notes)),
        ("repo-size-vs-unique", Sample(stored, unique.bytes, notes)),
    ]


def measure_assembly(sc: Scenario, reps: int) -> Measured:
    """The largest tree's union hardlink checkout of its cached packages, against `cp -al`
    of the tree it assembled; reps times each."""
    cold = sc.cold()
    name = cold.largest
    session = Session(ComposeOptions(repo=sc.repo, cachedir=sc.cachedir, boot=None))
    tf = load_treefile(sc.treefile(name))
    cached = ensure_cached(session.build_repo, resolve_packages(tf, session), sc.cachedir)
    work = fresh_dir(sc.root / "assembly")
    out: Measured = []
    for i in range(reps):
        rootfs, copy = work / f"rootfs-{i}", work / f"copy-{i}"
        with stopwatch() as watch:
            checkout_packages(session.build_repo, cached, rootfs, OSTree.RepoDevInoCache.new())
        cp = timed(["cp", "-al", rootfs, copy])
        notes = f"{name}: {len(cached)} packages, {count_entries(rootfs)} files and directories"
        out.append(("assembly", Sample(watch.seconds, cp, notes)))
        remove_tree(rootfs)
        remove_tree(copy)
    remove_tree(work)
    return out


def count_entries(path: Path) -> int:
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(path))
