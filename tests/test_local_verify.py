"""`rebase --local --verify`: a client rebuilds a published commit from the inputs it
records, with its own repositories, and deploys it only when the trees agree; the
published content is then never downloaded."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import error_message, fsck, ostree
from tests.support.client import REF, REMOTE, Server, Trees, checksums, client
from tests.support.tamper import tamper


def drop_content_objects(repo: Path) -> int:
    """Remove every object but commits and their signatures from a served repository:
    a client that downloads any file or directory object now fails."""
    dropped = 0
    for path in (repo / "objects").glob("*/*"):
        if path.suffix not in (".commit", ".commitmeta"):
            path.unlink()
            dropped += 1
    return dropped


def test_a_verified_rebuild_deploys_the_published_commit_without_downloading_it(
    deployed: Path, server: Server, trees: Trees
) -> None:
    server.publish(REF, trees.v2)
    assert drop_content_objects(server.repo) > 0
    r = client(deployed, "rebase", "--local", "--verify")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert f"{REMOTE}:{REF}: verified, tree " in r.stdout
    assert f"Deployed {REMOTE}:{REF}: {trees.v2[:12]}" in r.stdout
    assert checksums(deployed) == [trees.v2, trees.v1]  # the published commit itself
    fsck(deployed / "ostree/repo")


def test_a_tampered_commit_is_named_and_not_deployed(
    deployed: Path, server: Server, trees: Trees
) -> None:
    server.publish(REF, trees.v2)
    tampered = tamper(server.repo, REF, "usr/bin", "hello", b"#!/bin/sh\necho pwned\n")
    ostree(server.repo, "summary", "-u")
    r = client(deployed, "rebase", "--local", "--verify", f"{REMOTE}:{REF}")
    message = error_message(r, 1)
    assert message == f"{REMOTE}:{REF} ({tampered[:12]}): 1 path differs from its rebuild"
    assert "  /usr/bin/hello: content differs" in r.stdout
    assert "package hello" in r.stdout
    assert checksums(deployed) == [trees.v1]  # nothing deployed


def test_verify_needs_local_and_a_published_tree(deployed: Path, sysroot: Path) -> None:
    r = client(deployed, "rebase", "--verify")
    assert r.exit_code == 2 and "--verify needs --local" in r.stderr
    r = client(deployed, "rebase", "--local", "--verify", "--lockfile", "x.json")
    assert r.exit_code == 2
