"""The layering figures: `fedostree install` of one and of ten packages (with their
missing dependencies) on the largest tree, deployed, against `dnf --installroot install`
of the same into a copy of that tree; one more package on a deployment with ten layered
against the same package on one with none; `fedostree upgrade` to the warm commit with
the ten layered against the same upgrade with nothing layered.

Both sides start warm on metadata and cold on packages: the sysroot's rpm-md cache filled
by one `install --dry-run`, dnf's by `dnf makecache`; no package downloaded. The rpm-md
repository is the universe itself, served over HTTP (both sides download the packages)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fedostree.bench import layer_clients as lc
from fedostree.bench.clients import ServedRepo
from fedostree.bench.httpcount import CountingServer
from fedostree.bench.layer_clients import DnfLayer, Layered
from fedostree.bench.layer_pick import (
    LayerPick,
    candidates,
    pick_packages,
    pool_resolver,
    universe_pool,
)
from fedostree.bench.results import Sample, fmt_bytes
from fedostree.bench.scenario import Scenario
from fedostree.client.repos import BASEARCH
from fedostree.engine import ostree as ot
from fedostree.engine.derive import installed_headers

Measured = list[tuple[str, Sample]]
NAMES = ("layer-one", "layer-ten", "layer-incremental", "upgrade-layered")


@dataclass(frozen=True)
class LayerWorld:
    """The largest tree's cold commit deployed on three sysroots (one for the single
    package, one for the ten, one that stays unlayered), its warm commit to upgrade to."""

    tree: str
    ref: str
    old: str
    new: str
    pick: LayerPick
    served: ServedRepo
    rpmmd: CountingServer
    one: Path
    ten: Path
    none: Path
    dnf: DnfLayer


def pick_for(sc: Scenario, commit: str) -> LayerPick:
    """The packages to layer on the tree at commit (from its own rpmdb)."""
    installed = installed_headers(ot.open_repo(sc.repo), commit)
    pool = universe_pool(sc.universe.repo, installed, BASEARCH)
    return pick_packages(candidates(pool), pool_resolver(pool))


def layer_world(sc: Scenario) -> LayerWorld:
    return sc.once("layer-world", lambda: _layer_world(sc))


def _layer_world(sc: Scenario) -> LayerWorld:
    cold, warm = sc.cold(), sc.warm()
    tree = cold.largest
    ref, old, new = f"bench/{tree}", cold.trees[tree].commit, warm.trees[tree].commit
    pick = pick_for(sc, old)
    work = sc.root / "layering"
    served = ServedRepo(sc.repo, work / "served")
    sc.cleanups.append(served.close)
    rpmmd = CountingServer(sc.universe.repo, files=True)
    sc.cleanups.append(rpmmd.stop)
    served.publish(ref, old)
    one, ten, none = (
        lc.layerable_sysroot(served, work / f"sysroot-{label}", ref, rpmmd.url)
        for label in ("one", "ten", "none")
    )
    lc.dry_run(one, [pick.one])
    lc.dry_run(ten, pick.ten)
    dnf = DnfLayer(work / "dnf", sc.universe.releasever).setup(rpmmd.url)
    return LayerWorld(tree, ref, old, new, pick, served, rpmmd, one, ten, none, dnf)


def measure_layering(sc: Scenario, profile: Path | None = None) -> Measured:
    """The four figures, each side run once; with profile, our commands run under
    cProfile and write PROFILE/NAME.prof (their times then include its overhead)."""
    w = layer_world(sc)

    def prof(name: str) -> Path | None:
        return profile / f"{name}.prof" if profile else None

    deployment = lc.deployment_dir(w.one)
    roots = {n: w.dnf.copy_root(deployment, w.dnf.work / f"root-{n}") for n in ("one", "ten")}
    w.dnf.makecache(roots["one"])
    one, ten = w.pick.one, w.pick.ten
    peer_one = counted(w.rpmmd, lambda: w.dnf.install(roots["one"], [one]))
    ours_one = counted(w.rpmmd, lambda: lc.install(w.one, [one], profile=prof("layer-one")))
    peer_ten = counted(w.rpmmd, lambda: w.dnf.install(roots["ten"], ten))
    ours_ten = counted(w.rpmmd, lambda: lc.install(w.ten, ten, profile=prof("layer-ten")))
    w.served.publish(w.ref, w.new)
    os.sync()
    layered_up = lc.upgrade(w.ten, profile=prof("upgrade-layered"))
    os.sync()
    plain_up = lc.upgrade(w.none, profile=prof("upgrade-none"))
    more = counted(w.rpmmd, lambda: lc.install(w.ten, [one], profile=prof("layer-incremental")))
    tag = f"{w.tree}; profiled (cProfile overhead included)" if profile else w.tree
    return [
        ("layer-one", Sample(ours_one.seconds, peer_one.seconds,
                             compare(tag, w.pick.one_adds, ours_one, peer_one))),
        ("layer-ten", Sample(ours_ten.seconds, peer_ten.seconds,
                             compare(tag, w.pick.ten_adds, ours_ten, peer_ten)
                             + f"; the ten: {' '.join(ten)}")),
        ("layer-incremental", Sample(more.seconds, ours_one.seconds,
                                     f"{tag}: {one} on the ten layered "
                                     f"({same(w.pick.one_adds, more.added)}) vs on none")),
        ("upgrade-layered", Sample(layered_up, plain_up,
                                   f"{tag}: {w.old[:12]} -> {w.new[:12]} with "
                                   f"{len(w.pick.ten_adds)} packages layered vs none")),
    ]  # fmt: skip


def counted(server: CountingServer, step: Callable[[], Layered]) -> Layered:
    """A side's command, with the bytes the rpm-md server sent it meanwhile. Written data
    is flushed first, so that no command pays for the writeback of the setup's copies."""
    os.sync()
    server.counter.reset()
    layered = step()
    return replace(layered, served=server.counter.total)


def compare(tag: str, expected: Sequence[str], ours: Layered, peer: Layered) -> str:
    return (
        f"{tag}: {len(expected)} packages added (ours {same(expected, ours.added)}, "
        f"dnf {same(expected, peer.added)}); downloaded over HTTP: ours "
        f"{fmt_bytes(ours.served)}, dnf {fmt_bytes(peer.served)}"
    )


def same(expected: Sequence[str], added: Sequence[str]) -> str:
    """Whether a side added exactly the picked NEVRAs, and what differs if not."""
    missing, extra = set(expected) - set(added), set(added) - set(expected)
    if not missing and not extra:
        return "as picked"
    return f"missing {' '.join(sorted(missing)) or '-'}, extra {' '.join(sorted(extra)) or '-'}"
