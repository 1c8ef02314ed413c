"""The distribution-scale package universe: a real rpm-md repository synthesized from the
real CentOS Stream 9 BaseOS metadata (1125 packages from 385 source packages, 93,617
file list entries, 2.72 GB = 2.53 GiB installed), with every package's NEVRA,
dependencies (rich and weak ones included), file list and comps groups kept, and
payload bytes adding up to scale x its real installed size. At scale 1.0 it builds in
about 35 s on 2 cores into 1.1 GB of zstd-compressed RPMs; at 0.001 in about 15 s.

Built once per (generator version, scale, source repomd.xml) under a cache root, in a
staging directory renamed into place: an interrupted build leaves no cache entry."""

from __future__ import annotations

import fcntl
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from fedostree.bench import CENTOS_DATA
from fedostree.bench.metadata import SourceRepo, load_packages, open_source
from fedostree.bench.payload import stage_build
from fedostree.bench.plan import Build, plan_builds
from fedostree.bench.spec import render_spec
from fedostree.errors import FedostreeError
from fedostree.sample.universe import RPMBUILD_DEFINES as SAMPLE_RPMBUILD_DEFINES
from fedostree.sample.universe import run_command, staging_dir, tool_environment

# Bump whenever the generated repository changes for the same inputs.
GENERATOR_VERSION = 4  # 4: real content for the files the compose reads or runs (payload.py)
SYNTHESIZED_CONTENT = True  # every file's bytes are generated, /etc/passwd and /bin/sh too
DEFAULT_SOURCE = CENTOS_DATA / "baseos-2022-02"
INFO_FILE = "universe.json"
SCRATCH_BASE = Path("/dev/shm")
SCRATCH_MARGIN = 64 << 20
PAYLOAD_COMPRESSION = "w1.zstdio"  # fast to build, realistic to decompress
# The sample universe's reproducible build settings (without its build host name), with a
# faster payload compressor and no more work than the synthesized packages need.
RPMBUILD_DEFINES = {
    **{k: v for k, v in SAMPLE_RPMBUILD_DEFINES.items() if k != "_buildhost"},
    "_binary_payload": PAYLOAD_COMPRESSION,
    # Builds run in parallel already: rpm's own OpenMP threads would only spin.
    "_smp_build_nthreads": "1",
    # The buildroot holds exactly the listed files; skip the find/sort/diff that checks it.
    "__check_files": "%{nil}",
}

_STANDARD = ["@core", "@standard", "kernel"]
_SERVER = [*_STANDARD, "@server-product", "@headless-management", "@hardware-support",
           "@system-tools"]  # fmt: skip
_WORKSTATION = [*_STANDARD, "@workstation-product", "@hardware-support", "@fonts"]
# Six trees in the spirit of the original fedostree ones; bigger ones include smaller ones.
TREES: dict[str, list[str]] = {
    "minimal": ["@core", "kernel"],
    "standard": _STANDARD,
    "server": _SERVER,
    "file-server": [*_SERVER, "@file-server", "@smb-server", "@network-file-system-client"],
    "workstation": _WORKSTATION,
    "workstation-dev": [*_WORKSTATION, "@gnome-desktop", "@networkmanager-submodules",
                        "@dial-up", "@smart-card", "@performance", "@development",
                        "@large-systems"],
}  # fmt: skip


def build_universe(
    cache_root: Path, *, scale: float, source: Path | None = None, jobs: int | None = None
) -> Path:
    """The rpm-md repository (a directory holding repodata/) for scale, built unless cached."""
    repo = open_source(source or DEFAULT_SOURCE)
    dest = universe_path(cache_root, scale=scale, source=repo)
    if is_complete(dest):
        return dest
    check_tools()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(dest.with_name(f".{dest.name}.lock")):
        if is_complete(dest):
            return dest
        remove_leftovers(dest)
        with staging_dir(dest) as staging:
            build_repo(repo, scale, staging / "repo", jobs or os.cpu_count() or 1)
            (staging / "repo").rename(dest)
    return dest


def universe_path(
    cache_root: Path, *, scale: float, source: Path | SourceRepo | None = None
) -> Path:
    """Where build_universe keeps the repository for these inputs."""
    check_scale(scale)
    repo = source if isinstance(source, SourceRepo) else open_source(source or DEFAULT_SOURCE)
    key = f"universe-v{GENERATOR_VERSION}-scale{float(scale)!r}-{repo.revision[:16]}"
    return Path(cache_root).absolute() / key


def is_complete(dest: Path) -> bool:
    return (dest / INFO_FILE).is_file() and (dest / "repodata" / "repomd.xml").is_file()


def check_scale(scale: float) -> None:
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale >= 0):
        raise FedostreeError(f"scale must be a finite number >= 0, not {scale!r}")


def check_tools() -> None:
    for tool in ("rpmbuild", "createrepo_c"):
        if shutil.which(tool) is None:
            raise FedostreeError(f"building the benchmark universe needs {tool} (run `make setup`)")


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Serialize builders of the same cache entry (another process may be building it)."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def remove_leftovers(dest: Path) -> None:
    """Staging directories of builds that were interrupted (we hold the lock)."""
    for path in dest.parent.glob(f".{dest.name}.*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def scratch_dir(fallback: Path, needed: int) -> Iterator[Path]:
    """Where buildroots are staged: in memory when /dev/shm has room for needed bytes,
    because removing tens of thousands of files from a disk mounted with `discard`
    takes minutes; else below fallback."""
    base = fallback
    if SCRATCH_BASE.is_dir() and os.access(SCRATCH_BASE, os.W_OK):
        fs = os.statvfs(SCRATCH_BASE)
        base = SCRATCH_BASE if fs.f_bavail * fs.f_frsize > needed else fallback
    work = Path(tempfile.mkdtemp(prefix="fedostree-universe-", dir=base))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- building -------------------------------------------------------------------------------


def build_repo(source: SourceRepo, scale: float, repo: Path, jobs: int) -> None:
    """Build every package into repo/Packages, then the rpm-md metadata with the comps."""
    started = time.monotonic()
    packages = load_packages(source)
    builds = plan_builds(packages, scale)
    (repo / "Packages").mkdir(parents=True)
    needed = jobs * max((b.staged_bytes for b in builds), default=0) + SCRATCH_MARGIN
    with scratch_dir(repo.parent, needed) as work:
        run_builds(builds, work, repo / "Packages", jobs)
        comps = work / "comps.xml"
        comps.write_bytes(source.comps_xml())
        revision = max((p.buildtime for p in packages), default=0)
        run_createrepo(repo, comps if comps.stat().st_size else None, revision, jobs)
    info = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale,
        "source": str(source.path),
        "source_repomd_sha256": source.revision,
        "packages": len(packages),
        "rpmbuild_runs": len(builds),
        "payload_bytes": sum(p.payload_bytes for b in builds for p in b.packages),
        "build_seconds": round(time.monotonic() - started, 1),
    }
    (repo / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")


def run_builds(builds: Sequence[Build], work: Path, rpmdir: Path, jobs: int) -> None:
    """Run the builds in jobs processes; the first failure stops the rest."""
    if jobs <= 1:
        for build in builds:
            build_rpms(build, work, rpmdir)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(build_rpms, build, work, rpmdir) for build in builds]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            pool.shutdown(wait=True, cancel_futures=True)
            failed[0].result()


def build_rpms(build: Build, work: Path, rpmdir: Path) -> list[Path]:
    """Stage, render and rpmbuild one build; return its RPMs (in rpmdir)."""
    top = work / build.id
    stage = top / "stage"
    stage_build(build, stage)
    spec = top / "package.spec"
    spec.write_text(render_spec(build), encoding="utf-8")
    buildtime = max(p.real.buildtime for p in build.packages)
    run_rpmbuild(spec, stage, rpmdir, build, buildtime)
    rpms = [rpmdir / rpm_filename(p.real.name, p.real.vr, p.real.arch) for p in build.packages]
    missing = [rpm.name for rpm in rpms if not rpm.is_file()]
    if missing:
        raise FedostreeError(f"{build.id}: rpmbuild did not write {', '.join(missing[:5])}")
    for rpm in rpms:
        os.utime(rpm, (buildtime, buildtime))
    shutil.rmtree(top)
    return rpms


def rpm_filename(name: str, vr: str, arch: str) -> str:
    return f"{name}-{vr}.{arch}.rpm"


def run_rpmbuild(spec: Path, stage: Path, rpmdir: Path, build: Build, buildtime: int) -> None:
    """Package the staged tree as the buildroot; rpmbuild's own files go beside the spec."""
    top = spec.parent
    for sub in ("BUILD", "SOURCES", "SPECS", "SRPMS", "tmp"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    defines = {
        **RPMBUILD_DEFINES,
        "_buildhost": build.packages[0].real.buildhost or "fedostree-bench",
        "_topdir": str(top),
        "_tmppath": str(top / "tmp"),
        "_rpmdir": str(rpmdir),
    }
    target = "i686" if build.arch == "i686" else "x86_64"
    argv = ["rpmbuild", "-bb", "--nodeps", "--noclean", "--quiet", "--target", target]
    argv += ["--buildroot", str(stage)]
    argv += [arg for key, value in defines.items() for arg in ("--define", f"{key} {value}")]
    env = {**tool_environment(top), "SOURCE_DATE_EPOCH": str(buildtime)}
    run_command([*argv, str(spec)], cwd=top, env=env)


def run_createrepo(repo: Path, comps: Path | None, revision: int, jobs: int) -> None:
    argv = ["createrepo_c", "--quiet", "--no-database", "--revision", str(revision),
            "--set-timestamp-to-revision", "--workers", str(jobs)]  # fmt: skip
    argv += ["--groupfile", str(comps)] if comps else []
    run_command([*argv, str(repo)], env=tool_environment(repo))
