"""passwd(5) and group(5) files: the one parser and writer fedostree uses for them.

Parsed as rpm-ostree's nameservice module does: empty lines, comments and NSS compat
lines (`+...`, `-...`) are skipped; any other line must be a complete entry with numeric
ids, or the file is refused. Writing renders each entry back as one line, and replaces
the file rather than writing into it: a file of an assembled tree may be a hardlink
shared with the package cache."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fedostree.engine.rootfs import resolve_in_root
from fedostree.errors import FedostreeError

MAX_ID = 2**32 - 1


class PasswdFormatError(FedostreeError):
    """A passwd or group file with a line that is not an entry."""


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    password: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str

    def line(self) -> str:
        fields = (self.name, self.password, self.uid, self.gid, self.gecos, self.home, self.shell)
        return ":".join(map(str, fields))


@dataclass(frozen=True)
class GroupEntry:
    name: str
    password: str
    gid: int
    members: tuple[str, ...]

    def line(self) -> str:
        return f"{self.name}:{self.password}:{self.gid}:{','.join(self.members)}"


E = TypeVar("E", PasswdEntry, GroupEntry)


def _entry_lines(text: str) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line and not line.startswith(("#", "+", "-")):
            yield number, line


def _id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and int(value) <= MAX_ID else None


def parse_passwd(text: str, where: str) -> list[PasswdEntry]:
    """The entries of a passwd file; where names it in errors."""
    out = []
    for number, line in _entry_lines(text):
        fields = line.split(":", 6)
        ids = [_id(f) for f in fields[2:4]]
        if len(fields) < 7 or None in ids:
            raise PasswdFormatError(f"{where}: line {number}: not a passwd entry: {line!r}")
        out.append(PasswdEntry(fields[0], fields[1], *ids, *fields[4:]))  # type: ignore[arg-type]
    return out


def parse_group(text: str, where: str) -> list[GroupEntry]:
    """The entries of a group file; where names it in errors."""
    out = []
    for number, line in _entry_lines(text):
        fields = line.split(":", 3)
        gid = _id(fields[2]) if len(fields) == 4 else None
        if gid is None:
            raise PasswdFormatError(f"{where}: line {number}: not a group entry: {line!r}")
        members = tuple(fields[3].split(",")) if fields[3] else ()
        out.append(GroupEntry(fields[0], fields[1], gid, members))
    return out


def render(entries: Iterable[PasswdEntry | GroupEntry]) -> str:
    return "".join(f"{e.line()}\n" for e in entries)


def unique_by_name(entries: Iterable[E]) -> list[E]:
    """The first entry of each name, in order."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.name not in seen:
            seen.add(entry.name)
            out.append(entry)
    return out


def user_ids(entries: Iterable[PasswdEntry]) -> dict[str, int]:
    """name -> uid; the first entry of a name wins, as for getpwnam(3)."""
    return {e.name: e.uid for e in unique_by_name(entries)}


def group_ids(entries: Iterable[GroupEntry]) -> dict[str, int]:
    return {e.name: e.gid for e in unique_by_name(entries)}


# --- files in a tree being built --------------------------------------------------------


def read_tree_file(rootfs: Path, rel: str) -> str | None:
    """The text of rootfs/rel, symlinks resolved inside the tree; None if it is absent."""
    path = resolve_in_root(rootfs, rel)
    return path.read_text() if path.is_file() else None


def read_passwd(rootfs: Path, rel: str) -> list[PasswdEntry]:
    """The entries of a passwd file of the tree ([] if it has none)."""
    return parse_passwd(read_tree_file(rootfs, rel) or "", f"/{rel}")


def read_group(rootfs: Path, rel: str) -> list[GroupEntry]:
    return parse_group(read_tree_file(rootfs, rel) or "", f"/{rel}")


def replace_tree_file(rootfs: Path, rel: str, text: str, mode: int = 0o644) -> None:
    """Write rootfs/rel as a new file (never into a file that may be a shared hardlink,
    never through a symlink out of the tree)."""
    path = resolve_in_root(rootfs, rel, follow_last=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.fedostree-tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w") as f:
        f.write(text)
        os.fchmod(f.fileno(), mode)  # whatever the umask
    os.replace(tmp, path)


def write_entries(rootfs: Path, rel: str, entries: Sequence[PasswdEntry | GroupEntry]) -> None:
    replace_tree_file(rootfs, rel, render(entries))
