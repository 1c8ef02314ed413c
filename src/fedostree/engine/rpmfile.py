"""A thin wrapper over librpm for reading packages: the header, the payload entries,
the scriptlets and the file triggers."""

from __future__ import annotations

import hashlib
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
    "preun": (rpm.RPMTAG_PREUN, rpm.RPMTAG_PREUNPROG),
    "postun": (rpm.RPMTAG_POSTUN, rpm.RPMTAG_POSTUNPROG),
}
# The two families of file triggers: (name, index, flags, scripts, programs, priorities) tags.
TRIGGER_TAGS = {
    "file": (rpm.RPMTAG_FILETRIGGERNAME, rpm.RPMTAG_FILETRIGGERINDEX,
             rpm.RPMTAG_FILETRIGGERFLAGS, rpm.RPMTAG_FILETRIGGERSCRIPTS,
             rpm.RPMTAG_FILETRIGGERSCRIPTPROG, rpm.RPMTAG_FILETRIGGERPRIORITIES),
    "transfile": (rpm.RPMTAG_TRANSFILETRIGGERNAME, rpm.RPMTAG_TRANSFILETRIGGERINDEX,
                  rpm.RPMTAG_TRANSFILETRIGGERFLAGS, rpm.RPMTAG_TRANSFILETRIGGERSCRIPTS,
                  rpm.RPMTAG_TRANSFILETRIGGERSCRIPTPROG, rpm.RPMTAG_TRANSFILETRIGGERPRIORITIES),
}  # fmt: skip
SENSES = (("in", rpm.RPMSENSE_TRIGGERIN), ("un", rpm.RPMSENSE_TRIGGERUN),
          ("postun", rpm.RPMSENSE_TRIGGERPOSTUN))  # fmt: skip
DEFAULT_TRIGGER_PRIORITY = 1000000  # rpmbuild's, when the spec gives no -P
RPMFILE_GHOST = 1 << 6


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
    name: str  # pre, post, posttrans, preun, postun
    program: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class FileTrigger:
    """One %filetrigger*/%transfiletrigger* of a package. index is its number among the
    package's triggers of its family (file or transfile), which rpm sorts by after the
    priority; prefixes are in header order (rpmbuild sorts them, whatever the spec's)."""

    package: str
    kind: str  # filetriggerin, filetriggerun, ..., transfiletriggerpostun
    index: int
    prefixes: tuple[str, ...]
    program: str  # rpm gives a trigger one interpreter, without arguments
    body: str  # "" for `-p PROGRAM` with no script: rpm still passes an (empty) script file
    priority: int

    @property
    def family(self) -> str:
        return "transfile" if self.kind.startswith("trans") else "file"

    @property
    def sense(self) -> str:
        return self.kind.removeprefix("trans").removeprefix("filetrigger")


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


# rpm's PGPHASHALGO_* numbers, as RPMTAG_PAYLOADDIGESTALGO gives them, as hashlib names.
_HASHES = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_LEAD_SIZE = 96


def digest_problem(path: Path) -> str | None:
    """What is wrong with the package's own digests, or None when they hold: librpm
    checks the header's digests as it reads it; the compressed payload is hashed here and
    compared with the header's payload digest, or, in a package older than rpm 4.14, the
    signature's MD5 over header and payload (rpm -K checks the same)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            hdr = _transaction_set().hdrFromFdno(fd)
        except rpm.error as e:
            return f"bad header: {e}"
        payload_start = os.lseek(fd, 0, os.SEEK_CUR)
        expected = hdr[rpm.RPMTAG_PAYLOADDIGEST]
        algo = _HASHES.get(hdr[rpm.RPMTAG_PAYLOADDIGESTALGO] or 0)
        if expected and algo:
            if _hash_from(fd, payload_start, algo).hex() != expected[0]:
                return "payload digest mismatch"
            return None
        md5 = hdr[rpm.RPMTAG_SIGMD5]
        if md5 and _hash_from(fd, _signature_end(fd), "md5") != md5:
            return "MD5 digest mismatch"
        return None
    finally:
        os.close(fd)


def _signature_end(fd: int) -> int:
    """Where the main header starts: after the lead and the signature header (whose
    data is padded to 8 bytes)."""
    count, size = struct.unpack(">ii", os.pread(fd, 8, _LEAD_SIZE + 8))
    end = _LEAD_SIZE + 16 + 16 * count + size
    return end + (-end) % 8


def _hash_from(fd: int, offset: int, algo: str) -> bytes:
    h = hashlib.new(algo)
    while chunk := os.pread(fd, 1 << 20, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.digest()


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


def file_triggers_of(hdr: rpm.hdr) -> list[FileTrigger]:
    """Every file trigger of the package, file triggers first, each family by index."""
    out = []
    for family, (
        name_tag,
        index_tag,
        flags_tag,
        script_tag,
        prog_tag,
        prio_tag,
    ) in TRIGGER_TAGS.items():
        names, indexes, flags = hdr[name_tag], hdr[index_tag], hdr[flags_tag]
        scripts, programs, priorities = hdr[script_tag], hdr[prog_tag], hdr[prio_tag]
        for index, program in enumerate(programs):
            entries = [(n, f) for n, i, f in zip(names, indexes, flags, strict=True) if i == index]
            if not entries:
                continue
            # rpm reads the sense of a trigger from its first condition
            sense = next((s for s, bit in SENSES if entries[0][1] & bit), None)
            if sense is None:
                continue
            priority = priorities[index] if index < len(priorities) else DEFAULT_TRIGGER_PRIORITY
            body = scripts[index] if index < len(scripts) else ""
            out.append(FileTrigger(hdr["name"], f"{family}trigger{sense}", index,
                                   tuple(n for n, _ in entries), program, body or "", priority))  # fmt: skip
    return out


def file_list(hdr: rpm.hdr) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """The package's paths in header order (sorted, as rpm searches them), its directory
    names (as rpm's index of them, with a trailing slash) and its %ghost paths."""
    names = tuple(hdr[rpm.RPMTAG_FILENAMES] or ())
    flags = hdr[rpm.RPMTAG_FILEFLAGS] or [0] * len(names)
    ghosts = frozenset(n for n, f in zip(names, flags, strict=True) if f & RPMFILE_GHOST)
    return names, tuple(hdr[rpm.RPMTAG_DIRNAMES] or ()), ghosts


def file_links(hdr: rpm.hdr) -> list[tuple[str, str]]:
    """Each file's path with its symlink target ("" for anything but a symlink)."""
    names = hdr[rpm.RPMTAG_FILENAMES] or []
    links = hdr[rpm.RPMTAG_FILELINKTOS] or [""] * len(names)
    return list(zip(names, links, strict=True))
