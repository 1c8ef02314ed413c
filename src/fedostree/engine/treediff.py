"""Comparing two committed trees path by path, through libostree's API: what differs
(content, mode and owner, extended attributes, symlink target, file type, present in one
tree only) and, when the tree's rpmdb says, which package owns the path. A directory
whose dirtree and dirmeta checksums agree is not entered, so two nearly equal trees
compare in the time of their differences. `compose verify` and a client's
`rebase --local --verify` report with it why a rebuild differs from a published commit."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import Gio, OSTree
from fedostree.engine.rpmdb import DBPATH, read_header_blobs
from fedostree.engine.rpmfile import header_from_blob

Aspect = Literal[
    "content", "mode/owner", "xattrs", "symlink target", "type", "only in a", "only in b"
]
_ATTRS = "standard::name,standard::type,standard::symlink-target,unix::mode,unix::uid,unix::gid"
_NOFOLLOW = Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS
RPMDB_FILES = ("rpmdb.sqlite",)
# Paths the build itself writes, by prefix: why they differ when no package owns them.
BUILD_WRITTEN = (
    (f"/{DBPATH}/", "the rpmdb (written by the build)"),
    ("/usr/lib/sysimage/rpm-ostree-base-db/", "the rpmdb (written by the build)"),
    ("/usr/lib/tmpfiles.d/pkg-", "a package's /var content as tmpfiles.d lines"),
)


@dataclass(frozen=True)
class TreeDifference:
    """One way in which a path differs: detail says how (a's value, then b's); owner is
    the package owning the path in tree b's rpmdb (None: no package, or not looked up)."""

    path: str
    aspect: Aspect
    detail: str = ""
    owner: str | None = None

    @property
    def why(self) -> str:
        if self.owner:
            return f"package {self.owner}"
        for prefix, what in BUILD_WRITTEN:
            if self.path.startswith(prefix):
                return what
        return "owned by no package (written by a scriptlet or postprocessing)"


def compare_trees(
    repo_a: OSTree.Repo, commit_a: str, repo_b: OSTree.Repo, commit_b: str
) -> list[TreeDifference]:
    """Every difference between two commits' trees, in path order; [] when their root
    dirtree and dirmeta agree."""
    _, root_a, _ = repo_a.read_commit(commit_a, None)
    _, root_b, _ = repo_b.read_commit(commit_b, None)
    return sorted(_compare_dirs("/", root_a, root_b), key=lambda d: d.path)


def with_owners(
    differences: Sequence[TreeDifference], owners: Mapping[str, str]
) -> list[TreeDifference]:
    """The differences with the package owning each path (package_owners' map)."""
    return [replace(d, owner=owner_of(d.path, owners)) for d in differences]


def package_owners(repo: OSTree.Repo, commit: str) -> dict[str, str]:
    """Committed path -> the name of the package owning it, from the commit's rpmdb
    (/etc's files are committed in /usr/etc)."""
    with tempfile.TemporaryDirectory(prefix="fedostree-rpmdb-") as tmp:
        db = Path(tmp) / DBPATH
        db.mkdir(parents=True)
        for name in RPMDB_FILES:
            data = ot.read_commit_file(repo, commit, f"/{DBPATH}/{name}")
            if data is None:
                return {}
            (db / name).write_bytes(data)
        owners: dict[str, str] = {}
        for blob in read_header_blobs(Path(tmp)):
            hdr = header_from_blob(blob)
            for path in hdr["filenames"] or ():
                owners.setdefault(str(path), str(hdr["name"]))
    return owners


def owner_of(path: str, owners: Mapping[str, str]) -> str | None:
    if path in owners:
        return owners[path]
    if path.startswith("/usr/etc/"):
        return owners.get(path.removeprefix("/usr"))
    return None


# --- the walk ---------------------------------------------------------------------------------


def _compare_dirs(path: str, a: OSTree.RepoFile, b: OSTree.RepoFile) -> Iterator[TreeDifference]:
    a.ensure_resolved()
    b.ensure_resolved()
    if a.tree_get_metadata_checksum() != b.tree_get_metadata_checksum():
        yield from _compare_meta(path, a, b)
    if a.tree_get_contents_checksum() == b.tree_get_contents_checksum():
        return
    children_a, children_b = _children(a), _children(b)
    for name in sorted(children_a.keys() | children_b.keys()):
        child = f"{path.rstrip('/')}/{name}"
        if name not in children_b:
            yield TreeDifference(child, "only in a", _kind(children_a[name]))
        elif name not in children_a:
            yield TreeDifference(child, "only in b", _kind(children_b[name]))
        else:
            yield from _compare_entries(child, a.get_child(name), b.get_child(name),
                                        children_a[name], children_b[name])  # fmt: skip


def _compare_entries(
    path: str, a: OSTree.RepoFile, b: OSTree.RepoFile, info_a: Gio.FileInfo, info_b: Gio.FileInfo
) -> Iterator[TreeDifference]:
    kind_a, kind_b = info_a.get_file_type(), info_b.get_file_type()
    if kind_a != kind_b:
        yield TreeDifference(path, "type", f"{_kind(info_a)} vs {_kind(info_b)}")
    elif kind_a == Gio.FileType.DIRECTORY:
        yield from _compare_dirs(path, a, b)
    elif a.get_checksum() != b.get_checksum():
        yield from _compare_files(path, a, b, info_a, info_b)


def _compare_files(
    path: str, a: OSTree.RepoFile, b: OSTree.RepoFile, info_a: Gio.FileInfo, info_b: Gio.FileInfo
) -> Iterator[TreeDifference]:
    """Two files whose content objects differ: in what (one difference per aspect)."""
    found = list(_compare_meta(path, a, b, info_a, info_b))
    if info_a.get_file_type() == Gio.FileType.SYMBOLIC_LINK:
        target_a, target_b = info_a.get_symlink_target(), info_b.get_symlink_target()
        if target_a != target_b:
            found.append(TreeDifference(path, "symlink target", f"{target_a} vs {target_b}"))
    elif not found or _content(a) != _content(b):
        found.append(TreeDifference(path, "content", _content_detail(a, b)))
    yield from found


def _compare_meta(
    path: str,
    a: OSTree.RepoFile,
    b: OSTree.RepoFile,
    info_a: Gio.FileInfo | None = None,
    info_b: Gio.FileInfo | None = None,
) -> Iterator[TreeDifference]:
    info_a = info_a or a.query_info(_ATTRS, _NOFOLLOW, None)
    info_b = info_b or b.query_info(_ATTRS, _NOFOLLOW, None)
    owner_a, owner_b = _mode_owner(info_a), _mode_owner(info_b)
    if owner_a != owner_b:
        yield TreeDifference(path, "mode/owner", f"{owner_a} vs {owner_b}")
    xattrs_a, xattrs_b = _xattrs(a), _xattrs(b)
    if xattrs_a != xattrs_b:
        yield TreeDifference(path, "xattrs", f"{_show(xattrs_a)} vs {_show(xattrs_b)}")


def _children(directory: OSTree.RepoFile) -> dict[str, Gio.FileInfo]:
    return {info.get_name(): info for info in directory.enumerate_children(_ATTRS, _NOFOLLOW, None)}


def _mode_owner(info: Gio.FileInfo) -> str:
    mode = info.get_attribute_uint32("unix::mode") & 0o7777
    uid, gid = info.get_attribute_uint32("unix::uid"), info.get_attribute_uint32("unix::gid")
    return f"{mode:04o} {uid}:{gid}"


def _xattrs(file: OSTree.RepoFile) -> dict[bytes, bytes]:
    _, variant = file.get_xattrs(None)
    if variant is None:
        return {}
    out = {}
    for i in range(variant.n_children()):
        pair = variant.get_child_value(i)
        out[ot.bytes_of(pair.get_child_value(0)).rstrip(b"\0")] = ot.bytes_of(
            pair.get_child_value(1)
        ).rstrip(b"\0")
    return out


def _show(xattrs: Mapping[bytes, bytes]) -> str:
    if not xattrs:
        return "none"
    return ", ".join(f"{k.decode(errors='replace')}={v.decode(errors='replace')}"
                     for k, v in sorted(xattrs.items()))  # fmt: skip


def _content(file: OSTree.RepoFile) -> bytes:
    """A committed regular file's bytes (read as a stream: a RepoFile's stream is no
    GFileInputStream, which g_file_load_contents expects)."""
    stream, chunks = file.read(None), []
    while chunk := stream.read_bytes(1 << 16, None).get_data():
        chunks.append(bytes(chunk))
    stream.close(None)
    return b"".join(chunks)


def _content_detail(a: OSTree.RepoFile, b: OSTree.RepoFile) -> str:
    size_a = a.query_info("standard::size", _NOFOLLOW, None).get_size()
    size_b = b.query_info("standard::size", _NOFOLLOW, None).get_size()
    return f"{size_a} vs {size_b} bytes"


def _kind(info: Gio.FileInfo) -> str:
    kind = info.get_file_type()
    if kind == Gio.FileType.DIRECTORY:
        return "directory"
    if kind == Gio.FileType.SYMBOLIC_LINK:
        return f"symlink to {info.get_symlink_target()}"
    return "file"


__all__ = ["TreeDifference", "compare_trees", "package_owners", "with_owners"]
