"""Downloading RPMs in parallel with librepo, checksums verified, into a cache that
only ever holds complete, verified files."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import librepo

from fedostree.engine.depsolve import Package
from fedostree.engine.progress import Progress
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import librepo_message, remote_handle
from fedostree.errors import FedostreeError

PARALLEL = 8


def cached_rpm_path(cachedir: Path, pkg: Package) -> Path:
    return cachedir / "rpms" / pkg.sha256[:2] / f"{pkg.sha256[2:]}-{Path(pkg.location).name}"


def download_packages(packages: Sequence[Package], cachedir: Path) -> dict[str, Path]:
    """Make each package's RPM present and verified in the cache; return nevra -> path."""
    paths = {p.nevra: cached_rpm_path(cachedir, p) for p in packages}
    wanted = [p for p in packages if not _is_valid(paths[p.nevra], p)]
    if wanted:
        _fetch(wanted, paths, cachedir)
    return paths


def _is_valid(path: Path, pkg: Package) -> bool:
    return path.is_file() and sha256_file(path) == pkg.sha256


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fetch(packages: Sequence[Package], paths: dict[str, Path], cachedir: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=_ensure(cachedir)))
    failures: dict[str, str] = {}  # nevra -> why the last mirror failed
    try:
        with Progress(
            "Downloading", total=sum(p.download_size for p in packages), unit="bytes"
        ) as bar:
            handles: dict[RepoConfig, librepo.Handle] = {}
            targets = [_target(p, staging, bar, failures, handles) for p in packages]
            try:
                librepo.download_packages(targets, failfast=True)
            except librepo.LibrepoException as e:
                raise _download_error(packages, failures, e) from e
            for pkg, target in zip(packages, targets, strict=True):
                if target.err:
                    raise FedostreeError(
                        f"{pkg.nevra} ({pkg.repo_id}): download failed: "
                        f"{failures.get(pkg.nevra, target.err)}"
                    )
        for pkg, target in zip(packages, targets, strict=True):
            dest = paths[pkg.nevra]
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target.dest, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download_error(
    packages: Sequence[Package], failures: dict[str, str], e: librepo.LibrepoException
) -> FedostreeError:
    """librepo's own message only says that every mirror failed; the failures say why."""
    for pkg in packages:
        if pkg.nevra in failures:
            return FedostreeError(
                f"{pkg.nevra} ({pkg.repo_id}): download failed: {failures[pkg.nevra]}"
            )
    return FedostreeError(f"download failed: {e.args[1] if len(e.args) > 1 else e}")


def _handle(repo: RepoConfig) -> librepo.Handle:
    """One handle per repository, so librepo bounds the parallel downloads to each and
    fetches its metalink or mirrorlist once; a failing mirror is skipped for the next."""
    handle = remote_handle(repo)
    handle.setopt(librepo.LRO_MAXPARALLELDOWNLOADS, PARALLEL)
    return handle


def _target(
    pkg: Package,
    staging: Path,
    bar: Progress,
    failures: dict[str, str],
    handles: dict[RepoConfig, librepo.Handle],
) -> librepo.PackageTarget:
    if pkg.repo not in handles:
        handles[pkg.repo] = _handle(pkg.repo)
    handle = handles[pkg.repo]
    done = {"n": 0}

    def progress(_data: object, _total: float, now: float) -> int:
        bar.advance(int(now) - done["n"])
        done["n"] = int(now)
        return librepo.CB_OK

    def mirror_failure(_data: object, message: str, url: str) -> int:
        failures[pkg.nevra] = librepo_message(message, url)
        return librepo.CB_OK

    return librepo.PackageTarget(
        pkg.location,
        handle=handle,
        dest=str(staging / f"{pkg.sha256}.rpm"),
        checksum_type=librepo.SHA256,
        checksum=pkg.sha256,
        expectedsize=pkg.download_size or 0,
        progresscb=progress,
        mirrorfailurecb=mirror_failure,
    )


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
