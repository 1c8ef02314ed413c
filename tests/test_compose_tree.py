"""`fedostree compose tree` end to end: real RPMs, a real OSTree repo, real bwrap."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import compose, ostree, published_refs, refs, rpmdb_names
from tests.support.rpms import write_treefile

TREE = """\
ref: test/x86_64/base
repos: [test-repo]
packages: ["@core"]
automatic-version-prefix: "20"
"""


@pytest.fixture
def treefile(tmp_path: Path, base_repo: Path) -> Path:
    return write_treefile(tmp_path / "config", base_repo.as_uri(), TREE)


def checkout(repo: Path, ref: str, dest: Path) -> Path:
    subprocess.run(["ostree", f"--repo={repo}", "checkout", ref, str(dest)], check=True)
    return dest


def test_compose_commits_a_complete_tree(treefile: Path, tmp_path: Path) -> None:
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "test/x86_64/base: committed 20 " in r.stdout
    repo = tmp_path / "repo"
    assert list(published_refs(repo)) == ["test/x86_64/base"]
    assert "archive" in (repo / "config").read_text()
    ostree(repo, "fsck")
    show = ostree(repo, "show", "--print-metadata-key=version", "test/x86_64/base")
    assert show.strip() == "'20'"
    pkglist = ostree(
        repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", "test/x86_64/base"
    )
    for name in ("bash", "filesystem", "hello", "kernel", "libhello", "setup"):
        assert f"('{name}'," in pkglist

    co = checkout(repo, "test/x86_64/base", tmp_path / "co")
    assert rpmdb_names(co) == ["bash", "filesystem", "hello", "kernel", "libhello", "setup"]
    assert (co / "usr/etc/hello.conf").read_text() == "greeting=hi\n"
    assert not (co / "etc").exists()
    kver = "5.14.0-1.fc20.x86_64"
    assert (co / f"usr/lib/modules/{kver}/vmlinuz").read_text() == "vmlinuz\n"
    assert (co / f"usr/lib/modules/{kver}/initramfs.img").exists()
    assert list((co / "boot").iterdir()) == []


def test_scriptlets_run_in_order_with_users_and_ownership(treefile: Path, tmp_path: Path) -> None:
    assert compose(treefile, tmp_path).exit_code == 0
    co = checkout(tmp_path / "repo", "test/x86_64/base", tmp_path / "co")
    etc = co / "usr/etc"
    assert "hello:x:990:990" in (co / "usr/lib/passwd").read_text()  # nss-altfiles
    assert (etc / "hello.post-ran").read_text() == "post 1\n"
    assert (etc / "hello.posttrans-ran").exists()
    assert (etc / "ld-ran").read_text() == "libhello\n"
    st = (co / "usr/libexec/hello-helper").stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 990, 0o4750)


def test_var_content_becomes_tmpfiles(treefile: Path, tmp_path: Path) -> None:
    assert compose(treefile, tmp_path).exit_code == 0
    co = checkout(tmp_path / "repo", "test/x86_64/base", tmp_path / "co")
    assert list((co / "var").iterdir()) == []
    lines = (co / "usr/lib/tmpfiles.d/pkg-hello.conf").read_text().splitlines()
    assert "d /var/lib/hello 0750 hello hello - -" in lines
    assert "C /var/lib/hello/state 0644 root root - /usr/share/factory/var/lib/hello/state" in lines
    assert (co / "usr/share/factory/var/lib/hello/state").read_text() == "fresh\n"


def test_second_compose_is_unchanged_and_downloads_nothing(treefile: Path, tmp_path: Path) -> None:
    assert compose(treefile, tmp_path).exit_code == 0
    before = refs(tmp_path / "repo")
    rpms = tmp_path / "cache/rpms"
    for rpm in rpms.rglob("*.rpm"):
        rpm.unlink()
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0
    assert "test/x86_64/base: unchanged 20 " in r.stdout
    assert refs(tmp_path / "repo") == before
    assert list(rpms.rglob("*.rpm")) == []


def test_changed_treefile_commits_next_version_with_parent(treefile: Path, tmp_path: Path) -> None:
    assert compose(treefile, tmp_path).exit_code == 0
    first = refs(tmp_path / "repo")["test/x86_64/base"]
    treefile.write_text(TREE + "remove-files: [usr/bin/hello]\n")
    r = compose(treefile, tmp_path)
    assert "committed 20.1 " in r.stdout
    repo = tmp_path / "repo"
    log = ostree(repo, "log", "test/x86_64/base")
    assert first in log
    co = checkout(repo, "test/x86_64/base", tmp_path / "co")
    assert not (co / "usr/bin/hello").exists()


def test_treefile_files_and_postprocess(tmp_path: Path, base_repo: Path) -> None:
    """The treefile's own content; tests/test_layout.py covers units, default-target,
    the scripts' order and their view of /etc."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "motd").write_text("welcome\n")
    (config / "post.sh").write_text("#!/bin/sh\nset -e\necho from-script >> /etc/postprocess-ran\n")
    tf = write_treefile(
        config,
        base_repo.as_uri(),
        TREE
        + """\
add-files: [[motd, /etc/motd]]
postprocess-script: post.sh
postprocess:
  - |
    #!/bin/sh
    echo inline >> /etc/postprocess-ran
""",
    )
    assert compose(tf, tmp_path).exit_code == 0
    co = checkout(tmp_path / "repo", "test/x86_64/base", tmp_path / "co")
    assert (co / "usr/etc/motd").read_text() == "welcome\n"
    assert (co / "usr/etc/postprocess-ran").read_text() == "inline\nfrom-script\n"


def test_lockfile_round_trip(treefile: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock.json"
    assert compose(treefile, tmp_path, "--write-lockfile-to", lock).exit_code == 0
    data = json.loads(lock.read_text())
    assert data["packages"]["hello"]["evra"] == "2.10-1.x86_64"
    assert data["packages"]["hello"]["digest"].startswith("sha256:")
    r = compose(treefile, tmp_path, "--lockfile", lock, "--force-nocache")
    assert r.exit_code == 0, r.stderr
    assert "committed 20.1" in r.stdout


def test_compose_over_http(tmp_path: Path, base_repo: Path, http_server) -> None:
    tf = write_treefile(tmp_path / "config", http_server(base_repo), TREE)
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "committed 20" in r.stdout


def test_compose_follows_an_include_chain(tmp_path: Path, base_repo: Path) -> None:
    config = tmp_path / "config"
    tf = write_treefile(
        config,
        base_repo.as_uri(),
        """\
        include: common.yaml
        ref: test/x86_64/included
        packages: [kernel]
        """,
    )
    (config / "common.yaml").write_text(
        "repos: [test-repo]\npackages: [hello]\nautomatic-version-prefix: '7'\n"
    )
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "test/x86_64/included: committed 7 " in r.stdout
    co = checkout(tmp_path / "repo", "test/x86_64/included", tmp_path / "co")
    assert "hello" in rpmdb_names(co) and "kernel" in rpmdb_names(co)


def test_parsed_metadata_is_cached_and_a_damaged_cache_is_rebuilt(
    treefile: Path, tmp_path: Path
) -> None:
    """libsolv's binary cache of the metadata (dnf keeps one too) is named by the repomd
    revision; a recompose resolves the same set from it, and a damaged one is replaced."""
    assert compose(treefile, tmp_path).exit_code == 0
    (cache,) = (tmp_path / "cache/repos/test-repo").glob("*.solv")
    revision = (tmp_path / "cache/repos/test-repo/.revision").read_text()
    assert cache.name == f"{revision[:32]}.solv"
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0 and "unchanged" in r.stdout
    cache.write_bytes(cache.read_bytes()[:100])  # truncated
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0 and "unchanged" in r.stdout, r.stderr
    assert cache.stat().st_size > 100
