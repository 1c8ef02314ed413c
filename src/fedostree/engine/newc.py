"""A gzip-compressed cpio archive in the "newc" format, the one the kernel unpacks as
an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst), written so
that the same entries give the same bytes: entries sorted by path, inode numbers
counted in that order, every entry owned by root with the same mtime, no device
numbers but a device node's own, and a gzip header without name or time.

Written here rather than by cpio(1): each header field is set, not taken from files
staged on disk (their owners, times, inode numbers, the umask), a device node needs no
mknod, and nothing is run or staged."""

from __future__ import annotations

import gzip
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Entry:
    """One archive member: path relative to the root, no leading slash."""

    path: str
    mode: int  # with the file type bits
    data: bytes = b""  # a file's content, a symlink's target
    rdev: tuple[int, int] = (0, 0)  # a device node's major and minor


def directory(path: str, perms: int = 0o755) -> Entry:
    return Entry(path, stat.S_IFDIR | perms)


def regular(path: str, data: bytes, perms: int = 0o644) -> Entry:
    return Entry(path, stat.S_IFREG | perms, data)


def char_device(path: str, major: int, minor: int, perms: int = 0o600) -> Entry:
    return Entry(path, stat.S_IFCHR | perms, rdev=(major, minor))


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def write_archive(out: BinaryIO, entries: Iterable[Entry], *, mtime: int) -> None:
    """The entries, sorted by path, as a gzip-compressed newc archive into out."""
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0,
                       compresslevel=GZIP_LEVEL) as gz:  # fmt: skip
        offset = 0
        for ino, entry in enumerate(sorted(entries, key=lambda e: e.path), 1):
            offset += _write(gz, _header(entry, ino, mtime), entry.path, entry.data, offset)
        offset += _write(gz, _header(Entry(TRAILER, 0), 0, 0, nlink=1), TRAILER, b"", offset)


def _header(entry: Entry, ino: int, mtime: int, nlink: int | None = None) -> bytes:
    if nlink is None:
        nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = (
        ino,
        entry.mode,
        0,  # uid
        0,  # gid
        nlink,
        mtime,
        len(entry.data),
        0,  # devmajor
        0,  # devminor
        entry.rdev[0],
        entry.rdev[1],
        len(entry.path.encode()) + 1,
        0,  # check
    )
    return MAGIC + b"".join(b"%08X" % f for f in fields)


def _write(out: gzip.GzipFile, header: bytes, path: str, data: bytes, offset: int) -> int:
    """Header, NUL-terminated name and data, each padded to 4 bytes; the bytes written."""
    name = header + path.encode() + b"\0"
    name += b"\0" * (-(offset + len(name)) % 4)
    body = data + b"\0" * (-len(data) % 4)
    out.write(name)
    out.write(body)
    return len(name) + len(body)
