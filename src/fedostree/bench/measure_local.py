"""The local assembly figures: a client building the largest tree itself from its
treefile (`fedostree rebase --local`), against the traditional path and against pulling
the server's commit.

* `local-cold`: the client's package cache and metadata cache empty, against `dnf
  --installroot` of the same NEVRAs with an empty dnf cache.
* `local-warm`: after the update, `fedostree upgrade` re-resolves the treefile and
  rebuilds, against dnf installing the same NEVRAs into a fresh root (its cache warm).
* `local-vs-pull`: the same rebuild against `fedostree upgrade` of another client,
  pulling the server's warm commit over HTTP (static delta when the server has one).

The clients read the treefile's repositories from the `.repo` file beside it (the
synthesized trees' own .repo files are random bytes, so the deployment's are removed):
a copy of the run's configuration whose updates repository is the client's own, empty
for the cold build and given the update for the warm one, whatever ran before."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from fedostree.bench import clients
from fedostree.bench import traditional as trad
from fedostree.bench.clients import REMOTE, ServedRepo
from fedostree.bench.layer_clients import deployment_dir, ours, upgrade
from fedostree.bench.results import Sample
from fedostree.bench.scenario import Scenario
from fedostree.bench.tools import fedostree, fresh_dir, run, stopwatch
from fedostree.client.repos import REPOS_DIR

Measured = list[tuple[str, Sample]]
NAMES = ("local-cold", "local-warm", "local-vs-pull")


def measure_local(sc: Scenario, profile: Path | None = None) -> Measured:
    """The three figures; with profile, our commands run under cProfile (PROFILE/NAME.prof)."""
    cold = sc.cold()
    tree = cold.largest
    ref = f"bench/{tree}"
    work = fresh_dir(sc.root / "local")
    served = ServedRepo(sc.repo, work / "served")
    sc.cleanups.append(served.close)
    served.publish(ref, cold.trees[tree].commit)
    local = deployed_client(served, work / "sysroot-local", ref)
    pulling = deployed_client(served, work / "sysroot-pull", ref)
    clients.set_remote_url(pulling, served.url)
    treefile, updates = own_config(sc, tree, work)
    os.sync()
    with stopwatch() as ours_cold:
        ours(
            "rebase", "--sysroot", local, "--local", treefile, profile=_prof(profile, "local-cold")
        )
    dnf = trad.Dnf(sc.rpm_repos(), work / "dnf-cache",
                   trad.write_dnf_plugin(work / "dnf-plugins"), sc.universe.releasever)  # fmt: skip
    peer_cold = dnf_install(sc, dnf, cold.lockfiles[tree], work / "root-cold")
    update, warm = sc.update(), sc.warm()
    publish_update(update.rpm, updates)
    os.sync()
    with stopwatch() as ours_warm:
        ours("upgrade", "--sysroot", local, profile=_prof(profile, "local-warm"))
    peer_warm = dnf_install(sc, dnf, warm.lockfiles[tree], work / "root-warm")
    served.take(sc.repo, warm.trees[tree].commit)
    served.publish(ref, warm.trees[tree].commit)
    os.sync()
    pull = upgrade(pulling)
    what = f"{tree} ({cold.trees[tree].packages} packages)"
    change = f"update {update.old_nevra} -> {update.new_nevra}"
    return [
        ("local-cold", Sample(ours_cold.seconds, peer_cold,
                              f"{what}: rebase --local, empty caches, vs dnf --installroot")),
        ("local-warm", Sample(ours_warm.seconds, peer_warm,
                              f"{what}, {change}: upgrade (local rebuild) vs dnf into a fresh root")),
        ("local-vs-pull", Sample(ours_warm.seconds, pull,
                                 f"{what}, {change}: local rebuild vs pulling the server's commit")),
    ]  # fmt: skip


def _prof(profile: Path | None, name: str) -> Path | None:
    return profile / f"{name}.prof" if profile else None


def own_config(sc: Scenario, tree: str, work: Path) -> tuple[Path, Path]:
    """The client's copy of the treefile, its .repo file naming an updates repository of
    its own: empty for the cold build whatever the groups before did, given the update
    for the warm one. Returns the treefile and that repository."""
    config = work / "config"
    shutil.copytree(sc.config, config)
    updates = work / "updates"
    updates.mkdir()
    run(["createrepo_c", "--quiet", updates])
    text = (config / "bench.repo").read_text()
    (config / "bench.repo").write_text(text.replace(sc.updates.absolute().as_uri(),
                                                    updates.absolute().as_uri()))  # fmt: skip
    return config / sc.treefile(tree).name, updates


def publish_update(rpm: Path, updates: Path) -> None:
    os.link(rpm, updates / rpm.name)
    run(["createrepo_c", "--quiet", updates])


def deployed_client(served: ServedRepo, path: Path, ref: str) -> Path:
    """A sysroot with ref deployed from the served directory (not timed), without the
    deployment's .repo files."""
    clients.new_sysroot(path, served.path.absolute().as_uri())
    fedostree("rebase", "--sysroot", path, f"{REMOTE}:{ref}")
    for repo_file in (deployment_dir(path) / REPOS_DIR).glob("*.repo"):
        repo_file.unlink()
    return path


def dnf_install(sc: Scenario, dnf: trad.Dnf, lockfile: Path, root: Path) -> float:
    """dnf --installroot of the lockfile's NEVRAs into a fresh root, timed."""
    nevras = trad.nevras_from_lockfile(lockfile)
    bootstrap = [path for nevra, path in sc.bootstrap(sc.cold()).items() if nevra in nevras]
    os.sync()
    with stopwatch() as watch:
        trad.install_root(root, dnf, nevras, bootstrap)
    return watch.seconds
