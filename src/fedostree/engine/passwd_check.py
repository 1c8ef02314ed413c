"""`check-passwd` and `check-groups`: the users and groups of a composed tree, checked
against what they must be before the tree is committed (rpm-ostree's
check_passwd_group_entries).

The tree's entries are those of /usr/lib/passwd and /usr/lib/group (after the nss-altfiles
split, so root is not among them). The expected ones come from nothing (type none), the
previous commit's /usr/lib files (type previous, the default; nothing to check without a
previous commit), the file beside the treefile (type file) or the treefile itself (type
data: a user's `[uid, gid]`, or one id for both). Every expected entry must be in the tree
with the same uid and gid (gid for groups), unless it is gone and named in
ignore-removed-users (ignore-removed-groups; `*` for all), or gone and no file of the tree
is owned by its id."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fedostree.engine.passwd import (
    GroupEntry,
    PasswdEntry,
    parse_group,
    parse_passwd,
    read_group,
    read_passwd,
)
from fedostree.engine.passwd_tree import PreviousTree, check_file_groups, check_file_users
from fedostree.errors import FedostreeError
from fedostree.model.treefile import PasswdCheck

log = logging.getLogger(__name__)
Kind = Literal["user", "group"]
Ids = tuple[int, ...]  # users: (uid, gid); groups: (gid,)


class PasswdCheckFailed(FedostreeError):
    """The tree's users or groups differ from what check-passwd/check-groups expect."""


@dataclass(frozen=True)
class Expected:
    key: str  # check-passwd or check-groups
    source: str  # where the entries come from, for messages
    entries: Mapping[str, Ids]


def check_passwd_and_groups(
    rootfs: Path,
    *,
    check_passwd: PasswdCheck,
    check_groups: PasswdCheck,
    ignore_removed_users: Sequence[str],
    ignore_removed_groups: Sequence[str],
    previous: PreviousTree | None,
) -> None:
    """Raise PasswdCheckFailed, naming the key, the entry and both values, at the first
    difference: users first, then groups."""
    users = {e.name: (e.uid, e.gid) for e in read_passwd(rootfs, "usr/lib/passwd")}
    groups = {e.name: (e.gid,) for e in read_group(rootfs, "usr/lib/group")}
    expected_users = expected_entries("check-passwd", check_passwd, previous)
    expected_groups = expected_entries("check-groups", check_groups, previous)
    compare(rootfs, "user", users, expected_users, ignore_removed_users)
    compare(rootfs, "group", groups, expected_groups, ignore_removed_groups)


def expected_entries(key: str, check: PasswdCheck, previous: PreviousTree | None) -> Expected:
    if check.kind == "file":
        assert check.filename is not None
        entries = check_file_users(check) if key == "check-passwd" else check_file_groups(check)
        return Expected(key, f"file {check.filename.name}", _ids(entries))
    if check.kind == "data":
        data = {name: ids * 2 if key == "check-passwd" and len(ids) == 1 else ids
                for name, ids in check.entries.items()}  # fmt: skip
        return Expected(key, "data", data)
    if check.kind == "previous" and previous is not None:
        return _from_previous(key, previous)
    return Expected(key, check.kind, {})


def _from_previous(key: str, previous: PreviousTree) -> Expected:
    entries: list[PasswdEntry] | list[GroupEntry] | None
    if key == "check-passwd":
        entries = previous.entries("/usr/lib/passwd", parse_passwd)
    else:
        entries = previous.entries("/usr/lib/group", parse_group)
    return Expected(key, f"previous commit {previous.checksum[:12]}", _ids(entries or []))


def _ids(entries: Sequence[PasswdEntry] | Sequence[GroupEntry]) -> dict[str, Ids]:
    return {e.name: (e.uid, e.gid) if isinstance(e, PasswdEntry) else (e.gid,) for e in entries}


def compare(
    rootfs: Path, kind: Kind, found: Mapping[str, Ids], expected: Expected, ignored: Sequence[str]
) -> None:
    """rpm-ostree's validate_treefile_check_{passwd,groups}: missing entries, then changed ids."""
    table = "passwd" if kind == "user" else "group"
    for name in sorted(set(expected.entries) - set(found)):
        old = expected.entries[name]
        if "*" in ignored or name in ignored:
            log.info("ignored %s missing from the new %s file: %s", kind, table, name)
            continue
        owned = find_owned(rootfs, kind, old[0])
        if owned is not None:
            what = "uid" if kind == "user" else "gid"
            raise PasswdCheckFailed(
                f"{expected.key} ({expected.source}): {kind} missing from the new {table} file: "
                f"{name} ({what} {old[0]} still owns {owned})"
            )
        log.info("unused %s removed from the new %s file: %s", kind, table, name)
    for name in sorted(set(found) & set(expected.entries)):
        for what, was, now in zip(("UID", "GID") if kind == "user" else ("GID",),
                                  expected.entries[name], found[name], strict=True):  # fmt: skip
            if was != now:
                raise PasswdCheckFailed(
                    f"{expected.key} ({expected.source}): {table} {what} changed: "
                    f"{name} ({was} to {now})"
                )
    added = sorted(set(found) - set(expected.entries))
    if added:
        log.info("new %s entries: %s", table, ", ".join(added))


def find_owned(rootfs: Path, kind: Kind, ident: int) -> str | None:
    """The first path of the tree owned by the uid (gid), or None."""
    for path in _walk(rootfs):
        st = path.lstat()
        if (st.st_uid if kind == "user" else st.st_gid) == ident:
            return "/" + str(path.relative_to(rootfs)).removeprefix(".")
    return None


def _walk(rootfs: Path) -> Iterator[Path]:
    yield rootfs
    for dirpath, dirs, files in os.walk(rootfs):
        for name in (*dirs, *files):
            yield Path(dirpath, name)
