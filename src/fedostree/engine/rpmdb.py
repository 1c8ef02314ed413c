"""Writing a tree's rpmdb with librpm, from the headers kept in the package cache."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import rpm

from fedostree.engine.reproducible import pinned_time, source_date_epoch
from fedostree.engine.rpmfile import header_from_blob
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


def write_rpmdb(
    rootfs: Path,
    header_blobs: Sequence[bytes],
    *,
    erase: Sequence[str] = (),
    epoch: int | None = None,
) -> None:
    """Record each package in rootfs/usr/share/rpm (and forget the NEVRAs in erase), as
    `rpm --justdb` would. An existing database is added to; its files must be private
    to rootfs (not hardlinks into a repository). Reproducible: the packages are recorded
    in NEVRA order, installed at `epoch` (default: engine/reproducible.py's build time)."""
    (rootfs / DBPATH).mkdir(parents=True, exist_ok=True)
    if epoch is None:
        epoch = source_date_epoch(header_blobs)
    header_blobs = sorted(header_blobs, key=lambda b: str(header_from_blob(b)["nevra"]))
    with (
        _macros(_dbpath="/" + DBPATH, _pkgverify_level="none", _db_backend="sqlite"),
        pinned_time(epoch),
    ):
        ts = rpm.TransactionSet(_root(rootfs))
        ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
        ts.setFlags(_FLAGS)
        ts.setProbFilter(_PROBLEM_FILTER)
        fds: dict[int, int] = {}
        for i, blob in enumerate(header_blobs):
            fds[i] = _memfd(blob)
            ts.addInstall(ts.hdrFromFdno(_rewound(fds[i])), i, "i")
        erasing = set(erase)
        for hdr in ts.dbMatch():
            if hdr["nevra"] in erasing:
                ts.addErase(hdr)
        problems = ts.run(lambda what, _a, _t, key, _d: _callback(what, key, fds), None)
        ts.closeDB()
        for fd in fds.values():
            os.close(fd)
    if problems:
        raise FedostreeError(f"writing the rpmdb failed: {problems[0][0]}")
    for leftover in (".rpm.lock", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"):
        (rootfs / DBPATH / leftover).unlink(missing_ok=True)


def read_header_blobs(rootfs: Path) -> list[bytes]:
    """The headers of the packages rootfs's rpmdb lists, unloaded (rpmfile's
    header_from_blob reads them back; rootfs must be writable: sqlite
    may leave its -shm and -wal files, removed here)."""
    with _macros(_dbpath="/" + DBPATH, _db_backend="sqlite"):
        ts = rpm.TransactionSet(_root(rootfs))
        ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
        blobs = [h.unload() for h in ts.dbMatch()]
        ts.closeDB()
    for leftover in (".rpm.lock", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"):
        (rootfs / DBPATH / leftover).unlink(missing_ok=True)
    return blobs


def _root(rootfs: Path) -> str:
    """librpm ignores a relative root and would use the host's database instead."""
    return str(rootfs.absolute())


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
        ts = rpm.TransactionSet(_root(rootfs))
        names = sorted(h["nevra"] for h in ts.dbMatch())
        ts.closeDB()
    return names
