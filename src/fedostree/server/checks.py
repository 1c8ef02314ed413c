"""The integration checks a composed tree passes before it is published.

`run_checks` takes the assembled tree as the pipeline leaves it (/etc in /usr/etc, /var
emptied, the rpmdb in /usr/share/rpm) and never writes to it: its files are hardlinks
into the package cache. Static checks read the tree through a `TreeView` (one walk,
symlinks resolved inside the tree); runtime checks run commands in bubblewrap
(server/runtime.py). Each check gives a `CheckResult` whose log says what is wrong.

    elf-needed     every ELF executable and library resolves its DT_NEEDED in the tree
    usr-symlinks   every symlink under /usr resolves inside the tree
    file-owners    every owning uid and gid is in the tree's passwd and group files
    rpmdb          the rpmdb lists exactly the resolved packages
    var-tmpfiles   nothing in /var that no tmpfiles.d line creates
    os-release     /usr/lib/os-release or /etc/os-release exists
    sh             /bin/sh -c 'echo ok' prints ok
    test:NAME      each test the treefile declares"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import rpm

from fedostree.engine.passwd import parse_group, parse_passwd
from fedostree.engine.rpmdb import DBPATH
from fedostree.model.treefile import Treefile
from fedostree.server.elfdeps import check_elf_needed
from fedostree.server.results import CheckResult, Outcome
from fedostree.server.runtime import run_runtime_checks
from fedostree.server.treeview import TreeView

log = logging.getLogger(__name__)
MAX_PROBLEMS = 200  # lines of a failed static check's log
PASSWD_FILES = ("/etc/passwd", "/usr/lib/passwd")
GROUP_FILES = ("/etc/group", "/usr/lib/group")
TMPFILES_DIRS = ("/etc/tmpfiles.d", "/usr/local/lib/tmpfiles.d", "/usr/lib/tmpfiles.d")
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
# Empty in every tree and filled only on a running system: links into them are not checked.
RUNTIME_DIRS = ("/run/", "/tmp/", "/proc/", "/sys/", "/dev/")

Findings = tuple[list[str], str]  # problems (one line each), and a one-line summary


def run_checks(rootfs: Path, tf: Treefile, nevras: Sequence[str]) -> list[CheckResult]:
    """Every check, static then runtime; a failing check never stops the others."""
    view = TreeView(rootfs)
    static: dict[str, Callable[[], Findings]] = {
        "elf-needed": lambda: check_elf_needed(view),
        "usr-symlinks": lambda: check_usr_symlinks(view),
        "file-owners": lambda: check_file_owners(view),
        "rpmdb": lambda: check_rpmdb(view, nevras),
        "var-tmpfiles": lambda: check_var_tmpfiles(view),
        "os-release": lambda: check_os_release(view),
    }
    results = [run_static(name, check) for name, check in static.items()]
    results += run_runtime_checks(view, tf.tests)
    for r in results:
        log.info("check %s: %s (%.1f s)", r.name, r.outcome, r.duration)
    return results


def run_static(name: str, check: Callable[[], Findings]) -> CheckResult:
    start = time.monotonic()
    try:
        problems, summary = check()
    except Exception as e:  # a check that breaks fails itself, not the compose
        log.exception("check %s", name)
        problems, summary = [f"the check could not run: {type(e).__name__}: {e}"], ""
    outcome: Outcome = "failed" if problems else "passed"
    return CheckResult(name, outcome, time.monotonic() - start, static_log(problems, summary))


def static_log(problems: Sequence[str], summary: str) -> str:
    lines = [summary] if summary else []
    lines += problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS} more")
    return "".join(f"{line}\n" for line in lines)


# --- usr-symlinks -----------------------------------------------------------------------


def check_usr_symlinks(view: TreeView) -> Findings:
    declared = declared_paths(view)
    links = [e.path for e in view.entries if e.path.startswith("/usr/") and stat.S_ISLNK(e.mode)]
    problems = []
    for path in links:
        if view.resolve(view.deployed_path(path)) is not None:
            continue
        target = view.link_target(path)
        if target.startswith(RUNTIME_DIRS) or declared.creates(target):
            continue
        problems.append(f"{path} -> {_readlink(view, path)}: does not resolve inside the tree")
    return problems, f"{len(links)} symlinks under /usr"


def _readlink(view: TreeView, path: str) -> str:
    return str((view.rootfs / path.lstrip("/")).readlink())


# --- file-owners ------------------------------------------------------------------------


def check_file_owners(view: TreeView) -> Findings:
    users = read_ids(view, PASSWD_FILES)
    groups = read_ids(view, GROUP_FILES)
    owners: dict[int, list[str]] = {}
    group_owners: dict[int, list[str]] = {}
    for e in view.entries:
        owners.setdefault(e.uid, []).append(e.path)
        group_owners.setdefault(e.gid, []).append(e.path)
    problems = _unknown_ids(view, "uid", owners, users, PASSWD_FILES)
    problems += _unknown_ids(view, "gid", group_owners, groups, GROUP_FILES)
    summary = f"{len(owners)} uids and {len(group_owners)} gids own the tree's files"
    return problems, summary


def read_ids(view: TreeView, files: Sequence[str]) -> set[int]:
    """The ids (uids of passwd files, gids of group files) the files list."""
    ids: set[int] = set()
    for path in files:
        text = view.read_text(path) or ""
        if path.endswith("passwd"):
            ids.update(e.uid for e in parse_passwd(text, view.stored_path(path)))
        else:
            ids.update(e.gid for e in parse_group(text, view.stored_path(path)))
    return ids


def _unknown_ids(
    view: TreeView, kind: str, owners: dict[int, list[str]], known: set[int], files: Sequence[str]
) -> list[str]:
    present = [view.stored_path(f) for f in files if view.read_text(f) is not None]
    where = (
        f"not in {' or '.join(present)}"
        if present
        else f"the tree has no {' or '.join(view.stored_path(f) for f in files)}"
    )
    out = []
    for ident in sorted(set(owners) - known):
        paths = owners[ident]
        more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        out.append(f"{kind} {ident} owns {', '.join(paths[:3])}{more}: {where}")
    return out


# --- rpmdb ------------------------------------------------------------------------------


def check_rpmdb(view: TreeView, nevras: Sequence[str]) -> Findings:
    dbdir = view.lookup("/" + DBPATH)
    if dbdir is None or not dbdir.is_dir():
        return [f"no rpmdb in the tree (/{DBPATH})"], ""
    listed = set(read_rpmdb(dbdir))
    wanted = {normalize_nevra(n) for n in nevras}
    problems = [f"missing from the rpmdb: {n}" for n in sorted(wanted - listed)]
    problems += [f"in the rpmdb but not resolved: {n}" for n in sorted(listed - wanted)]
    return problems, f"the rpmdb lists {len(listed)} packages; {len(wanted)} were resolved"


def read_rpmdb(dbdir: Path) -> list[str]:
    """The NEVRAs an rpmdb lists, read with librpm from a copy (reading writes beside it)."""
    with tempfile.TemporaryDirectory(prefix="fedostree-rpmdb-") as tmp:
        shutil.copytree(dbdir, Path(tmp, DBPATH), symlinks=True)
        with _dbpath("/" + DBPATH):
            ts = rpm.TransactionSet(tmp)
            try:
                return [_nevra(h) for h in ts.dbMatch() if h["name"] != "gpg-pubkey"]
            finally:
                ts.closeDB()


@contextlib.contextmanager
def _dbpath(path: str) -> Iterator[None]:
    rpm.addMacro("_dbpath", path)
    try:
        yield
    finally:
        rpm.delMacro("_dbpath")


def _nevra(h: rpm.hdr) -> str:
    epoch = f"{h['epoch']}:" if h["epoch"] else ""
    return f"{h['name']}-{epoch}{h['version']}-{h['release']}.{h['arch']}"


def normalize_nevra(nevra: str) -> str:
    """name-0:version-release.arch is name-version-release.arch."""
    return nevra.replace("-0:", "-", 1) if re.search(r"-0:[^-]*-[^-]*$", nevra) else nevra


# --- var-tmpfiles -----------------------------------------------------------------------


class Declared:
    """What tmpfiles.d lines create: the paths they name (exactly or by glob), the
    directories above those, and whatever lies below a path copied with `C`."""

    def __init__(self, lines: set[tuple[str, str]]) -> None:
        paths = {path for _, path in lines}
        self.exact = {p for p in paths if not any(c in p for c in "*?[")}
        self.globs = sorted(paths - self.exact)
        self.parents = {d for p in paths for d in _parents(p)}
        self.copied = {path for kind, path in lines if kind.startswith("C")}

    def creates(self, path: str) -> bool:
        """Whether the path, or a directory above it in /var, is created."""
        return any(self._names(p) for p in (path, *_parents(path)) if p.startswith("/var/"))

    def covers(self, path: str) -> bool:
        """Whether tmpfiles.d creates this path, or needs it as a parent directory."""
        return (
            self._names(path)
            or path in self.parents
            or any(p in self.copied for p in _parents(path))
        )

    def _names(self, path: str) -> bool:
        return path in self.exact or any(fnmatch.fnmatchcase(path, g) for g in self.globs)


def _parents(path: str) -> list[str]:
    """/a/b/c -> [/a/b, /a]"""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 1, -1)]


def declared_paths(view: TreeView) -> Declared:
    lines: set[tuple[str, str]] = set()
    for directory in TMPFILES_DIRS:
        for conf in view.glob(f"{directory}/*.conf"):
            lines |= tmpfiles_lines(view.read_text(conf) or "")
    return Declared(lines)


def tmpfiles_lines(text: str) -> set[tuple[str, str]]:
    """(type, path) of each tmpfiles.d line (type path mode user group age argument)."""
    out = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#") and fields[1].startswith("/"):
            out.add((fields[0], fields[1].rstrip("/") or "/"))
    return out


def check_var_tmpfiles(view: TreeView) -> Findings:
    declared = declared_paths(view)
    entries = [e for e in view.entries if e.path.startswith("/var/")]
    problems: list[str] = []
    undeclared_dirs: list[str] = []
    below = 0
    for e in entries:
        if any(e.path.startswith(d + "/") for d in undeclared_dirs[-1:]):
            below += 1
            continue
        if declared.covers(e.path):
            continue
        problems.append(f"{e.path}: in /var but no tmpfiles.d line creates it")
        if stat.S_ISDIR(e.mode):
            undeclared_dirs.append(e.path)
    if below:
        problems.append(f"(and {below} entries below those directories)")
    return problems, f"{len(entries)} entries in /var"


# --- os-release -------------------------------------------------------------------------


def check_os_release(view: TreeView) -> Findings:
    for path in OS_RELEASE:
        text = view.read_text(path)
        if text is not None:
            pretty = re.search(r"^PRETTY_NAME=\"?([^\"\n]*)", text, re.MULTILINE)
            name = f": {pretty.group(1)}" if pretty else ""
            return [], f"{view.stored_path(path)} is a file{name}"
    stored = " or ".join(("/usr/etc/os-release", "/usr/lib/os-release"))
    return [f"no os-release in the tree: neither {stored} is a file"], ""
