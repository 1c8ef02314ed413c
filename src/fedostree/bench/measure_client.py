"""The client's figures: bytes an upgrade pulls over HTTP (with and without the static
delta) against the content that changed, and rollback time on a large deployment
against a tiny one."""

from __future__ import annotations

from fedostree.bench import clients, ostree_stats
from fedostree.bench.clients import ServedRepo, Upgraded
from fedostree.bench.results import Sample, fmt_bytes
from fedostree.bench.scenario import Scenario
from fedostree.engine import ostree as ot

Measured = list[tuple[str, Sample]]
TINY_REF = "bench/tiny"


def served(sc: Scenario) -> ServedRepo:
    """The composed repository, served (after the warm recompose and the tiny tree)."""
    sc.warm()
    sc.tiny()

    def serve() -> ServedRepo:
        repo = ServedRepo(sc.repo, sc.root / "served")
        sc.cleanups.append(repo.close)
        return repo

    return sc.once("served", serve)


def upgraded(sc: Scenario, *, delta: bool) -> Upgraded:
    """The largest tree deployed at its cold commit, then upgraded to its warm one; the
    upgrade without static deltas comes second, as it removes them from the served copy."""
    if not delta:
        upgraded(sc, delta=True)
    label = "delta" if delta else "objects"
    return sc.once(f"upgraded-{label}", lambda: _upgrade(sc, label))


def _upgrade(sc: Scenario, label: str) -> Upgraded:
    cold, warm = sc.cold(), sc.warm()
    name = cold.largest
    repo = served(sc)
    if label == "objects":
        repo.drop_static_deltas()
    return clients.deploy_then_upgrade(repo, sc.root / f"sysroot-{label}", f"bench/{name}",
                                       cold.trees[name].commit, warm.trees[name].commit)  # fmt: skip


def measure_upgrade_bytes(sc: Scenario) -> Measured:
    with_delta = upgraded(sc, delta=True)
    without = upgraded(sc, delta=False)
    cold, warm = sc.cold(), sc.warm()
    name = cold.largest
    repo = ot.open_repo(sc.repo)
    changed = ostree_stats.added_content(repo, cold.trees[name].commit, warm.trees[name].commit)
    notes = (
        f"{name}: {changed.objects} new file objects, {fmt_bytes(changed.bytes)} "
        f"({fmt_bytes(changed.stored_bytes)} compressed in the repository); update "
        f"{sc.update().new_nevra}"
    )
    return [
        ("upgrade-bytes-delta",
         Sample(with_delta.bytes, changed.bytes, f"{notes}; served: {with_delta.breakdown}")),
        ("upgrade-bytes-no-delta",
         Sample(without.bytes, changed.bytes, f"{notes}; served: {without.breakdown}")),
    ]  # fmt: skip


def tiny_sysroot(sc: Scenario) -> Upgraded:
    """The tiny tree's two commits deployed in a sysroot of their own."""
    first, second = sc.tiny()
    repo = served(sc)
    return sc.once(
        "tiny-sysroot",
        lambda: clients.deploy_then_upgrade(
            repo, sc.root / "sysroot-tiny", TINY_REF, first, second
        ),
    )


def measure_rollback(sc: Scenario, reps: int) -> Measured:
    """`fedostree rollback` on the large deployment against the tiny one, alternating."""
    large = upgraded(sc, delta=True).sysroot
    tiny = tiny_sysroot(sc).sysroot
    sizes = f"{clients.deployed_packages(large)} vs {clients.deployed_packages(tiny)} packages"
    out: Measured = []
    for _ in range(reps):
        big_cli, small_cli = clients.rollback_cli(large), clients.rollback_cli(tiny)
        big_op, small_op = clients.rollback_in_process(large), clients.rollback_in_process(tiny)
        notes = f"{sizes}; in-process rollback {big_op:.3f} s vs {small_op:.3f} s"
        out.append(("rollback", Sample(big_cli, small_cli, notes)))
    return out
