"""Assembling a root filesystem from cached packages: a union hardlink checkout, then
the scriptlets in a sandbox. Shared by the compose server and client-side layering."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from fedostree.core import ostree as ot
from fedostree.core.ostree import OSTree
from fedostree.core.passwd import group_ids, read_group, read_passwd, user_ids
from fedostree.core.pkgcache import CachedPackage
from fedostree.core.progress import Progress
from fedostree.core.rootfs import check_symlinked_dirs
from fedostree.core.rpmfile import Scriptlet, file_links, header_from_blob, scriptlets_of
from fedostree.core.sandbox import SCRIPT_PATH, Job, JobFailure, Sandbox
from fedostree.errors import ConfigError, FedostreeError

log = logging.getLogger(__name__)
LUA = "<lua>"
FILESYSTEM = "filesystem"  # the package that lays out the top-level directories


class ScriptletError(FedostreeError):
    pass


def checkout_packages(
    repo: OSTree.Repo,
    packages: Sequence[CachedPackage],
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
) -> None:
    """Union-checkout every package in install order; later files replace earlier ones.
    `filesystem` goes first, as in rpm-ostree: its /lib64 -> usr/lib64 (and /bin, /lib,
    /sbin) symlinks must exist before a package with files under /lib64 (libgcc, glibc)
    would create a directory there, even if the install order puts that package first."""
    headers = {p.nevra: header_from_blob(p.header_blob) for p in packages}
    check_symlinked_dirs({nevra: file_links(hdr) for nevra, hdr in headers.items()})
    rootfs.mkdir(parents=True, exist_ok=True)
    ordered = sorted(packages, key=lambda p: headers[p.nevra]["name"] != FILESYSTEM)
    with Progress("Assembling", total=len(packages)) as bar:
        for pkg in ordered:
            ot.checkout_union(repo, pkg.commit, rootfs, devino)
            bar.advance()
    break_hardlinks(rootfs / "etc")


def break_hardlinks(top: Path) -> None:
    """Give each shared regular file under top a private copy, so it can be edited in place."""
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = Path(dirpath, name)
            st = path.lstat()
            if path.is_file() and not path.is_symlink() and st.st_nlink > 1:
                copy_up(path)


def copy_up(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.fedostree-tmp")
    shutil.copy2(path, tmp, follow_symlinks=False)
    os.replace(tmp, path)


def collect_scriptlets(packages: Sequence[CachedPackage], ignore: Iterable[str]) -> list[Scriptlet]:
    """Every scriptlet to run, refusing Lua ones that the treefile does not ignore."""
    ignored = set(ignore)
    out = []
    for pkg in packages:
        for s in scriptlets_of(header_from_blob(pkg.header_blob)):
            if {f"{s.package}.{s.name}", f"{s.package}.*"} & ignored:
                continue
            if s.program[0] == LUA:
                raise ConfigError(
                    f"{pkg.nevra}: %{s.name} is a Lua scriptlet, which fedostree cannot run; "
                    f"add '{s.package}.{s.name}' to the treefile's ignore-scripts to skip it"
                )
            out.append(s)
    return out


def run_scriptlets(rootfs: Path, packages: Sequence[CachedPackage], ignore: Iterable[str]) -> None:
    """rpm-ostree's order: every %pre, then file ownership, every %post, every %posttrans."""
    scriptlets = collect_scriptlets(packages, ignore)
    by_phase = {
        phase: [s for s in scriptlets if s.name == phase] for phase in ("pre", "post", "posttrans")
    }
    with Sandbox(rootfs) as sandbox:
        _run_phase(sandbox, by_phase["pre"])
        apply_ownership(rootfs, packages)
        _run_phase(sandbox, by_phase["post"])
        _run_phase(sandbox, by_phase["posttrans"])


def coalesce(scriptlets: Sequence[Scriptlet]) -> list[Scriptlet]:
    """A program run with no script (`%post -p /sbin/ldconfig`) rescans the whole system,
    so within a phase only its last run matters: that is the one kept."""
    last = {s.program: i for i, s in enumerate(scriptlets) if not s.body}
    return [s for i, s in enumerate(scriptlets) if s.body or last[s.program] == i]


def _run_phase(sandbox: Sandbox, scriptlets: Sequence[Scriptlet]) -> None:
    scriptlets = coalesce(scriptlets)
    jobs = [_job(s) for s in scriptlets]
    if not jobs:
        return
    if sandbox.has_shell():
        failure = sandbox.run_many(jobs)
    else:  # no /bin/sh to drive them: one sandbox each
        failure = next(
            filter(None, (_run_one(sandbox, i, job) for i, job in enumerate(jobs))), None
        )
    if failure is not None:
        s = scriptlets[failure.index]
        output = " | ".join(failure.output.strip().splitlines()[-5:])
        raise ScriptletError(
            f"{s.package}: %{s.name} scriptlet failed with exit status {failure.returncode}"
            + (f": {output}" if output else "")
        )


def _job(s: Scriptlet) -> Job:
    """rpm runs a scriptlet as `PROGRAM [ARGS] SCRIPTFILE N`, N the count after the step."""
    if not s.body:
        return Job(list(s.program))
    return Job([*s.program, SCRIPT_PATH, "0" if s.name == "posttrans" else "1"], s.body)


def _run_one(sandbox: Sandbox, index: int, job: Job) -> JobFailure | None:
    result = sandbox.run(job.argv, script=job.script)
    if result.returncode == 0:
        return None
    return JobFailure(index, result.returncode, result.stdout + result.stderr)


def apply_ownership(rootfs: Path, packages: Sequence[CachedPackage]) -> None:
    """Give files their non-root owners, now that %pre scriptlets have created the users."""
    users = user_ids(read_passwd(rootfs, "etc/passwd"))
    groups = group_ids(read_group(rootfs, "etc/group"))
    for pkg in packages:
        for path, user, group in pkg.nonroot:
            target = rootfs / path.lstrip("/")
            if not os.path.lexists(target):  # left out of the checkout (core/checkout_filter.py)
                continue
            uid, gid = users.get(user), groups.get(group)
            if uid is None or gid is None:
                log.warning(
                    "%s: %s: unknown user '%s' or group '%s'; left as root",
                    pkg.nevra,
                    path,
                    user,
                    group,
                )
                continue
            st = target.lstat()
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:  # symlinks are shared too
                copy_up(target)
            os.lchown(target, uid, gid)
            if not target.is_symlink():
                os.chmod(target, st.st_mode & 0o7777)  # chown clears setuid bits
