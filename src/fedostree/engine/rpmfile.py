"""A thin wrapper over librpm for reading packages: the header, the payload entries,
and the scriptlets."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import rpm

from fedostree.errors import FedostreeError

SCRIPTLETS = {
    # name: (script tag, program tag)
    "pre": (rpm.RPMTAG_PREIN, rpm.RPMTAG_PREINPROG),
    "post": (rpm.RPMTAG_POSTIN, rpm.RPMTAG_POSTINPROG),
    "posttrans": (rpm.RPMTAG_POSTTRANS, rpm.RPMTAG_POSTTRANSPROG),
}


@dataclass(frozen=True)
class PayloadEntry:
    path: str
    mode: int
    user: str
    group: str
    linkto: str
    data: bytes


@dataclass(frozen=True)
class Scriptlet:
    package: str
    name: str  # pre, post, posttrans
    program: tuple[str, ...]
    body: str


def _transaction_set() -> rpm.TransactionSet:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    return ts


def read_header_blob(path: Path) -> bytes:
    """The package's lead, signature and header: a header-only RPM, enough for the rpmdb."""
    fd = os.open(path, os.O_RDONLY)
    try:
        _read_header(fd, path)
        end = os.lseek(fd, 0, os.SEEK_CUR)
        return os.pread(fd, end, 0)
    finally:
        os.close(fd)


# A header-only RPM image as libsolv's rpm parser takes it: a lead, an empty signature
# header (librpm would refuse that; libsolv does not), then the header itself.
_LEAD = (
    b"\xed\xab\xee\xdb\x03\x00"
    + struct.pack(">hh", 0, 1)
    + bytes(66)
    + struct.pack(">hh", 1, 5)
    + bytes(16)
)
_HEADER_MAGIC = b"\x8e\xad\xe8\x01\x00\x00\x00\x00"
_EMPTY_SIGNATURE = _HEADER_MAGIC + struct.pack(">ii", 0, 0)


def solv_image(blob: bytes) -> bytes:
    """A header blob (either kind header_from_blob reads) as libsolv reads a package."""
    if blob.startswith(_LEAD[:4]):
        return blob
    return _LEAD + _EMPTY_SIGNATURE + _HEADER_MAGIC + blob


def header_from_blob(blob: bytes) -> rpm.hdr:
    """Read back a header stored by read_header_blob, or one unloaded from an rpmdb."""
    if not blob.startswith(_LEAD[:4]):
        try:
            return rpm.hdr(blob)
        except rpm.error as e:
            raise FedostreeError(f"<rpmdb header>: not a valid header: {e}") from e
    fd = os.memfd_create("rpm-header")
    try:
        os.write(fd, blob)
        os.lseek(fd, 0, os.SEEK_SET)
        return _read_header(fd, Path("<cached header>"))
    finally:
        os.close(fd)


def _read_header(fd: int, path: Path) -> rpm.hdr:
    try:
        return _transaction_set().hdrFromFdno(fd)
    except rpm.error as e:
        raise FedostreeError(f"{path.name}: not a valid RPM: {e}") from e


def iter_payload(path: Path) -> Iterator[PayloadEntry]:
    """Every file in the payload, in archive order; hardlinked files each get the content."""
    fd = os.open(path, os.O_RDONLY)
    try:
        hdr = _read_header(fd, path)
        payload = rpm.fd(fd, "r", hdr["payloadcompressor"] or "gzip")
        archive = rpm.files(hdr).archive(payload)
        waiting: list[rpm.file] = []
        for f in archive:
            if not rpm_is_regular(f.mode) or f.nlink == 1:
                yield _entry(f, archive.read() if rpm_is_regular(f.mode) else b"")
            elif not archive.hascontent():
                waiting.append(f)
            else:
                data = archive.read()
                for other in (*waiting, f):
                    yield _entry(other, data)
                waiting = []
    except rpm.error as e:
        raise FedostreeError(f"{path.name}: cannot read payload: {e}") from e
    finally:
        os.close(fd)


def rpm_is_regular(mode: int) -> bool:
    return (mode & 0o170000) == 0o100000


def _entry(f: rpm.file, data: bytes) -> PayloadEntry:
    return PayloadEntry(f.name, f.mode, f.user, f.group, f.linkto or "", data)


def scriptlets_of(hdr: rpm.hdr) -> list[Scriptlet]:
    out = []
    for name, (script_tag, prog_tag) in SCRIPTLETS.items():
        body, prog = hdr[script_tag], hdr[prog_tag]
        if body is None and not prog:
            continue
        program = tuple(prog) if isinstance(prog, list) else ((prog,) if prog else ("/bin/sh",))
        out.append(Scriptlet(hdr["name"], name, program, body or ""))
    return out


def file_links(hdr: rpm.hdr) -> list[tuple[str, str]]:
    """Each file's path with its symlink target ("" for anything but a symlink)."""
    names = hdr[rpm.RPMTAG_FILENAMES] or []
    links = hdr[rpm.RPMTAG_FILELINKTOS] or [""] * len(names)
    return list(zip(names, links, strict=True))
