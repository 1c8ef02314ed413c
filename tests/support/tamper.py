"""A published commit tampered with: one file's content replaced, the metadata kept."""

from __future__ import annotations

from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import GLib, OSTree


def tamper(repo_path: Path, ref: str, dirname: str, name: str, data: bytes) -> str:
    """A commit of ref's tree with one file's content replaced (same mode and owner) and
    the same metadata; ref moved to it."""
    repo = ot.open_repo(repo_path)
    commit = ot.resolve_rev(repo, ref) or ""
    _, root, _ = repo.read_commit(commit, None)
    info = root.resolve_relative_path(f"{dirname}/{name}").query_info(
        "unix::mode,unix::uid,unix::gid", ot.Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, None
    )
    mode, uid, gid = (info.get_attribute_uint32(f"unix::{k}") for k in ("mode", "uid", "gid"))
    with ot.transaction(repo):
        tree = directory = OSTree.MutableTree.new_from_commit(repo, commit)
        for part in dirname.split("/"):
            _, directory = directory.ensure_dir(part)
        content = ot.write_content(repo, ot.file_info(mode, uid, gid, len(data)), data)
        directory.replace_file(name, content)
        new = ot.write_commit(repo, tree, parent=commit, subject="tampered",
                              metadata=_metadata(repo, commit))  # fmt: skip
        ot.set_ref(repo, ref, new)
    return new


def _metadata(repo: OSTree.Repo, commit: str) -> dict[str, GLib.Variant]:
    _, variant, _ = repo.load_commit(commit)
    md = variant.get_child_value(0)
    return {
        md.get_child_value(i).get_child_value(0).get_string(): md.get_child_value(i)
        .get_child_value(1)
        .get_variant()
        for i in range(md.n_children())
    }
