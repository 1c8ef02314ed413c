"""The bootloader's part: the Boot Loader Specification entries libostree writes in
/boot/loader/entries, and which one a bootloader boots by default."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedostree.errors import FedostreeError

ENTRIES = "boot/loader/entries"


@dataclass(frozen=True)
class BootEntry:
    path: Path
    title: str
    version: int
    linux: str  # relative to /boot, as the entry says it
    initrd: str | None
    options: str

    def karg(self, name: str) -> str | None:
        """The value of name= in the options (the last one, as the kernel reads them)."""
        values = [o.split("=", 1)[1] for o in self.options.split() if o.startswith(f"{name}=")]
        return values[-1] if values else None


def read_entry(path: Path) -> BootEntry:
    """One entry file: `key value` lines; title, version, linux and options are needed."""
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.strip().partition(" ")
        if key and not key.startswith("#"):
            fields[key] = value.strip()
    missing = [k for k in ("version", "linux", "options") if k not in fields]
    if missing:
        raise FedostreeError(f"{path}: boot entry has no {', '.join(missing)}")
    try:
        version = int(fields["version"])
    except ValueError as e:
        raise FedostreeError(
            f"{path}: boot entry version {fields['version']!r} is not a number"
        ) from e
    return BootEntry(path, fields.get("title", ""), version, fields["linux"],
                     fields.get("initrd"), fields["options"])  # fmt: skip


def read_entries(sysroot: Path) -> list[BootEntry]:
    """The entries, the default first: libostree numbers the default deployment's entry
    highest, and a BLS bootloader sorts by version, newest first."""
    directory = sysroot / ENTRIES
    if not directory.is_dir():
        return []
    entries = [read_entry(p) for p in sorted(directory.glob("*.conf"))]
    return sorted(entries, key=lambda e: e.version, reverse=True)


def default_entry(sysroot: Path) -> BootEntry:
    entries = read_entries(sysroot)
    if not entries:
        raise FedostreeError(f"{sysroot / ENTRIES}: no boot entry")
    return entries[0]


def boot_file(sysroot: Path, entry_path: str) -> Path:
    """A linux or initrd path of an entry, as a bootloader reading /boot finds it."""
    return sysroot / "boot" / entry_path.lstrip("/")
