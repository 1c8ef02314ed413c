"""engine/treediff.py on real OSTree commits: each way a path can differ is named, in path
order, and two equal trees give nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import Gio, GLib, OSTree
from fedostree.engine.treediff import TreeDifference, compare_trees, owner_of, with_owners

SELINUX = b"security.selinux"
LABEL = "security.selinux="
# path -> (mode, content or symlink target, xattrs); a directory: (mode, None, xattrs)
Spec = dict[str, tuple[int, str | None, dict[bytes, bytes]]]

BASE: Spec = {
    "usr": (0o040755, None, {}),
    "usr/bin": (0o040755, None, {}),
    "usr/bin/hello": (0o100755, "#!/bin/sh\necho hello\n", {}),
    "usr/bin/sh": (0o120777, "busybox", {}),
    "usr/etc": (0o040755, None, {}),
    "usr/etc/hello.conf": (0o100644, "greeting=hi\n", {SELINUX: b"etc_t"}),
    "usr/share": (0o040755, None, {}),
    "usr/share/doc": (0o040755, None, {}),
}


def xattrs_variant(xattrs: dict[bytes, bytes]) -> GLib.Variant:
    return GLib.Variant("a(ayay)", [(k + b"\0", v + b"\0") for k, v in sorted(xattrs.items())])


def write_file(repo: OSTree.Repo, mode: int, data: str, xattrs: dict[bytes, bytes]) -> str:
    link = (mode & 0o170000) == 0o120000
    info = ot.file_info(mode, target=data if link else "", size=0 if link else len(data))
    raw = b"" if link else data.encode()
    stream = Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(raw))
    _, content, length = OSTree.raw_file_to_content_stream(
        stream, info, xattrs_variant(xattrs), None
    )
    _, csum = repo.write_content(None, content, length, None)
    return bytes(csum).hex()


def write_dir(repo: OSTree.Repo, mode: int, xattrs: dict[bytes, bytes]) -> str:
    info = ot.file_info(mode)
    variant = OSTree.create_directory_metadata(info, xattrs_variant(xattrs))
    _, csum = repo.write_metadata(OSTree.ObjectType.DIR_META, None, variant, None)
    return bytes(csum).hex()


def commit(repo: OSTree.Repo, spec: Spec) -> str:
    with ot.transaction(repo):
        root = OSTree.MutableTree.new()
        root.set_metadata_checksum(write_dir(repo, 0o040755, {}))
        for path in sorted(spec):
            mode, data, xattrs = spec[path]
            parent = root
            *dirs, name = path.split("/")
            for part in dirs:
                _, parent = parent.ensure_dir(part)
            if data is None:
                _, node = parent.ensure_dir(name)
                node.set_metadata_checksum(write_dir(repo, mode, xattrs))
            else:
                parent.replace_file(name, write_file(repo, mode, data, xattrs))
        return ot.write_commit(repo, root, parent=None, subject="t", metadata={})


@pytest.fixture
def repos(tmp_path: Path) -> tuple[OSTree.Repo, OSTree.Repo]:
    return (ot.open_repo(tmp_path / "a", create_mode="archive"),
            ot.open_repo(tmp_path / "b", create_mode="bare-user"))  # fmt: skip


def test_equal_trees_in_two_repositories_have_no_differences(repos: tuple) -> None:
    a, b = repos
    assert compare_trees(a, commit(a, BASE), b, commit(b, BASE)) == []


def test_each_way_a_path_differs_is_named(repos: tuple) -> None:
    a, b = repos
    changed: Spec = {
        **BASE,
        "usr/bin/hello": (0o100755, "#!/bin/sh\necho pwned!\n", {}),  # content
        "usr/bin/sh": (0o120777, "bash", {}),  # symlink target
        "usr/etc/hello.conf": (0o100600, "greeting=hi\n", {SELINUX: b"shadow_t"}),
        "usr/share": (0o040700, None, {}),  # a directory's mode
        "usr/share/doc": (0o100644, "not a directory\n", {}),  # type
        "usr/bin/extra": (0o100644, "x\n", {}),  # only in b
    }
    found = compare_trees(a, commit(a, BASE), b, commit(b, changed))
    assert found == [
        TreeDifference("/usr/bin/extra", "only in b", "file"),
        TreeDifference("/usr/bin/hello", "content", "21 vs 22 bytes"),
        TreeDifference("/usr/bin/sh", "symlink target", "busybox vs bash"),
        TreeDifference("/usr/etc/hello.conf", "mode/owner", "0644 0:0 vs 0600 0:0"),
        TreeDifference("/usr/etc/hello.conf", "xattrs", f"{LABEL}etc_t vs {LABEL}shadow_t"),
        TreeDifference("/usr/share", "mode/owner", "0755 0:0 vs 0700 0:0"),
        TreeDifference("/usr/share/doc", "type", "directory vs file"),
    ]


def test_a_directory_only_in_one_tree_is_one_difference(repos: tuple) -> None:
    a, b = repos
    smaller = {p: v for p, v in BASE.items() if not p.startswith("usr/etc")}
    found = compare_trees(a, commit(a, BASE), b, commit(b, smaller))
    assert found == [TreeDifference("/usr/etc", "only in a", "directory")]


def test_owners_are_looked_up_with_etc_in_usr() -> None:
    owners = {"/etc/hello.conf": "hello", "/usr/bin/hello": "hello"}
    found = with_owners([TreeDifference("/usr/etc/hello.conf", "content"),
                         TreeDifference("/usr/etc/random-seed", "content")], owners)  # fmt: skip
    assert [d.owner for d in found] == ["hello", None]
    assert found[1].why == "owned by no package (written by a scriptlet or postprocessing)"
    assert owner_of("/usr/bin/hello", owners) == "hello"
    rpmdb = TreeDifference("/usr/share/rpm/rpmdb.sqlite", "content")
    assert rpmdb.why == "the rpmdb (written by the build)"
