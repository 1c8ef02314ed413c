"""Reproducible trees: the same treefile and packages give the same OSTree tree checksum
(root dirtree and dirmeta), with every cache wiped between the builds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fedostree.engine import ostree as ot
from tests.support.cli import compose, ostree
from tests.support.rpms import write_treefile

TREE = """\
ref: test/x86_64/base
repos: [test-repo]
packages: ["@core"]
automatic-version-prefix: "20"
"""


def root_of(repo: Path, ref: str) -> str:
    """`ostree ls -d -C` of the root: mode, owner, its dirtree and dirmeta checksums."""
    return ostree(repo, "ls", "-d", "-C", ref, "/")


@pytest.fixture
def treefile(tmp_path: Path, base_repo: Path) -> Path:
    return write_treefile(tmp_path / "config", base_repo.as_uri(), TREE)


def test_two_builds_with_wiped_caches_give_the_same_tree(treefile: Path, tmp_path: Path) -> None:
    trees = []
    for run in ("one", "two"):
        time.sleep(1.1)  # librpm's clock has whole seconds: the builds fall in different ones
        out = tmp_path / run
        r = compose(treefile, out)
        assert r.exit_code == 0, r.stderr
        trees.append(root_of(out / "repo", "test/x86_64/base"))
    assert trees[0] == trees[1]


def test_the_commit_is_dated_when_it_is_made(treefile: Path, tmp_path: Path) -> None:
    """The tree is built at the newest package's build time; the commit is dated now."""
    before = int(time.time())
    r = compose(treefile, tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    repo = ot.open_repo(tmp_path / "out/repo")
    commit = ot.resolve_rev(repo, "test/x86_64/base") or ""
    assert ot.commit_timestamp(repo, commit) >= before
