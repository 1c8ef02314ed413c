"""Writing a tree's rpmdb with librpm, from the headers kept in the package cache."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import rpm

from fedostree.errors import FedostreeError

DBPATH = "usr/share/rpm"
_FLAGS = (
    rpm.RPMTRANS_FLAG_JUSTDB
    | rpm.RPMTRANS_FLAG_NOSCRIPTS
    | rpm.RPMTRANS_FLAG_NOTRIGGERS
    | rpm.RPMTRANS_FLAG_NOPLUGINS
)
_PROBLEM_FILTER = (
    rpm.RPMPROB_FILTER_IGNOREOS
    | rpm.RPMPROB_FILTER_IGNOREARCH
    | rpm.RPMPROB_FILTER_DISKSPACE
    | rpm.RPMPROB_FILTER_DISKNODES
    | rpm.RPMPROB_FILTER_REPLACENEWFILES
    | rpm.RPMPROB_FILTER_REPLACEOLDFILES
)


@contextlib.contextmanager
def _macros(**values: str) -> Iterator[None]:
    for name, value in values.items():
        rpm.addMacro(name, value)
    try:
        yield
    finally:
        for name in values:
            rpm.delMacro(name)


def write_rpmdb(rootfs: Path, header_blobs: Sequence[bytes]) -> None:
    """Record each package in rootfs/usr/share/rpm, as `rpm --justdb` would."""
    (rootfs / DBPATH).mkdir(parents=True, exist_ok=True)
    with _macros(_dbpath="/" + DBPATH, _pkgverify_level="none", _db_backend="sqlite"):
        ts = rpm.TransactionSet(str(rootfs))
        ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
        ts.setFlags(_FLAGS)
        ts.setProbFilter(_PROBLEM_FILTER)
        fds: dict[int, int] = {}
        for i, blob in enumerate(header_blobs):
            fds[i] = _memfd(blob)
            ts.addInstall(ts.hdrFromFdno(_rewound(fds[i])), i, "i")
        problems = ts.run(lambda what, _a, _t, key, _d: _callback(what, key, fds), None)
        ts.closeDB()
        for fd in fds.values():
            os.close(fd)
    if problems:
        raise FedostreeError(f"writing the rpmdb failed: {problems[0][0]}")
    for leftover in (".rpm.lock", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"):
        (rootfs / DBPATH / leftover).unlink(missing_ok=True)


def _callback(what: int, key: int, fds: dict[int, int]) -> int | None:
    if what == rpm.RPMCALLBACK_INST_OPEN_FILE:
        return _rewound(fds[key])
    return None


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("rpm-header")
    os.write(fd, data)
    return fd


def _rewound(fd: int) -> int:
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def list_rpmdb(rootfs: Path) -> list[str]:
    """The NEVRAs the tree's rpmdb lists."""
    with _macros(_dbpath="/" + DBPATH):
        ts = rpm.TransactionSet(str(rootfs))
        names = sorted(h["nevra"] for h in ts.dbMatch())
        ts.closeDB()
    return names
