"""The build time of a reproducible tree: `SOURCE_DATE_EPOCH` when it is set, otherwise
the newest package's build time, so that the same packages give the same bytes (the
rpmdb's install times and transaction ids are taken from it, and scriptlets see it); and
the umask a tree is assembled with, whatever the caller's, so that the files and
directories the build, its scriptlets and its postprocessing create get the same modes."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence

from fedostree.engine.rpmfile import header_from_blob
from fedostree.errors import ConfigError

ENV = "SOURCE_DATE_EPOCH"
BUILD_UMASK = 0o022  # rpm-ostree's, as systemd gives a service


def source_date_epoch(header_blobs: Sequence[bytes]) -> int:
    """SOURCE_DATE_EPOCH from the environment, else the newest package's build time."""
    raw = os.environ.get(ENV)
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{ENV}={raw!r}: not a number of seconds") from None
    return max((int(header_from_blob(b)["buildtime"] or 0) for b in header_blobs), default=0)


_callers: list[str | None] = []  # SOURCE_DATE_EPOCH as it was before each pinned_time


@contextlib.contextmanager
def pinned_time(epoch: int) -> Iterator[None]:
    """SOURCE_DATE_EPOCH set for librpm (install times and transaction ids) meanwhile."""
    saved = os.environ.get(ENV)
    _callers.append(saved)
    os.environ[ENV] = str(epoch)
    try:
        yield
    finally:
        _callers.pop()
        if saved is None:
            del os.environ[ENV]
        else:
            os.environ[ENV] = saved


def build_epoch() -> int:
    """The epoch the build runs at: SOURCE_DATE_EPOCH (pinned_time sets it for the
    build, as for its scriptlets); 0 when it is not set."""
    raw = os.environ.get(ENV)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        raise ConfigError(f"{ENV}={raw!r}: not a number of seconds") from None


def commit_time() -> int:
    """When a commit is dated: now, or SOURCE_DATE_EPOCH when the caller set it (not the
    build's own pinned epoch: libostree would take that, and a compose would be dated by
    its newest package)."""
    raw = _callers[0] if _callers else os.environ.get(ENV)
    return int(raw) if raw is not None else int(time.time())


@contextlib.contextmanager
def reproducible_build(epoch: int) -> Iterator[None]:
    """The time pinned to epoch and the umask to BUILD_UMASK meanwhile (both are the
    process's: one build at a time)."""
    saved = os.umask(BUILD_UMASK)
    try:
        with pinned_time(epoch):
            yield
    finally:
        os.umask(saved)
