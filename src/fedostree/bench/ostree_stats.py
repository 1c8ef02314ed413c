"""What commits hold, counted from the repository: their content objects, the bytes of
content they would check out to, and what one commit adds over another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine.ostree import Gio, OSTree


@dataclass(frozen=True)
class ContentSize:
    objects: int
    bytes: int  # uncompressed: what the files take checked out
    stored_bytes: int  # as stored in an archive repository (.filez, compressed)


def content_objects(repo: OSTree.Repo, commit: str) -> set[str]:
    """The checksums of every file object (regular file or symlink) the commit references."""
    _, reachable = repo.traverse_commit(commit, 0, None)
    out = set()
    for name in reachable:
        checksum, objtype = OSTree.object_name_deserialize(name)
        if objtype == OSTree.ObjectType.FILE:
            out.add(checksum)
    return out


def content_size(repo: OSTree.Repo, checksums: Iterable[str]) -> ContentSize:
    """Uncompressed bytes of regular files (symlinks count 0), and their stored size."""
    count = total = stored = 0
    root = Path(repo.get_path().get_path())
    for checksum in checksums:
        _, _stream, info, _xattrs = repo.load_file(checksum, None)
        count += 1
        if info.get_file_type() == Gio.FileType.REGULAR:
            total += info.get_size()
        stored += _stored_size(root, checksum)
    return ContentSize(count, total, stored)


def _stored_size(root: Path, checksum: str) -> int:
    for suffix in (".filez", ".file"):
        path = root / "objects" / checksum[:2] / f"{checksum[2:]}{suffix}"
        if path.exists():
            return path.lstat().st_size
    return 0


def unique_content(repo: OSTree.Repo, commits: Iterable[str]) -> ContentSize:
    """The floor: every distinct file content of the commits, counted once."""
    union: set[str] = set()
    for commit in commits:
        union |= content_objects(repo, commit)
    return content_size(repo, union)


def added_content(repo: OSTree.Repo, old: str, new: str) -> ContentSize:
    """The file contents new references that old does not: what an update must bring."""
    return content_size(repo, content_objects(repo, new) - content_objects(repo, old))
