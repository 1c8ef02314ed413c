"""Package lists as commits record them (`rpmostree.rpmdb.pkglist`), and the diff between
two of them: added, removed, upgraded, downgraded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import rpm


@dataclass(frozen=True, order=True)
class PkgId:
    name: str
    epoch: str
    version: str
    release: str
    arch: str

    @property
    def evr(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch not in ("", "0") else ""
        return f"{epoch}{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"


@dataclass
class PkgDiff:
    added: list[PkgId] = field(default_factory=list)
    removed: list[PkgId] = field(default_factory=list)
    upgraded: list[tuple[PkgId, PkgId]] = field(default_factory=list)
    downgraded: list[tuple[PkgId, PkgId]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.upgraded or self.downgraded)

    def lines(self) -> list[str]:
        sections = [
            ("Upgraded:", [f"  {o.name} {o.evr} -> {n.evr}" for o, n in self.upgraded]),
            ("Downgraded:", [f"  {o.name} {o.evr} -> {n.evr}" for o, n in self.downgraded]),
            ("Removed:", [f"  {p.nevra}" for p in self.removed]),
            ("Added:", [f"  {p.nevra}" for p in self.added]),
        ]
        return [line for title, items in sections if items for line in (title, *items)]

    def to_json(self) -> dict[str, object]:
        return {
            "added": [p.nevra for p in self.added],
            "removed": [p.nevra for p in self.removed],
            "upgraded": [[o.nevra, n.nevra] for o, n in self.upgraded],
            "downgraded": [[o.nevra, n.nevra] for o, n in self.downgraded],
        }


def parse_pkglist(value: Iterable[Iterable[str]] | None) -> list[PkgId]:
    return sorted(PkgId(*entry) for entry in (value or []))


def diff_pkglists(old: Iterable[PkgId], new: Iterable[PkgId]) -> PkgDiff:
    before = {(p.name, p.arch): p for p in old}
    after = {(p.name, p.arch): p for p in new}
    diff = PkgDiff()
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None and b is not None:
            diff.added.append(b)
        elif b is None and a is not None:
            diff.removed.append(a)
        elif a is not None and b is not None and a != b:
            cmp = rpm.labelCompare((a.epoch, a.version, a.release), (b.epoch, b.version, b.release))
            (diff.upgraded if cmp < 0 else diff.downgraded).append((a, b))
    return diff
