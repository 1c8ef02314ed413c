"""`python -m fedostree.bench.boot_cost [--workdir DIR] [--runs N]`: what the `boot` check
adds to a cold compose of the six sample trees (issue 12).

Each run builds nothing but composes the sample products (the six trees and the two
deliberately broken ones) twice, each time cold (a fresh repository and cache
directory), once with `--no-boot-check` and once with the boot checks, and reads every
tree's boot time back from its test results. The sample repository is built once."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fedostree.demo import write_config
from fedostree.engine import ostree as ot
from fedostree.sample.universe import build_sample_repo, is_current
from fedostree.server.candidates import list_candidates
from fedostree.server.results import load_results


def compose(products: Path, work: Path, *extra: str) -> float:
    for name in ("repo", "cache"):
        shutil.rmtree(work / name, ignore_errors=True)
    argv = [sys.executable, "-m", "fedostree", "compose", "products", str(products),
            "--repo", str(work / "repo"), "--cachedir", str(work / "cache"), *extra]  # fmt: skip
    env = {**os.environ, "FEDOSTREE_NO_BOOT_CHECK": "0"}
    start = time.monotonic()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return time.monotonic() - start


def boot_times(repo: Path) -> dict[str, tuple[str, float, float]]:
    """ref -> (outcome, check seconds, QEMU seconds) of each candidate's boot check."""
    out: dict[str, tuple[str, float, float]] = {}
    for ref, commit in list_candidates(ot.open_repo(repo)).items():
        results = load_results(repo, commit)
        for check in results.checks if results else ():
            if check.name == "boot":
                qemu = float(check.summary.split()[2]) if check.outcome == "passed" else 0.0
                out[ref] = (check.outcome, check.duration, qemu)
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m fedostree.bench.boot_cost", description=__doc__)
    p.add_argument("--workdir", type=Path, default=Path("/dev/shm/fedostree-boot-cost"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("bench/boot-cost.json"))
    a = p.parse_args()
    work = a.workdir.absolute()
    work.mkdir(parents=True, exist_ok=True)
    if not is_current(work / "sample-repo"):
        build_sample_repo(work / "sample-repo")
    products = write_config(work / "config", work / "sample-repo")
    without: list[float] = []
    with_boot: list[float] = []
    boots: dict[str, tuple[str, float, float]] = {}
    for run in range(a.runs):
        without.append(compose(products, work, "--no-boot-check"))
        with_boot.append(compose(products, work))
        boots = boot_times(work / "repo")
        print(f"run {run + 1}: {without[-1]:.1f} s without boot checks, {with_boot[-1]:.1f} s with")
    median_without, median_with = statistics.median(without), statistics.median(with_boot)
    doc = {"cores": os.cpu_count(), "without": without, "with": with_boot,
           "median_without": median_without, "median_with": median_with,
           "boots_last_run": boots}  # fmt: skip
    a.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"median: {median_without:.1f} s -> {median_with:.1f} s "
          f"(+{median_with - median_without:.1f} s, {median_with / median_without:.2f}x)")  # fmt: skip
    for ref, (outcome, check, qemu) in sorted(boots.items()):
        print(f"  {ref}: {outcome}, check {check:.1f} s, QEMU {qemu:.1f} s")
    shutil.rmtree(work / "repo", ignore_errors=True)


if __name__ == "__main__":
    main()
