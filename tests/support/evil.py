"""Crafting RPMs that rpmbuild refuses to make: a payload path with a `..` component.

rpmbuild normalizes file paths, so the package is built with an uncompressed payload
holding `/usr/xx/...`, and then the same-length bytes `/usr/xx/` are rewritten to
`/usr/../` in both the header (dirnames) and the cpio payload. The digests are then
recomputed in place (they keep their length), so librpm reads the package as valid:
the main header's payload digests, and the signature header's SHA256 and SHA1 (hex,
over the main header) and MD5 (binary, over the main header and the payload)."""

from __future__ import annotations

import hashlib
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.rpms import Pkg, build_rpms

LEAD_SIZE = 96
HEADER_MAGIC = b"\x8e\xad\xe8\x01\x00\x00\x00\x00"
RPM_STRING, RPM_BIN, RPM_STRING_ARRAY = 6, 7, 8
SIGTAG_SHA1, SIGTAG_SHA256, SIGTAG_MD5 = 269, 273, 1004
TAG_PAYLOADDIGEST, TAG_PAYLOADDIGESTALT = 5092, 5097
PLACEHOLDER, CLIMB = b"/usr/xx/", b"/usr/../"


@dataclass(frozen=True)
class _Header:
    start: int  # offset of the header's magic in the file
    end: int  # offset just past its data store
    store: int  # offset of its data store
    index: dict[int, tuple[int, int, int]]  # tag -> (type, offset in store, count)


def _parse_header(data: bytes | bytearray, start: int) -> _Header:
    if data[start : start + 8] != HEADER_MAGIC:
        raise ValueError(f"no RPM header magic at offset {start}")
    nindex, hsize = struct.unpack(">II", data[start + 8 : start + 16])
    store = start + 16 + 16 * nindex
    index = {}
    for i in range(nindex):
        tag, kind, offset, count = struct.unpack(
            ">IIiI", data[start + 16 + 16 * i : start + 32 + 16 * i]
        )
        index[tag] = (kind, offset, count)
    return _Header(start, store + hsize, store, index)


def _layout(data: bytes | bytearray) -> tuple[_Header, _Header]:
    sig = _parse_header(data, LEAD_SIZE)
    main_start = sig.end + (-sig.end % 8)
    return sig, _parse_header(data, main_start)


def _put(data: bytearray, header: _Header, tag: int, value: bytes) -> None:
    """Overwrite a tag's value in place; the new value must have the same length."""
    kind, offset, count = header.index[tag]
    at = header.store + offset
    if kind == RPM_BIN:
        old_len = count
    elif kind in (RPM_STRING, RPM_STRING_ARRAY):
        if count != 1:
            raise ValueError(f"tag {tag}: expected one string, got {count}")
        old_len = data.index(b"\0", at) - at
    else:
        raise ValueError(f"tag {tag}: unexpected type {kind}")
    if len(value) != old_len:
        raise ValueError(f"tag {tag}: new value is {len(value)} bytes, not {old_len}")
    data[at : at + old_len] = value


def recompute_digests(data: bytearray) -> None:
    """Make every digest of the package match its (edited) header and payload."""
    sig, main = _layout(data)
    payload = bytes(data[main.end :])
    for tag in (TAG_PAYLOADDIGEST, TAG_PAYLOADDIGESTALT):
        if tag in main.index:  # uncompressed: both digests cover the same bytes
            _put(data, main, tag, hashlib.sha256(payload).hexdigest().encode())
    header = bytes(data[main.start : main.end])
    _put(data, sig, SIGTAG_SHA256, hashlib.sha256(header).hexdigest().encode())
    _put(data, sig, SIGTAG_SHA1, hashlib.sha1(header).hexdigest().encode())
    _put(data, sig, SIGTAG_MD5, hashlib.md5(header + payload).digest())


def build_climbing_rpm(outdir: Path, workdir: Path, name: str = "evil") -> Path:
    """An RPM whose payload holds `/usr/../<name>`: a path that climbs with `..`."""
    pkg = Pkg(name, files={f"/usr/xx/{name}": "pwned\n"})
    (path,) = build_rpms([pkg], outdir, workdir, payload="w.ufdio")
    data = bytearray(path.read_bytes())
    _, main = _layout(data)
    header_part, payload_part = data[main.start : main.end], data[main.end :]
    if header_part.count(PLACEHOLDER) != 1 or payload_part.count(b"." + PLACEHOLDER) != 1:
        raise ValueError(f"{path}: expected {PLACEHOLDER!r} once in the header and the payload")
    data[main.start :] = header_part.replace(PLACEHOLDER, CLIMB) + payload_part.replace(
        b"." + PLACEHOLDER, b"." + CLIMB
    )
    recompute_digests(data)
    path.write_bytes(data)
    return path


def rpm_file_list(path: Path) -> list[str]:
    """What `rpm -qpl` lists, after `rpm -K` has checked every digest."""
    subprocess.run(["rpm", "-K", "--nosignature", str(path)], check=True, capture_output=True)
    r = subprocess.run(["rpm", "-qpl", str(path)], check=True, capture_output=True, text=True)
    return r.stdout.split()
