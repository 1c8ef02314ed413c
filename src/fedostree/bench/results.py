"""The benchmark's figures: one sample per run and measurement, summarized as medians
and a ratio against the peer, written to results.json and shown as a table."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Spec:
    """What one figure is: its unit, its target (the highest ratio that passes), and
    what ours and the peer are."""

    name: str
    unit: str  # "s" or "bytes"
    target: float | None
    ours: str
    peer: str


@dataclass(frozen=True)
class Sample:
    """One run's measurement of ours and of the peer."""

    ours: float
    peer: float
    notes: str = ""


@dataclass(frozen=True)
class Entry:
    """One line of results.json."""

    name: str
    ours: float
    peer: float
    ratio: float | None
    unit: str
    runs: int
    target: float | None
    notes: str

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio <= self.target


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def ratio(ours: float, peer: float) -> float | None:
    """ours / peer; None when the peer is zero (no meaningful ratio)."""
    if peer == 0 or math.isnan(peer):
        return None
    return ours / peer


def summarize(spec: Spec, samples: Sequence[Sample]) -> Entry:
    """Medians of ours and of the peer over the runs, and their ratio."""
    ours = median([s.ours for s in samples])
    peer = median([s.peer for s in samples])
    notes = [f"ours: {spec.ours}; peer: {spec.peer}"]
    if len(samples) > 1:
        notes.append(
            "samples ours/peer: "
            + ", ".join(f"{fmt(s.ours, spec.unit)}/{fmt(s.peer, spec.unit)}" for s in samples)
        )
    notes += [s.notes for s in samples[-1:] if s.notes]
    return Entry(
        name=spec.name,
        ours=ours,
        peer=peer,
        ratio=ratio(ours, peer),
        unit=spec.unit,
        runs=len(samples),
        target=spec.target,
        notes="; ".join(notes),
    )


def fmt(value: float, unit: str) -> str:
    if unit == "bytes":
        return fmt_bytes(value)
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:g} {unit}"


def fmt_bytes(n: float) -> str:
    for factor, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= factor:
            return f"{n / factor:.1f} {suffix}"
    return f"{n:.0f} B"


def write_results(path: Path, entries: Iterable[Entry]) -> None:
    """results.json: a list of entries, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps([asdict(e) for e in entries], indent=2) + "\n")
    tmp.replace(path)


def read_results(path: Path) -> list[Entry]:
    return [Entry(**e) for e in json.loads(path.read_text())]


def render_table(entries: Sequence[Entry], title: str) -> Table:
    table = Table(title=title)
    for column in ("measurement", "ours", "peer", "ratio", "target", "", "runs"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for e in entries:
        table.add_row(
            e.name,
            fmt(e.ours, e.unit),
            fmt(e.peer, e.unit),
            "-" if e.ratio is None else f"{e.ratio:.3f}x",
            "-" if e.target is None else f"<= {e.target:g}x",
            {True: "[green]ok", False: "[red]MISSED", None: ""}[e.passed],
            str(e.runs),
        )
    return table


def print_table(entries: Sequence[Entry], title: str, console: Console | None = None) -> None:
    (console or Console()).print(render_table(entries, title))
