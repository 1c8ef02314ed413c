"""The `elf-needed` check: every ELF executable and shared library of a tree finds each
of its DT_NEEDED libraries (and its program interpreter) inside the tree, searched the
way glibc's ld.so searches: DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, the
directories of the tree's ld.so.conf, then the default directories. A library of another
ELF class or machine is passed over, as ld.so passes it over.

The ELF reading and the loader's search are engine/elf.py's (the initramfs generator
finds the host's libraries with them too)."""

from __future__ import annotations

import stat

from fedostree.engine.elf import BadElf, ElfObject, Loader, read_elf
from fedostree.server.treeview import Entry, TreeView

# --- the check --------------------------------------------------------------------------


def is_candidate(entry: Entry) -> bool:
    """Executables and shared libraries: regular files with an x bit or `.so` in the name."""
    if not stat.S_ISREG(entry.mode):
        return False
    return bool(entry.mode & 0o111) or ".so" in entry.path.rpartition("/")[2]


def check_elf_needed(view: TreeView) -> tuple[list[str], str]:
    """Problems (one line each) and a one-line summary."""
    loader = Loader(view)
    parsed: dict[tuple[int, int], ElfObject | BadElf | None] = {}
    problems: list[str] = []
    objects = needed = 0
    for entry in filter(is_candidate, view.entries):
        key = (entry.dev, entry.ino)
        if key not in parsed:
            parsed[key] = _parse(view, entry.path)
        obj = parsed[key]
        if isinstance(obj, BadElf):
            problems.append(f"{entry.path}: not a valid ELF file: {obj}")
        elif obj is not None and obj.loadable:
            objects += 1
            needed += len(obj.needed)
            problems += loader.problems(entry.path, obj)
    summary = f"{objects} ELF executables and shared libraries, {needed} DT_NEEDED entries"
    return problems, summary


def _parse(view: TreeView, path: str) -> ElfObject | BadElf | None:
    try:
        return read_elf(view.rootfs / path.lstrip("/"))
    except BadElf as e:
        return e
