"""`python -m fedostree.bench.profile_phases FILE.prof...`: where the time of a profiled
`fedostree install` / `upgrade` goes (`python -m fedostree.bench --profile DIR` writes
the profiles), one column per profile, by the phases of layering: start-up, resolve,
the package cache, pull, the base checkout, the packages' checkouts, scriptlets, the
rpmdb, the commit, removing the work tree, the deployment.

A phase is the cumulative time of some functions (by the file they are defined in and
their name), optionally only as called from one function; the phases do not nest, and
what none of them covers is `other`:

  start-up        the interpreter and the imports (everything outside the CLI's main)
  resolve         the rpm-md metadata (fetched or cached), the tree's rpmdb, libsolv
  package cache   downloading the packages and importing them into the package cache
  pull            libostree pulling the new base (upgrade)
  base checkout   the hardlink checkout of the commit the layer starts from
  pkg checkouts   the layered packages' checkouts over it
  private copies  copies of /usr/etc and the rpmdb, which the transaction edits
  scriptlets      the packages' scriptlets in the sandbox
  rpmdb           reading and rewriting the tree's rpmdb
  commit          the derived tree committed: the snapshot of directories before the
                  transaction, what changed (engine/tree_delta.py) or the whole tree
                  (with an SELinux policy), the dirtree and commit objects
  rm work tree    removing the derived tree's checkout
  deploy          libostree's deployment (its own checkout, /etc merge, bootloader, prune)"""

from __future__ import annotations

import pstats
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

Key = tuple[str, int, str]  # pstats' (filename, line, function name)


@dataclass(frozen=True)
class Site:
    """A function (file suffix, name); with a caller, only its calls from that caller."""

    file: str
    name: str
    caller: tuple[str, str] | None = None


START_UP = "start-up"  # the interpreter and the imports
OTHER = "other"
PHASES: dict[str, tuple[Site, ...]] = {
    "resolve": (
        Site("client/layering.py", "_pool"),
        Site("engine/layer_resolve.py", "resolve_layer"),
        Site("engine/derive.py", "installed_headers", ("client/layering.py", "install")),
        Site("engine/derive.py", "installed_headers", ("client/layering.py", "layer_on")),
    ),
    "package cache": (Site("client/layering.py", "_cache"),),
    "pull": (Site("client/remotes.py", "pull"),),
    "base checkout": (
        Site("engine/ostree.py", "checkout_union", ("engine/derive.py", "derive_tree")),
    ),
    "pkg checkouts": (Site("engine/derive.py", "checkout_package"),),
    "private copies": (Site("engine/derive.py", "privatize_edited"),),
    "scriptlets": (
        Site("engine/transaction.py", "run_install"),
        Site("engine/transaction.py", "run_erase"),
    ),
    "rpmdb": (
        Site("engine/rpmdb.py", "write_rpmdb"),
        Site("engine/rpmdb.py", "read_header_blobs", ("engine/derive.py", "derive_tree")),
        Site("engine/rpmdb.py", "read_header_blobs", ("engine/derive.py", "commit_derived")),
    ),
    "commit": (
        Site("engine/commit.py", "commit_rootfs"),
        Site("engine/tree_delta.py", "snapshot", ("engine/derive.py", "derive_tree")),
        Site("engine/tree_delta.py", "commit_changes"),
        Site("engine/ostree.py", "write_commit", ("engine/derive.py", "commit_derived")),
    ),
    "rm work tree": (Site("shutil.py", "rmtree", ("client/layering.py", "_derive")),),
    "deploy": (Site("client/sysroot.py", "deploy"),),
}
MAIN = Site("cli/main.py", "main")


def matches(key: Key, file: str, name: str) -> bool:
    return key[2] == name and key[0].endswith(file)


def site_seconds(stats: Mapping[Key, tuple], site: Site) -> float:
    """Cumulative seconds of the site's function (of its calls from the caller)."""
    total = 0.0
    for key, (_cc, _nc, _tt, ct, callers) in stats.items():
        if not matches(key, site.file, site.name):
            continue
        if site.caller is None:
            total += ct
            continue
        total += sum(c[3] for k, c in callers.items() if matches(k, *site.caller))
    return total


def phase_times(
    profile: pstats.Stats, phases: Mapping[str, Sequence[Site]] = PHASES, main: Site = MAIN
) -> dict[str, float]:
    """Seconds per phase; start-up is everything outside main, other what is left."""
    stats: Mapping[Key, tuple] = profile.stats  # type: ignore[attr-defined]
    total = float(profile.total_tt)  # type: ignore[attr-defined]
    inside = site_seconds(stats, main)
    out = {START_UP: total - inside if inside else 0.0}
    out |= {label: sum(site_seconds(stats, s) for s in sites) for label, sites in phases.items()}
    out[OTHER] = total - sum(out.values())
    out["total"] = total
    return out


def phase_table(profiles: Sequence[Path]) -> Table:
    columns = {p.stem: phase_times(pstats.Stats(str(p))) for p in profiles}
    table = Table(title="where the time goes (s, cProfile)")
    table.add_column("phase")
    for name in columns:
        table.add_column(name, justify="right")
    for phase in next(iter(columns.values()), {}):
        table.add_row(phase, *(f"{times[phase]:.2f}" for times in columns.values()))
    return table


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__.splitlines()[0].strip("`:"), file=sys.stderr)
        return 2
    Console(width=max(Console().width, 120)).print(phase_table([Path(a) for a in argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
