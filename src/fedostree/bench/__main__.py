"""`python -m fedostree.bench --scale S --runs N --out bench/results.json
[--workdir bench/work] [--only NAME...]`: run the benchmark, write results.json and
print the table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from fedostree.bench.harness import GROUP_NAMES, Options, run_benchmark
from fedostree.bench.measure_depsolve import DATA
from fedostree.errors import FedostreeError


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m fedostree.bench", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0, help="payload bytes x real size")
    p.add_argument("--runs", type=int, default=3, help="runs; figures are medians")
    p.add_argument("--out", type=Path, default=Path("bench/results.json"))
    p.add_argument("--workdir", type=Path, default=Path("bench/work"))
    p.add_argument("--only", nargs="+", default=[], metavar="NAME",
                   help=f"measure only these: {', '.join(GROUP_NAMES)}")  # fmt: skip
    p.add_argument("--trees", nargs="+", default=[], metavar="TREE",
                   help="compose only these of the universe's trees (default: all six)")  # fmt: skip
    p.add_argument("--universe", choices=["centos", "sample"], default="centos",
                   help="centos: the synthesized CentOS Stream 9 universe; sample: the "
                   "small bundled one (for testing the harness)")  # fmt: skip
    p.add_argument("--reps", type=int, default=3,
                   help="repetitions per run of the quick measurements (assembly, rollback)")  # fmt: skip
    p.add_argument("--data", type=Path, default=DATA, help="CentOS Stream 9 metadata")
    p.add_argument("--keep", action="store_true", help="keep the last run's work directory")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="run the layering and local figures' fedostree commands under cProfile, "
                   "writing DIR/NAME.prof (their times then include the profiler's overhead)")  # fmt: skip
    a = p.parse_args(argv)
    if a.runs < 1 or a.reps < 1 or a.scale <= 0:
        p.error("--runs and --reps must be at least 1, --scale positive")
    return Options(
        scale=a.scale,
        runs=a.runs,
        out=a.out,
        workdir=a.workdir.absolute(),
        only=tuple(a.only),
        trees=tuple(a.trees),
        universe=a.universe,
        reps=a.reps,
        data=a.data,
        keep=a.keep,
        profile=a.profile.absolute() if a.profile else None,
    )


def main(argv: list[str] | None = None) -> int:
    console = Console()
    try:
        run_benchmark(parse_args(sys.argv[1:] if argv is None else argv), console)
    except FedostreeError as e:
        console.print(f"[red]error:[/red] {e}", highlight=False)
        return e.exit_code
    except KeyboardInterrupt:
        console.print("error: interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
