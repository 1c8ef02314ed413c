"""Which file triggers an rpm transaction fires, in which order, and the paths each one
reads on its standard input: rpm 4.18/4.19's lib/rpmtriggers.c over a model of the
rpmdb as the transaction changes it. Pure: engine/transaction.py turns the firings into
scriptlet runs.

rpm finds a trigger's files three ways, and the trigger runs only when it finds one:
- in one transaction element (`te_paths`, %filetrigger* set off by that package): the
  element's files under each prefix that the element lays down or erases, i.e. not
  skipped (a file is skipped when its state is not "installed", when an earlier package
  of the same transaction already laid down the same path, or on erase when a remaining
  package, or one erased later in the transaction, still owns it);
- in the rpmdb (`db_paths`, a trigger of a package being installed or erased, and every
  %transfiletrigger*): for each prefix, each package whose directory names start with
  it, by install order, its installed files under the prefix; a transaction trigger of
  an outside package only looks at the transaction's packages. A package being unpacked
  has no file states yet: its own files are not in the rpmdb view of its own triggers.

Paths under two prefixes of one trigger are listed twice, as rpm does."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from fedostree.engine.rpmfile import (
    FileTrigger,
    Scriptlet,
    file_list,
    file_triggers_of,
    header_from_blob,
    scriptlets_of,
)

# rpm runs the file triggers of priority >= this before %post/%preun/%postun, the others
# after (TRIGGER_PRIORITY_BOUND in rpmtriggers.c; the manual says 100000).
PRIORITY_BOUND = 10000
PriorityClass = Literal["high", "low", "all"]


@dataclass(eq=False)
class DbPackage:
    """A package in the rpmdb model; num is its rpmdb instance (install order)."""

    num: int
    name: str
    nevra: str
    files: tuple[str, ...]
    dirnames: tuple[str, ...]
    ghosts: frozenset[str]
    triggers: tuple[FileTrigger, ...]
    scriptlets: dict[str, Scriptlet] = field(default_factory=dict)

    @classmethod
    def from_blob(cls, num: int, blob: bytes) -> DbPackage:
        hdr = header_from_blob(blob)
        files, dirnames, ghosts = file_list(hdr)
        return cls(num, hdr["name"], hdr["nevra"], files, dirnames, ghosts,
                   tuple(file_triggers_of(hdr)), {s.name: s for s in scriptlets_of(hdr)})  # fmt: skip


@dataclass(frozen=True)
class Firing:
    """One run of a trigger: its package, the trigger, the paths fed on its stdin."""

    package: DbPackage
    trigger: FileTrigger
    paths: tuple[str, ...]


class Rpmdb:
    """The installed packages as the transaction goes. installed(pkg, path): the state
    of that file of pkg is "installed" (it was laid down, not left out by policy)."""

    def __init__(
        self, packages: Iterable[DbPackage], installed: Callable[[DbPackage, str], bool]
    ) -> None:
        self.packages = sorted(packages, key=lambda p: p.num)
        self.installed = installed
        self.unpacking: DbPackage | None = None  # being installed: no file states yet

    def add(self, pkg: DbPackage) -> None:
        self.packages.append(pkg)
        self.packages.sort(key=lambda p: p.num)

    def remove(self, pkg: DbPackage) -> None:
        self.packages.remove(pkg)

    def count(self, name: str) -> int:
        """Instances of a package name installed, as rpm counts them for $1."""
        return sum(p.name == name for p in self.packages)

    def __contains__(self, pkg: DbPackage) -> bool:
        return any(p is pkg for p in self.packages)


def te_paths(te: DbPackage, trigger: FileTrigger, skipped: Callable[[str], bool]) -> list[str]:
    """The element's own files under the trigger's prefixes that it lays down or erases."""
    return [f for pfx in trigger.prefixes for f in te.files if f.startswith(pfx) and not skipped(f)]


def db_paths(
    db: Rpmdb, trigger: FileTrigger, among: Collection[DbPackage] | None = None
) -> list[str]:
    """The installed files of the rpmdb (or of `among` in it) under the trigger's prefixes."""
    out = []
    wanted = None if among is None else {id(m) for m in among}
    for pfx in trigger.prefixes:
        for pkg in db.packages:
            if wanted is not None and id(pkg) not in wanted:
                continue
            if pkg is db.unpacking or not any(d.startswith(pfx) for d in pkg.dirnames):
                continue
            out += [f for f in pkg.files if f.startswith(pfx) and db.installed(pkg, f)]
    return out


def _in_class(priority: int, pclass: PriorityClass) -> bool:
    if pclass == "all":
        return True
    return (priority >= PRIORITY_BOUND) == (pclass == "high")


def _by_priority(
    found: Iterable[tuple[DbPackage, FileTrigger]],
) -> list[tuple[DbPackage, FileTrigger]]:
    """rpm's order: priority (highest first), then rpmdb instance, then trigger index."""
    return sorted(found, key=lambda pt: (-pt[1].priority, pt[0].num, pt[1].index))


def package_triggers(
    db: Rpmdb, te: DbPackage, sense: str, pclass: PriorityClass, skipped: Callable[[str], bool]
) -> Iterator[Firing]:
    """%filetrigger{in,un,postun} of every package in the rpmdb (te's own included) that
    the element's files set off (runFileTriggers for a per-package trigger)."""
    found = [(pkg, t) for pkg in db.packages for t in pkg.triggers
             if t.family == "file" and t.sense == sense and _in_class(t.priority, pclass)
             and any(f.startswith(p) for p in t.prefixes for f in te.files)]  # fmt: skip
    for pkg, trigger in _by_priority(found):
        paths = te_paths(te, trigger, skipped)
        if paths:
            yield Firing(pkg, trigger, tuple(paths))


def own_triggers(
    db: Rpmdb, te: DbPackage, sense: str, family: str, pclass: PriorityClass
) -> Iterator[Firing]:
    """The element's own triggers of a sense, over the whole rpmdb (runImmedFileTriggers)."""
    mine = [(te, t) for t in te.triggers if t.family == family and t.sense == sense]
    for _, trigger in _by_priority(mine):
        paths = db_paths(db, trigger) if _in_class(trigger.priority, pclass) else []
        if paths:
            yield Firing(te, trigger, tuple(paths))


def outside_transaction_triggers(
    db: Rpmdb, sense: str, members: Collection[DbPackage]
) -> Iterator[Firing]:
    """%transfiletrigger{in,un} of the packages outside the transaction, set off by the
    files of its members (the installed ones for in, those to erase for un)."""
    inside = {id(m) for m in members}
    found = [(pkg, t) for pkg in db.packages if id(pkg) not in inside
             for t in pkg.triggers if t.family == "transfile" and t.sense == sense]  # fmt: skip
    for pkg, trigger in _by_priority(found):
        paths = db_paths(db, trigger, among=members)
        if paths:
            yield Firing(pkg, trigger, tuple(paths))


def postun_transaction_triggers(db: Rpmdb, te: DbPackage) -> list[tuple[DbPackage, FileTrigger]]:
    """The %transfiletriggerpostun of the rpmdb that an element about to leave it sets off
    with an installed file under any of their prefixes. (rpm 4.18/4.19 compare only a
    trigger's first prefix, a bug rpm 4.20 fixed; this follows the fix.)"""
    return [(pkg, t) for pkg in db.packages for t in pkg.triggers
            if t.kind == "transfiletriggerpostun"
            and any(f.startswith(p) and db.installed(te, f) for p in t.prefixes for f in te.files)]  # fmt: skip


def pending_postun_triggers(
    db: Rpmdb, pending: Sequence[tuple[DbPackage, FileTrigger]]
) -> Iterator[Firing]:
    """Once the transaction is done, each collected %transfiletriggerpostun once, whose
    package is still installed, with nothing on its stdin."""
    unique = {(pkg.num, t.index): (pkg, t) for pkg, t in pending if pkg in db}
    for pkg, trigger in _by_priority(unique.values()):
        yield Firing(pkg, trigger, ())
