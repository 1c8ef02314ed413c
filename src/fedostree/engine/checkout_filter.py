"""What is checked out of each package: the treefile's `documentation: false` and
`install-langs`, which rpm applies when it installs a package, and `remove-from-packages`,
which rpm-ostree applies when it checks one out.

rpm (lib/transaction.c, skipInstallFiles) does not install a file flagged %doc under
--nodocs, nor a file whose %lang is not in `%_install_langs` (`fr` is installed for
`fr_FR`; `all` installs every language), and then leaves out a directory of the package
that had files left out and none installed. rpm-ostree's `remove-from-packages` leaves
out each file of the named package whose path, or a parent directory's, a regex matches
anywhere (unanchored), the path as rpm-ostree's package cache stores it (/etc/X is
/usr/etc/X); a package that is not in the tree is ignored.

The package cache holds every package whole, shared by all trees, so the filter runs on
one tree after its union checkout, before any scriptlet: what a package leaves out is
removed unless another package installs it too, never through a symlink out of the tree.
The rpmdb is not changed: it lists every file of each package."""

from __future__ import annotations

import logging
import posixpath
import re
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import rpm

from fedostree.engine.pkgcache import translate_path
from fedostree.engine.rootfs import resolve_in_root
from fedostree.engine.rpmfile import header_from_blob
from fedostree.model.treefile import RemoveFromPackage

log = logging.getLogger(__name__)
# Content there is state, not part of the tree (engine/pkgcache.py makes tmpfiles.d lines).
STATE_DIRS = ("/var/", "/run/")
# How rpm-ostree's package cache stores a path (rust/src/utils.rs translate_path_for_ostree):
# a directory and what is under it, or only what is under it.
CACHE_DIRS = (("/etc", "/usr/etc"), ("/opt", "/usr/lib/opt"))
CACHE_PREFIXES = (
    ("/boot/", "/usr/lib/ostree-boot/"),
    ("/var/lib/selinux/targeted/", "/usr/etc/selinux/targeted/"),
)


@dataclass(frozen=True)
class CheckoutFilter:
    documentation: bool = True
    install_langs: tuple[str, ...] = ()  # empty: every language
    remove_from_packages: tuple[RemoveFromPackage, ...] = ()

    @property
    def active(self) -> bool:
        return not self.documentation or bool(self.install_langs or self.remove_from_packages)

    def patterns(self, package: str) -> list[re.Pattern[str]]:
        return [re.compile(p) for r in self.remove_from_packages if r.package == package
                for p in r.patterns]  # fmt: skip


@dataclass(frozen=True)
class PackageFiles:
    """One package's files, split by the filter."""

    name: str
    kept: frozenset[str]
    left_out: frozenset[str]


def filter_checkout(
    rootfs: Path, header_blobs: Sequence[bytes], rules: CheckoutFilter
) -> list[str]:
    """Remove from the checked-out tree what the packages (their cached headers) leave
    out; return those paths."""
    if not rules.active:
        return []
    packages = [split_files(header_from_blob(blob), rules) for blob in header_blobs]
    names = {p.name for p in packages}
    for r in rules.remove_from_packages:
        if r.package not in names:
            log.info("remove-from-packages: %s is not in the tree; nothing removed", r.package)
    kept = frozenset().union(*(p.kept for p in packages))
    left_out = sorted(frozenset().union(*(p.left_out for p in packages)) - kept, reverse=True)
    removed = [path for path in left_out if remove_path(rootfs, path)]
    remove_empty_parents(rootfs, removed, kept)
    log.info("left out of the checkout: %d paths", len(removed))
    return sorted(removed)


def split_files(hdr: rpm.hdr, rules: CheckoutFilter) -> PackageFiles:
    names: list[str] = hdr[rpm.RPMTAG_FILENAMES] or []
    out = skipped_by_rpm(hdr, nodocs=not rules.documentation, langs=rules.install_langs)
    patterns = rules.patterns(hdr["name"])
    if patterns:
        removed = {i for i, name in enumerate(names) if matches(patterns, name)}
        if removed:
            log.info("remove-from-packages: %s: %d files left out", hdr["name"], len(removed))
        out |= removed
    return PackageFiles(
        hdr["name"],
        kept=frozenset(checkout_path(n) for i, n in enumerate(names) if i not in out),
        left_out=frozenset(
            checkout_path(names[i]) for i in out if not names[i].startswith(STATE_DIRS)
        ),
    )


def checkout_path(path: str) -> str:
    """Where the package cache put a file of the header (/boot/x: /usr/lib/ostree-boot/x)."""
    return "/" + translate_path(path.lstrip("/"))


def skipped_by_rpm(hdr: rpm.hdr, *, nodocs: bool, langs: Sequence[str]) -> set[int]:
    """The indices of the files rpm would not install, then of the package's directories
    that had files skipped and keep none (one level, as rpm does)."""
    flags: list[int] = hdr[rpm.RPMTAG_FILEFLAGS] or []
    flangs: list[str] = hdr[rpm.RPMTAG_FILELANGS] or [""] * len(flags)
    dirindexes: list[int] = hdr[rpm.RPMTAG_DIRINDEXES] or []
    skipped = {
        i for i, (f, lang) in enumerate(zip(flags, flangs, strict=True))
        if (nodocs and f & rpm.RPMFILE_DOC) or not lang_installed(lang, langs)
    }  # fmt: skip
    remaining = Counter(dirindexes) - Counter(dirindexes[i] for i in skipped)
    emptied = {dirindexes[i] for i in skipped} - set(remaining)
    if emptied:
        dirnames: list[str] = hdr[rpm.RPMTAG_DIRNAMES]
        empty = {dirnames[j].rstrip("/") for j in emptied}
        names: list[str] = hdr[rpm.RPMTAG_FILENAMES]
        modes: list[int] = hdr[rpm.RPMTAG_FILEMODES]
        skipped |= {
            i for i, n in enumerate(names) if n in empty and stat.S_ISDIR(modes[i] & 0xFFFF)
        }
    return skipped


def lang_installed(file_lang: str, langs: Sequence[str]) -> bool:
    """rpm's %_install_langs test: a file of no language, or one of the languages listed
    (a language `fr` matches `fr_FR`: it is a prefix of it); `all` matches every one."""
    if not file_lang or not langs:
        return True
    wanted = [code for code in file_lang.split("|") if code]
    return any(lang == "all" or any(lang[: len(c)] == c for c in wanted) for lang in langs)


def cache_path(path: str) -> str:
    """The path as rpm-ostree's package cache stores it, which its regexes match."""
    for directory, stored in CACHE_DIRS:
        if path == directory or path.startswith(directory + "/"):
            return stored + path[len(directory) :]
    for prefix, stored in CACHE_PREFIXES:
        if path.startswith(prefix):
            return stored + path[len(prefix) :]
    return path


def matches(patterns: Iterable[re.Pattern[str]], path: str) -> bool:
    """Whether a regex finds the path or one of its parent directories."""
    stored = cache_path(path)
    parents = [stored]
    while (parent := posixpath.dirname(parents[-1])) not in ("/", ""):
        parents.append(parent)
    return any(p.search(candidate) for p in patterns for candidate in parents)


def remove_path(rootfs: Path, path: str) -> bool:
    """Remove a file, symlink or empty directory of the tree (symlinks on the way
    resolved inside it); False if there was nothing to remove."""
    target = resolve_in_root(rootfs, path, follow_last=False)
    if target.is_dir() and not target.is_symlink():
        if any(target.iterdir()):
            return False
        target.rmdir()
        return True
    if not target.is_symlink() and not target.exists():
        return False
    target.unlink()
    return True


def remove_empty_parents(rootfs: Path, removed: Iterable[str], owned: frozenset[str]) -> None:
    """Directories that only the checkout made (no package owns them) and that are empty
    now: rpm would not have created them."""
    parents = {posixpath.dirname(p) for p in removed}
    while parents:
        parent = max(parents, key=len)
        parents.discard(parent)
        if parent in ("/", "") or parent in owned:
            continue
        target = resolve_in_root(rootfs, parent, follow_last=False)
        if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
            target.rmdir()
            parents.add(posixpath.dirname(parent))
