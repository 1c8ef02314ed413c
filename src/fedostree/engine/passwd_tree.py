"""Users and groups in a composed tree, as rpm-ostree composes them.

Two steps of the compose recipe (rpm-ostree's order):

1. `preserve_passwd`, after the packages are checked out and before any scriptlet runs
   (rpm-ostree's `passwd_compose_prep`): with `preserve-passwd` (the default), /etc/passwd
   and /etc/group are replaced by the previous commit's users and groups, or by the
   `check-passwd`/`check-groups` files, so that `useradd` in a %pre finds its user and
   keeps its uid, and a new user takes the next free id.
2. `migrate_passwd_and_group`, once /etc is /usr/etc (rpm-ostree's `postprocess_final`):
   every user but root moves to /usr/lib/passwd, every group but root and the
   `etc-group-members` to /usr/lib/group (those stay in both), nsswitch.conf looks at
   them through nss-altfiles, `useradd` creates homes in /var/home, and shadow is
   normalized.

Then `engine/passwd_check.py` checks the result against `check-passwd`/`check-groups`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import OSTree
from fedostree.engine.passwd import (
    E,
    GroupEntry,
    PasswdEntry,
    PasswdFormatError,
    parse_group,
    parse_passwd,
    read_group,
    read_passwd,
    read_tree_file,
    render,
    replace_tree_file,
    unique_by_name,
    write_entries,
)
from fedostree.engine.rootfs import resolve_in_root
from fedostree.errors import ConfigError
from fedostree.model.treefile import PasswdCheck

log = logging.getLogger(__name__)
SHADOW_FILES = {"passwd": "shadow", "group": "gshadow"}
# Left behind by shadow-utils; never part of a commit (rpm-ostree's passwd_cleanup).
LOCK_AND_BACKUP_FILES = (".pwd.lock", "passwd-", "group-", "shadow-", "gshadow-", "subuid-",
                         "subgid-")  # fmt: skip


@dataclass(frozen=True)
class PreviousTree:
    """The previous commit of the ref (the published one), read from the repository."""

    checksum: str
    read: Callable[[str], bytes | None]  # a file by path in the commit, None if absent

    def entries(self, path: str, parse: Callable[[str, str], list[E]]) -> list[E] | None:
        """The entries of a passwd or group file of the commit; None if it has none."""
        data = self.read(path)
        where = f"previous commit {self.checksum[:12]}: {path}"
        return None if data is None else parse(data.decode(errors="replace"), where)


def previous_tree(repo: OSTree.Repo, checksum: str | None) -> PreviousTree | None:
    if checksum is None:
        return None
    return PreviousTree(checksum, lambda path: ot.read_commit_file(repo, checksum, path))


# --- configuration ------------------------------------------------------------------------


def check_passwd_config(
    preserve: bool, check_passwd: PasswdCheck, check_groups: PasswdCheck, where: str = ""
) -> None:
    """Refuse what rpm-ostree refuses, before any work: with preserve-passwd, users and
    groups must both come from files or both from the previous commit; the files must be
    passwd and group files; a group's data is one gid. where: the treefile, for errors."""
    try:
        _check_config(preserve, check_passwd, check_groups)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}" if where else str(e)) from e


def _check_config(preserve: bool, check_passwd: PasswdCheck, check_groups: PasswdCheck) -> None:
    if preserve and (check_passwd.kind == "file") != (check_groups.kind == "file"):
        raise ConfigError(
            f"check-passwd is type {check_passwd.kind} and check-groups type "
            f"{check_groups.kind}: with preserve-passwd, both must be type file or neither"
        )
    if check_passwd.kind == "file":
        check_file_users(check_passwd)
    if check_groups.kind == "file":
        check_file_groups(check_groups)
    for name, ids in check_groups.entries.items():
        if len(ids) != 1:
            raise ConfigError(f"check-groups.entries.{name}: expected a gid, got {list(ids)}")


def check_file_users(check: PasswdCheck) -> list[PasswdEntry]:
    """The entries of the check-passwd file, refused with the key if it is not one."""
    return _check_file("check-passwd", check, parse_passwd)


def check_file_groups(check: PasswdCheck) -> list[GroupEntry]:
    return _check_file("check-groups", check, parse_group)


def _check_file(key: str, check: PasswdCheck, parse: Callable[[str, str], list[E]]) -> list[E]:
    assert check.filename is not None
    where = f"{key}.filename: {check.filename}"
    try:
        return parse(check.filename.read_text(), where)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: cannot read: {e}") from e
    except PasswdFormatError as e:
        raise ConfigError(str(e)) from e


# --- before the scriptlets: preserve-passwd -------------------------------------------------


def preserve_passwd(
    rootfs: Path,
    *,
    preserve: bool,
    check_passwd: PasswdCheck,
    check_groups: PasswdCheck,
    previous: PreviousTree | None,
) -> None:
    """Put the users and groups to keep in /etc before the scriptlets run: from the
    check-passwd/check-groups files when they are type file (with shadow files listing
    each name, locked), else from the previous commit's /usr/etc and /usr/lib files when
    it has both. Nothing without preserve-passwd or previous users."""
    if not preserve:
        return
    _check_config(preserve, check_passwd, check_groups)
    if check_passwd.kind == "file":
        users = unique_by_name(check_file_users(check_passwd))
        groups = unique_by_name(check_file_groups(check_groups))
        write_entries(rootfs, "etc/passwd", users)
        replace_tree_file(
            rootfs, "etc/shadow", "".join(f"{u.name}:*::0:99999:7:::\n" for u in users), 0
        )
        write_entries(rootfs, "etc/group", groups)
        replace_tree_file(rootfs, "etc/gshadow", "".join(f"{g.name}:::\n" for g in groups), 0)
        log.info("users and groups from %s and %s", check_passwd.filename, check_groups.filename)
    elif previous is not None:
        _preserve_from(previous, rootfs, "passwd", parse_passwd)
        _preserve_from(previous, rootfs, "group", parse_group)


def _preserve_from(
    previous: PreviousTree, rootfs: Path, name: str, parse: Callable[[str, str], list[E]]
) -> None:
    """/etc/NAME: the previous commit's /usr/etc/NAME then /usr/lib/NAME, first of each
    name kept; only if the commit has both (rpm-ostree's concat_files)."""
    etc = previous.entries(f"/usr/etc/{name}", parse)
    lib = previous.entries(f"/usr/lib/{name}", parse)
    if etc is None or lib is None:
        return
    entries = unique_by_name(etc + lib)
    write_entries(rootfs, f"etc/{name}", entries)
    log.info("/etc/%s: %d entries from %s", name, len(entries), previous.checksum[:12])


# --- after /etc moved to /usr/etc: the nss-altfiles split ----------------------------------


def migrate_passwd_and_group(rootfs: Path, etc_group_members: Sequence[str]) -> None:
    """rpm-ostree's final user and group steps, on a tree whose /etc is /usr/etc."""
    remove_passwd_backups(rootfs)
    normalize_shadow(rootfs)
    migrate_passwd_except_root(rootfs)
    migrate_group_except_root(rootfs, etc_group_members)
    add_nsswitch_altfiles(rootfs)


def migrate_passwd_except_root(rootfs: Path) -> None:
    """Users with uid 0 stay in /usr/etc/passwd; the others are appended to /usr/lib/passwd."""
    if read_tree_file(rootfs, "usr/etc/passwd") is None:
        log.warning("the tree has no /usr/etc/passwd: no users to migrate")
        return
    entries = read_passwd(rootfs, "usr/etc/passwd")
    _append(rootfs, "usr/lib/passwd", [e for e in entries if e.uid != 0])
    write_entries(rootfs, "usr/etc/passwd", [e for e in entries if e.uid == 0])


def migrate_group_except_root(rootfs: Path, etc_group_members: Sequence[str]) -> None:
    """Groups with gid 0 stay in /usr/etc/group; the others are appended to /usr/lib/group,
    and those named in etc-group-members are kept in /usr/etc/group too, where members can
    be added to them on a running system."""
    if read_tree_file(rootfs, "usr/etc/group") is None:
        log.warning("the tree has no /usr/etc/group: no groups to migrate")
        return
    entries = read_group(rootfs, "usr/etc/group")
    others = [e for e in entries if e.gid != 0]
    _append(rootfs, "usr/lib/group", others)
    kept = [e for e in entries if e.gid == 0] + [e for e in others if e.name in etc_group_members]
    write_entries(rootfs, "usr/etc/group", kept)


def _append(rootfs: Path, rel: str, entries: Sequence[PasswdEntry] | Sequence[GroupEntry]) -> None:
    existing = read_tree_file(rootfs, rel) or ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    replace_tree_file(rootfs, rel, existing + render(entries))


def add_nsswitch_altfiles(rootfs: Path) -> None:
    """`altfiles` after `files` in nsswitch.conf's passwd and group lines (left alone when
    nsswitch.conf is a symlink: something like authselect owns it)."""
    path = resolve_in_root(rootfs, "usr/etc/nsswitch.conf", follow_last=False)
    if path.is_symlink() or not path.is_file():
        return
    replace_tree_file(rootfs, "usr/etc/nsswitch.conf", with_altfiles(path.read_text()))


def with_altfiles(text: str) -> str:
    """rpm-ostree's add_altfiles: `passwd: files sss` -> `passwd: files altfiles sss`, or
    `altfiles` last without `files`; the text unchanged if a line already has it."""
    out = []
    for line in text.splitlines():
        prefix = next((p for p in ("passwd:", "group:") if line.startswith(p)), None)
        if prefix is None:
            out.append(line)
            continue
        sources = line[len(prefix) :].split()
        if "altfiles" in sources:
            return text
        at = sources.index("files") + 1 if "files" in sources else len(sources)
        out.append(" ".join([prefix, *sources[:at], "altfiles", *sources[at:]]))
    return "".join(f"{line}\n" for line in out)


def normalize_shadow(rootfs: Path) -> None:
    """The last-change date of locked accounts (`!` or `*`) is blanked, so that the same
    inputs give the same commit."""
    path = resolve_in_root(rootfs, "usr/etc/shadow")
    if not path.is_file():
        return
    lines = []
    for line in path.read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 9 and fields[1].startswith(("!", "*")):
            fields[2] = ""
        lines.append(":".join(fields))
    replace_tree_file(rootfs, "usr/etc/shadow", "".join(f"{line}\n" for line in lines),
                      path.stat().st_mode & 0o7777)  # fmt: skip


def remove_passwd_backups(rootfs: Path) -> None:
    for name in LOCK_AND_BACKUP_FILES:
        resolve_in_root(rootfs, f"usr/etc/{name}", follow_last=False).unlink(missing_ok=True)
