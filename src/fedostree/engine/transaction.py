"""TEMPORARY SHIM (replaced by the triggers branch)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from fedostree.engine.pkgcache import CachedPackage, translate_path
from fedostree.engine.rpmfile import header_from_blob
from fedostree.engine.scriptlets import run_scriptlets


def run_install(
    rootfs: Path,
    added: Sequence[CachedPackage],
    *,
    installed: Sequence[bytes] = (),
    ignore: Iterable[str] = (),
    etc_in_usr: bool = False,
) -> None:
    link = os.readlink(rootfs / "tmp") if (rootfs / "tmp").is_symlink() else None
    if etc_in_usr:
        os.rename(rootfs / "usr/etc", rootfs / "etc")
    if link:
        (rootfs / "tmp").unlink()
        (rootfs / "tmp").mkdir()
    try:
        run_scriptlets(rootfs, added, ignore)
    finally:
        if etc_in_usr:
            os.rename(rootfs / "etc", rootfs / "usr/etc")
        if link:
            (rootfs / "tmp").rmdir()
            (rootfs / "tmp").symlink_to(link)


def run_erase(
    rootfs: Path,
    removed: Sequence[bytes],
    *,
    remaining: Sequence[bytes],
    ignore: Iterable[str] = (),
    etc_in_usr: bool = False,
) -> None:
    kept = {f for b in remaining for f in header_from_blob(b)["filenames"]}
    for b in removed:
        for f in sorted(header_from_blob(b)["filenames"], reverse=True):
            if f in kept:
                continue
            rel = translate_path(f.lstrip("/"))
            if etc_in_usr and rel.split("/")[0] == "etc":
                rel = "usr/" + rel
            p = rootfs / rel
            if p.is_symlink() or p.is_file():
                p.unlink()
            elif p.is_dir():
                with contextlib.suppress(OSError):
                    p.rmdir()
