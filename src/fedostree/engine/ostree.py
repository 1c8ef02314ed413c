"""A thin wrapper over libostree (through PyGObject): open and create repositories,
write objects, commit, check out. The rest of fedostree speaks in domain terms."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gi

gi.require_version("OSTree", "1.0")
from gi.repository import Gio, GLib, OSTree  # noqa: E402

from fedostree.engine.reproducible import commit_time  # noqa: E402
from fedostree.errors import FedostreeError  # noqa: E402

__all__ = ["GLib", "Gio", "OSTree"]

MODES = {
    "archive": OSTree.RepoMode.ARCHIVE,
    "bare": OSTree.RepoMode.BARE,
    "bare-user": OSTree.RepoMode.BARE_USER,
}


def open_repo(path: Path, *, create_mode: str | None = None) -> OSTree.Repo:
    """Open the repository at path; with create_mode, create it first if it is absent."""
    repo = OSTree.Repo.new(Gio.File.new_for_path(str(path)))
    try:
        if create_mode and not (Path(path) / "config").exists():
            Path(path).mkdir(parents=True, exist_ok=True)
            repo.create(MODES[create_mode], None)
        else:
            repo.open(None)
    except GLib.Error as e:
        raise FedostreeError(f"{path}: cannot open OSTree repository: {e.message}") from e
    return repo


def is_valid_ref(ref: str) -> bool:
    """Whether ref is a ref name libostree accepts (ostree_validate_rev): slash-separated
    fragments, each starting with a letter, digit or `_`, so no `..`, `.` or empty part."""
    try:
        return bool(OSTree.validate_rev(ref))
    except GLib.Error:
        return False


def resolve_rev(repo: OSTree.Repo, rev: str, *, local_only: bool = False) -> str | None:
    """The commit a ref or checksum names, or None if there is none. libostree looks a
    plain REF up in refs/heads, then in every remote's refs (REMOTE:REF); local_only
    stops at refs/heads."""
    kinds = OSTree.RepoResolveRevExtFlags
    flags = kinds.LOCAL_ONLY if local_only else kinds.NONE
    try:
        _, commit = repo.resolve_rev_ext(rev, True, flags)
    except GLib.Error as e:
        raise FedostreeError(f"cannot resolve '{rev}': {e.message}") from e
    return str(commit) if commit else None


def commit_metadata(repo: OSTree.Repo, commit: str) -> dict[str, Any]:
    """The commit's metadata a{sv}, unpacked into Python values (byte arrays as bytes)."""
    _, variant, _ = repo.load_commit(commit)
    md = variant.get_child_value(0)
    out: dict[str, Any] = {}
    for i in range(md.n_children()):
        entry = md.get_child_value(i)
        value = entry.get_child_value(1).get_variant()
        key = entry.get_child_value(0).get_string()
        out[key] = bytes_of(value) if value.get_type_string() == "ay" else value.unpack()
    return out


def commit_metadata_value(repo: OSTree.Repo, commit: str, key: str) -> Any:
    """One key of the commit's metadata (None if absent), without unpacking the rest (a
    tree's commit carries its package list and recorded inputs)."""
    _, variant, _ = repo.load_commit(commit)
    value = variant.get_child_value(0).lookup_value(key, None)
    if value is None:
        return None
    return bytes_of(value) if value.get_type_string() == "ay" else value.unpack()


def bytes_of(value: GLib.Variant) -> bytes:
    return bytes(value.get_data_as_bytes().get_data())


def bytes_variant(data: bytes) -> GLib.Variant:
    """An `ay` variant built in one piece (GLib.Variant("ay", ...) goes byte by byte)."""
    return GLib.Variant.new_from_bytes(GLib.VariantType.new("ay"), GLib.Bytes.new(data), True)


def commit_timestamp(repo: OSTree.Repo, commit: str) -> int:
    _, variant, _ = repo.load_commit(commit)
    return int(OSTree.commit_get_timestamp(variant))


def to_variant_dict(values: Mapping[str, GLib.Variant]) -> GLib.Variant:
    return GLib.Variant("a{sv}", dict(values))


@contextlib.contextmanager
def transaction(repo: OSTree.Repo) -> Iterator[OSTree.Repo]:
    """A repository transaction: committed on success, aborted on any exception."""
    repo.prepare_transaction(None)
    try:
        yield repo
    except BaseException:
        repo.abort_transaction(None)
        raise
    repo.commit_transaction(None)


def file_info(
    mode: int, uid: int = 0, gid: int = 0, size: int = 0, target: str = ""
) -> Gio.FileInfo:
    """A Gio.FileInfo as libostree wants it for a content or dirmeta object."""
    info = Gio.FileInfo()
    if (mode & 0o170000) == 0o040000:
        kind = Gio.FileType.DIRECTORY
    elif (mode & 0o170000) == 0o120000:
        kind = Gio.FileType.SYMBOLIC_LINK
        info.set_symlink_target(target)
    else:
        kind = Gio.FileType.REGULAR
        info.set_size(size)
    info.set_attribute_uint32("standard::type", kind)
    info.set_attribute_uint32("unix::uid", uid)
    info.set_attribute_uint32("unix::gid", gid)
    info.set_attribute_uint32("unix::mode", mode)
    return info


def write_dirmeta(repo: OSTree.Repo, mode: int, uid: int = 0, gid: int = 0) -> str:
    variant = OSTree.create_directory_metadata(
        file_info(0o040000 | (mode & 0o7777), uid, gid), None
    )
    _, csum = repo.write_metadata(OSTree.ObjectType.DIR_META, None, variant, None)
    return bytes(csum).hex()


def write_content(repo: OSTree.Repo, info: Gio.FileInfo, data: bytes = b"") -> str:
    """Write one file object (regular or symlink) from its info and bytes; return its checksum."""
    stream = Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(data))
    _, content, length = OSTree.raw_file_to_content_stream(stream, info, None, None)
    _, csum = repo.write_content(None, content, length, None)
    return bytes(csum).hex()


def write_commit(
    repo: OSTree.Repo,
    root: OSTree.MutableTree,
    *,
    parent: str | None,
    subject: str,
    metadata: Mapping[str, GLib.Variant],
    timestamp: int | None = None,
) -> str:
    """Write the tree and a commit object for it (inside a transaction); return the commit,
    dated timestamp, by default now (engine/reproducible.py's commit_time)."""
    _, root_file = repo.write_mtree(root, None)
    md = to_variant_dict(metadata)
    when = commit_time() if timestamp is None else timestamp
    _, commit = repo.write_commit_with_time(parent, subject, "", md, root_file, when, None)
    return str(commit)


# (st_dev, st_ino, mode) -> the mode to commit, for a regular file
ModeFilter = Callable[[int, int, int], int]


def commit_directory(
    repo: OSTree.Repo,
    path: Path,
    devino: OSTree.RepoDevInoCache | None,
    *,
    sepolicy: OSTree.SePolicy | None = None,
    mode_filter: ModeFilter | None = None,
) -> OSTree.MutableTree:
    """Read a directory into a mutable tree; hardlinks to the repo's objects cost no hashing.
    With a policy every file is labeled by it (a file it gives no label is an error); a
    mode filter decides each regular file's committed mode."""
    mtree = OSTree.MutableTree.new()
    flags = OSTree.RepoCommitModifierFlags.NONE
    if sepolicy is not None:
        flags |= OSTree.RepoCommitModifierFlags.ERROR_ON_UNLABELED
    if mode_filter is None:
        modifier = OSTree.RepoCommitModifier.new(flags, None)
    else:
        modifier = OSTree.RepoCommitModifier.new(flags, _commit_filter(mode_filter), None)
    if devino is not None:
        modifier.set_devino_cache(devino)
    if sepolicy is not None:
        modifier.set_sepolicy(sepolicy)
    dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        repo.write_dfd_to_mtree(dfd, ".", mtree, modifier, None)
    except GLib.Error as e:
        raise FedostreeError(f"committing {path}: {e.message}") from e
    finally:
        os.close(dfd)
    return mtree


def _commit_filter(mode_filter: ModeFilter) -> Callable[..., OSTree.RepoCommitFilterResult]:
    def apply(_repo: OSTree.Repo, _path: str, info: Gio.FileInfo, *_: Any) -> Any:
        if info.get_file_type() == Gio.FileType.REGULAR:
            mode = info.get_attribute_uint32("unix::mode")
            dev = info.get_attribute_uint32("unix::device")
            new = mode_filter(dev, info.get_attribute_uint64("unix::inode"), mode)
            if new != mode:
                info.set_attribute_uint32("unix::mode", new)
        return OSTree.RepoCommitFilterResult.ALLOW

    return apply


def load_sepolicy(rootfs: Path) -> OSTree.SePolicy | None:
    """The tree's own SELinux policy (`SELINUXTYPE` in its etc/selinux/config, or in
    usr/etc), or None when it names none."""
    try:
        policy = OSTree.SePolicy.new(Gio.File.new_for_path(str(rootfs)), None)
    except GLib.Error as e:
        raise FedostreeError(f"the tree's SELinux policy cannot be loaded: {e.message}") from e
    return policy if policy.get_name() else None


def pull_local(dest: OSTree.Repo, src: OSTree.Repo, commits: Sequence[str]) -> None:
    """Copy the commits and their missing objects from one local repository to another."""
    options = GLib.Variant(
        "a{sv}",
        {
            "refs": GLib.Variant("as", list(commits)),
            "flags": GLib.Variant("i", int(OSTree.RepoPullFlags.NONE)),
            "depth": GLib.Variant("i", 0),
        },
    )
    dest.pull_with_options(src.get_path().get_uri(), options, None, None)


def checkout_union(
    repo: OSTree.Repo,
    commit: str,
    dest: Path,
    devino: OSTree.RepoDevInoCache | None = None,
    *,
    identical_only: bool = False,
) -> None:
    """Hardlink-check out a commit over dest, files of later checkouts replacing earlier
    ones; with identical_only, a file that differs from the one in dest is an error."""
    options = OSTree.RepoCheckoutAtOptions()
    options.overwrite_mode = (
        OSTree.RepoCheckoutOverwriteMode.UNION_IDENTICAL
        if identical_only
        else OSTree.RepoCheckoutOverwriteMode.UNION_FILES
    )
    options.no_copy_fallback = True
    if devino is not None:
        options.set_devino(devino)
    try:
        repo.checkout_at(options, -100, str(dest), commit, None)
    except GLib.Error as e:
        raise FedostreeError(f"checkout of {commit[:12]} into {dest}: {e.message}") from e


def set_ref(repo: OSTree.Repo, ref: str, commit: str | None) -> None:
    """Move (or with None, delete) a ref within the current transaction."""
    repo.transaction_set_ref(None, ref, commit)


def commit_files(repo: OSTree.Repo, rev: str) -> Iterator[tuple[str, Gio.FileInfo, Gio.File]]:
    """(absolute path, info, file) of every file and symlink of a committed tree."""
    _, root, _ = repo.read_commit(rev, None)
    pending = [("", root)]
    attrs = "standard::name,standard::type,standard::size,unix::mode"
    while pending:
        prefix, directory = pending.pop()
        for info in directory.enumerate_children(
            attrs, Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, None
        ):
            path, child = f"{prefix}/{info.get_name()}", directory.get_child(info.get_name())
            if info.get_file_type() == Gio.FileType.DIRECTORY:
                pending.append((path, child))
            else:
                yield path, info, child


def root_checksums(repo: OSTree.Repo, commit: str) -> tuple[str, str]:
    """The commit's root dirtree and dirmeta checksums: what makes two trees the same
    tree, whatever their commits' metadata, parents and times."""
    _, variant, _ = repo.load_commit(commit)
    tree, meta = (bytes_of(variant.get_child_value(i)) for i in (6, 7))
    return tree.hex(), meta.hex()


def tree_size(repo: OSTree.Repo, rev: str) -> tuple[int, int]:
    """(number of files, total bytes of regular files) of a committed tree, as checked out."""
    files = size = 0
    for _path, info, _file in commit_files(repo, rev):
        files += 1
        size += info.get_size() if info.get_file_type() == Gio.FileType.REGULAR else 0
    return files, size


def read_bytes(file: Gio.File) -> bytes:
    """A committed regular file's content."""
    _, data, _ = file.load_contents(None)
    return bytes(data)


def read_commit_file(repo: OSTree.Repo, commit: str, path: str) -> bytes | None:
    """The content of a regular file of a commit, or None if the commit has no regular
    file there (symlinks are not followed)."""
    try:
        _, root, _ = repo.read_commit(commit, None)
        target = root.resolve_relative_path(path.lstrip("/"))
        info = target.query_info("standard::type", Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, None)
        if info.get_file_type() != Gio.FileType.REGULAR:
            return None
        stream, chunks = target.read(None), []
        while chunk := stream.read_bytes(1 << 16, None).get_data():
            chunks.append(bytes(chunk))
    except GLib.Error as e:
        if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND):
            return None
        raise FedostreeError(f"{commit[:12]}: cannot read {path}: {e.message}") from e
    return b"".join(chunks)


def has_commit(repo: OSTree.Repo, commit: str) -> bool:
    """Whether the repository has the commit object (and so, for a tree it built, its tree)."""
    try:
        repo.load_commit(commit)
    except GLib.Error:
        return False
    return True


def commit_parent(repo: OSTree.Repo, commit: str) -> str | None:
    """The commit's parent, if the repository has that commit object."""
    try:
        _, variant, _ = repo.load_commit(commit)
    except GLib.Error:
        return None
    parent = OSTree.commit_get_parent(variant)
    if parent is None:
        return None
    try:
        repo.load_commit(parent)
    except GLib.Error:
        return None
    return str(parent)


def generate_static_delta(repo: OSTree.Repo, from_commit: str, to_commit: str) -> None:
    """A static delta, so that clients fetch the update as a few compressed parts."""
    empty = GLib.Variant("a{sv}", {})
    repo.static_delta_generate(
        OSTree.StaticDeltaGenerateOpt.MAJOR, from_commit, to_commit, None, empty, None
    )
