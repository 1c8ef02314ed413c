"""Depsolve at real scale: the largest tree over CentOS Stream 9 BaseOS plus AppStream
metadata (about 18,800 packages, no RPMs), metadata loading timed apart from solving,
against dnf resolving the same package names (`--assumeno`, dnf's own timers).

Both sides get the same job: the tree's specs with groups expanded from BaseOS's comps
(AppStream's comps name packages that need newer BaseOS libraries than this snapshot
has). Run as `python -m fedostree.bench.measure_depsolve DATA NAME...`, it does one
load and solve and prints the timings as JSON; the harness times the whole process."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from fedostree.bench import CENTOS_DATA
from fedostree.bench.results import Sample
from fedostree.bench.tools import fresh_dir, run, stopwatch
from fedostree.engine import depsolve
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from fedostree.engine.resolve import Request, resolve
from fedostree.errors import FedostreeError

DATA = CENTOS_DATA
REPOS = {"baseos": "baseos-2022-02", "appstream": "appstream-2025-01"}
ARCH = "x86_64"
Measured = list[tuple[str, Sample]]


@dataclass(frozen=True)
class Timings:
    load: float
    solve: float
    total: float
    packages: int


def local_metadata(repo_id: str, path: Path) -> RepoMetadata:
    """Metadata read in place (the data is read-only and has no packages to fetch)."""
    return RepoMetadata(RepoConfig(repo_id, path, (path.as_uri(),)), path, repo_id)


def all_metadata(data: Path) -> list[RepoMetadata]:
    return [local_metadata(rid, data / sub) for rid, sub in REPOS.items()]


def job_names(data: Path, trees: dict[str, list[str]]) -> tuple[str, list[str]]:
    """The tree that resolves to the most packages over BaseOS alone, and its specs with
    groups expanded from BaseOS's comps."""
    baseos = [local_metadata("baseos", data / REPOS["baseos"])]
    pool, comps = depsolve.load_pool(baseos, ARCH), depsolve.load_comps(baseos)
    expanded = {name: depsolve.expand_groups(comps, specs) for name, specs in trees.items()}
    sizes = {name: len(resolve(pool, Request(tuple(names)))) for name, names in expanded.items()}
    largest = max(sizes, key=lambda name: sizes[name])
    return largest, expanded[largest]


def ours_once(data: Path, names: list[str]) -> Timings:
    """This module as a process: its wall time, and the load and solve times it reports."""
    with stopwatch() as watch:
        result = run([sys.executable, "-m", "fedostree.bench.measure_depsolve", data, *names])
    out = json.loads(result.stdout)
    return Timings(out["load"], out["solve"], watch.seconds, out["packages"])


def dnf_once(data: Path, names: list[str], work: Path) -> Timings:
    """dnf resolving the same names into an empty root, fresh cache, answering no."""
    root, cache = fresh_dir(work / "root"), fresh_dir(work / "cache")
    argv = ["dnf", "--assumeno", "--installroot", str(root), f"--setopt=cachedir={cache}",
            "--setopt=reposdir=/dev/null", "--disablerepo=*", "--releasever", "9",
            "--setopt=install_weak_deps=False", "--nobest", "--nogpgcheck"]  # fmt: skip
    argv += [f"--repofrompath={rid},{(data / sub).as_uri()}" for rid, sub in REPOS.items()]
    with stopwatch() as watch:
        result = run([*argv, "install", *names], check=False)
    count = re.search(r"^Install\s+(\d+) Packages?", result.stdout, re.MULTILINE)
    if count is None:
        raise FedostreeError(f"dnf did not resolve the job: {result.stdout[-2000:]}")
    log = (root / "var/log/dnf.log").read_text()
    return Timings(_timer(log, "sack setup"), _timer(log, "depsolve"), watch.seconds,
                   int(count.group(1)))  # fmt: skip


def _timer(log: str, name: str) -> float:
    found = re.findall(rf"timer: {name}: (\d+) ms", log)
    if not found:
        raise FedostreeError(f"dnf.log has no '{name}' timer")
    return int(found[-1]) / 1000


def measure_depsolve(data: Path, trees: dict[str, list[str]], work: Path, reps: int) -> Measured:
    tree, names = job_names(data, trees)
    out: Measured = []
    for _ in range(reps):
        ours, dnf = ours_once(data, names), dnf_once(data, names, work)
        notes = (f"{tree}: {len(names)} names over BaseOS+AppStream; ours resolves "
                 f"{ours.packages} packages, dnf {dnf.packages}")  # fmt: skip
        out += [
            ("depsolve-load", Sample(ours.load, dnf.load, notes)),
            ("depsolve-solve", Sample(ours.solve, dnf.solve, notes)),
            ("depsolve-total", Sample(ours.total, dnf.total, notes)),
        ]
    return out


def main(argv: list[str]) -> None:
    data, names = Path(argv[0]), argv[1:]
    metas = all_metadata(data)
    with stopwatch() as load:
        pool = depsolve.load_pool(metas, ARCH)
        depsolve.load_comps(metas)
    with stopwatch() as solve:
        packages = resolve(pool, Request(tuple(names)))
    timings = {"load": load.seconds, "solve": solve.seconds, "packages": len(packages)}
    print(json.dumps(timings))


if __name__ == "__main__":
    main(sys.argv[1:])
