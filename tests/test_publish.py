"""Promotion, pruning and signing, end to end: a compose lands on `candidates:REF` (out of
the summary), only a tree that passes its tests moves REF; old versions are pruned; published commits and the
summary are signed, and a client with the key refuses unsigned or tampered commits."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from fedostree.engine import ostree as ot
from fedostree.server.results import load_results
from fedostree.server.status_page import collect_trees
from tests.support.cli import compose, error_message, fsck, ostree, refs, run
from tests.support.client import (
    REF,
    REMOTE,
    Server,
    checksums,
    client,
)
from tests.support.gpg import GpgKey, make_gpg_key
from tests.support.rpms import write_treefile

CANDIDATE = f"candidates:{REF}"
OLD_CANDIDATE = f"candidates/{REF}"  # before candidates:REF
TREE = """\
ref: {ref}
repos: [test-repo]
packages: [hello, kernel, fedora-release]
automatic-version-prefix: "20"
tests:
{tests}
"""
PASSING = '  - {name: hello-runs, command: "hello", timeout: 30}'
FAILING = '  - {name: broken, command: "echo the feature is missing; exit 1", timeout: 30}'

pytestmark = pytest.mark.slow


def treefile(config: Path, rpms: Path, *tests: str) -> Path:
    text = TREE.format(ref=REF, tests="\n".join(tests) if tests else "  []")
    return write_treefile(config, rpms.as_uri(), text)


def summary_refs(repo: Path) -> list[str]:
    """The refs the summary offers clients, as the stock `ostree summary -v` lists them."""
    return [
        line[2:] for line in ostree(repo, "summary", "-v").splitlines() if line.startswith("* ")
    ]


def status_page(repo: Path, ref: str) -> str:
    """The tree's status page, as `fedostree serve` shows it."""
    server = Server(repo)
    try:
        with urllib.request.urlopen(f"{server.url}status/tree/{ref}", timeout=30) as response:
            return str(response.read().decode())
    finally:
        server.stop()


def stock_pull(repo: Path, ref: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`ostree pull` of ref into a new repository, as a client of the served repo."""
    server, local = Server(repo), tmp_path / "stock-client"
    try:
        ostree(local, "init", "--mode=bare-user")
        ostree(local, "remote", "add", "--no-gpg-verify", "srv", server.url)
        return subprocess.run(["ostree", f"--repo={local}", "pull", "srv", ref],
                              capture_output=True, text=True)  # fmt: skip
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rpms(client_rpm_repos: tuple[Path, Path]) -> Path:
    return client_rpm_repos[0]


def test_only_a_tested_commit_is_published(tmp_path: Path, rpms: Path) -> None:
    repo = tmp_path / "repo"
    r = compose(treefile(tmp_path / "a", rpms, PASSING), tmp_path)
    assert r.exit_code == 0, r.stderr
    good = refs(repo)[REF]
    assert refs(repo)[CANDIDATE] == good
    results = load_results(repo, good)
    assert results is not None and results.outcome == "passed"
    names = {c.name for c in results.checks}
    assert {"elf-needed", "usr-symlinks", "file-owners", "rpmdb", "os-release", "sh"} <= names
    assert "test:hello-runs" in names

    # A tree that fails a declared test: committed to the candidate ref, not published.
    r = compose(treefile(tmp_path / "b", rpms, PASSING, FAILING), tmp_path)
    message = error_message(r, 1)
    assert REF in message and "failed tests" in message
    assert "failed tests: test:broken" in r.stdout
    bad = refs(repo)[CANDIDATE]
    assert bad != good and refs(repo)[REF] == good
    failed = load_results(repo, bad)
    assert failed is not None and failed.failed == ["test:broken"]
    assert "the feature is missing" in next(c.log for c in failed.checks if c.name == "test:broken")
    shown = run("compose", "results", REF, "--repo", repo)
    assert shown.exit_code == 0 and "failed" in shown.stdout and "test:broken" in shown.stdout
    # Clients are offered REF only: the failed candidate is neither in the summary nor a
    # branch they could pull, while the status page shows it failed.
    assert summary_refs(repo) == [REF]
    assert bad not in ostree(repo, "summary", "-v")
    assert stock_pull(repo, OLD_CANDIDATE, tmp_path).returncode != 0
    page = status_page(repo, REF)
    assert f'class="candidate-failed" data-ref="{REF}"' in page
    assert f'data-commit="{bad}"' in page and "test:broken" in page

    # Unchanged inputs: nothing is recomposed, and the tree is still reported failed.
    r = compose(treefile(tmp_path / "b", rpms, PASSING, FAILING), tmp_path)
    assert r.exit_code == 1 and "unchanged" in r.stdout
    assert refs(repo)[CANDIDATE] == bad

    # Fixed: the next version is published, from the last published commit.
    r = compose(treefile(tmp_path / "c", rpms, PASSING), tmp_path)
    assert r.exit_code == 0, r.stderr
    fixed = refs(repo)[REF]
    assert fixed not in (good, bad) and refs(repo)[CANDIDATE] == fixed
    md = ot.commit_metadata(ot.open_repo(repo), fixed)
    assert md["version"] == "20.2"  # 20 published, 20.1 failed, 20.2 published
    assert ot.commit_parent(ot.open_repo(repo), fixed) == good
    assert f"{good}-{fixed}" in ostree(repo, "static-delta", "list")
    fsck(repo)


def test_old_style_candidate_refs_are_moved_by_the_next_compose(tmp_path: Path, rpms: Path) -> None:
    """A repository composed before candidates:REF has refs/heads/candidates/REF, listed
    in its summary: it is still read, and the next compose moves it out of the summary."""
    repo = tmp_path / "repo"
    assert compose(treefile(tmp_path / "a", rpms, PASSING), tmp_path).exit_code == 0
    good = refs(repo)[REF]
    failing = treefile(tmp_path / "b", rpms, PASSING, FAILING)
    assert compose(failing, tmp_path).exit_code == 1
    bad = refs(repo)[CANDIDATE]
    ostree(repo, "refs", f"--create={OLD_CANDIDATE}", bad)
    ostree(repo, "refs", "--delete", CANDIDATE)
    ostree(repo, "summary", "-u")
    assert summary_refs(repo) == [OLD_CANDIDATE, REF]

    shown = run("compose", "results", REF, "--repo", repo)
    assert shown.exit_code == 0 and f"({bad[:12]}): failed" in shown.stdout
    [tree] = collect_trees(repo)
    assert tree.ref == REF and tree.failed_candidate is not None
    assert tree.failed_candidate.commit == bad

    r = compose(failing, tmp_path)
    assert r.exit_code == 1 and "unchanged" in r.stdout
    assert refs(repo) == {REF: good, CANDIDATE: bad}
    assert summary_refs(repo) == [REF]
    fsck(repo)


def test_a_broken_test_command_is_a_failure_not_a_crash(tmp_path: Path, rpms: Path) -> None:
    missing = '  - {name: nosuch, command: ["/usr/bin/no-such-program"], timeout: 30}'
    r = compose(treefile(tmp_path / "a", rpms, missing), tmp_path)
    assert "failed tests" in error_message(r, 1)
    assert REF not in refs(tmp_path / "repo")
    results = load_results(tmp_path / "repo", refs(tmp_path / "repo")[CANDIDATE])
    assert results is not None and results.failed == ["test:nosuch"]
    # A client asking for the tree by its name gets nothing: only the candidate exists.
    assert stock_pull(tmp_path / "repo", REF, tmp_path).returncode != 0


def test_prune_keeps_the_configured_number_of_versions(tmp_path: Path, rpms: Path) -> None:
    repo = tmp_path / "repo"
    commits = []
    for i in range(3):
        test = f'  - {{name: t{i}, command: "true", timeout: 30}}'
        r = compose(treefile(tmp_path / f"t{i}", rpms, test), tmp_path, "--keep-versions", "2")
        assert r.exit_code == 0, r.stderr
        commits.append(refs(repo)[REF])
    logged = [line.split()[1] for line in ostree(repo, "log", REF).splitlines()
              if line.startswith("commit ")]  # fmt: skip
    assert logged == [commits[2], commits[1]]
    assert ot.commit_parent(ot.open_repo(repo), commits[1]) is None  # the object is gone
    assert load_results(repo, commits[0]) is None
    deltas = ostree(repo, "static-delta", "list")
    assert f"{commits[1]}-{commits[2]}" in deltas and commits[0] not in deltas
    assert all(any(d.iterdir()) for d in (repo / "deltas").iterdir())  # no empty leftovers
    assert load_results(repo, commits[1]) is not None
    fsck(repo)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> GpgKey:
    return make_gpg_key(tmp_path_factory.mktemp("gpg"))


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, rpms: Path, key: GpgKey) -> Path:
    """A repository with two signed versions of REF."""
    work = tmp_path_factory.mktemp("signed")
    for name, test in (("v1", PASSING), ("v2", '  - {name: again, command: "true"}')):
        r = compose(treefile(work / name, rpms, test), work,
                    "--gpg-sign", key.key_id, "--gpg-homedir", key.homedir)  # fmt: skip
        assert r.exit_code == 0, r.stderr
    return work / "repo"


def test_published_commits_and_summary_are_signed(signed: Path, key: GpgKey) -> None:
    sigs = ostree(signed, "show", "--print-detached-metadata-key=ostree.gpgsigs", REF)
    assert sigs.strip()
    assert (signed / "summary.sig").is_file()
    # The stock tools as a witness: a remote with the public key verifies the commit.
    ostree(signed, "remote", "add", f"--gpg-import={key.public}", "witness", "http://unused/")
    verify = subprocess.run(
        ["ostree", f"--repo={signed}", "show", REF, "--gpg-verify-remote=witness"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert verify.returncode == 0 and "Good signature" in verify.stdout, verify.stdout


def _served_copy(repo: Path, dest: Path) -> Server:
    shutil.copytree(repo, dest, symlinks=True)
    return Server(dest)


def _add_remote_with_key(sysroot: Path, url: str, key: GpgKey) -> None:
    r = client(sysroot, "remote", "add", "--gpg-import", key.public, REMOTE, url)
    assert r.exit_code == 0, r.stderr


def test_client_deploys_a_signed_tree(sysroot: Path, signed: Path, key: GpgKey,
                                      tmp_path: Path) -> None:  # fmt: skip
    server = _served_copy(signed, tmp_path / "served")
    try:
        _add_remote_with_key(sysroot, server.url, key)
        r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
        assert r.exit_code == 0, r.stderr
        assert checksums(sysroot) == [refs(signed)[REF]]
    finally:
        server.stop()


def test_client_refuses_an_unsigned_tree(sysroot: Path, rpms: Path, key: GpgKey,
                                         tmp_path: Path) -> None:  # fmt: skip
    r = compose(treefile(tmp_path / "u", rpms, PASSING), tmp_path)
    assert r.exit_code == 0, r.stderr
    server = Server(tmp_path / "repo")
    try:
        _add_remote_with_key(sysroot, server.url, key)
        r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
        assert "summary.sig" in error_message(r, 1)
        # With only the summary signed, the commit itself is refused.
        ostree(server.repo, "summary", "-u", f"--gpg-sign={key.key_id}",
               f"--gpg-homedir={key.homedir}")  # fmt: skip
        r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
        message = error_message(r, 1)
        assert "no signatures found" in message
        assert "remote delete" not in message, "with a key, an unsigned commit is refused"
        assert checksums(sysroot) == []
    finally:
        server.stop()


def test_a_remote_without_a_key_says_how_to_proceed(
    sysroot: Path, signed: Path, rpms: Path, key: GpgKey, tmp_path: Path
) -> None:
    """`remote add` without --gpg-import or --no-gpg-verify requires signatures it has no
    key for: the error says how to re-add the remote, and following it works."""
    r = compose(treefile(tmp_path / "u", rpms, PASSING), tmp_path)
    assert r.exit_code == 0, r.stderr
    unsigned = Server(tmp_path / "repo")
    signing = _served_copy(signed, tmp_path / "served")
    try:
        assert client(sysroot, "remote", "add", REMOTE, unsigned.url).exit_code == 0
        message = error_message(client(sysroot, "rebase", f"{REMOTE}:{REF}"), 1)
        assert message.startswith(f"pull from '{REMOTE}' ({REF}): Commit ")
        assert "GPG verification enabled, but no signatures found;" in message
        assert message.endswith(
            f"to accept unsigned commits, re-add it: 'fedostree remote delete {REMOTE}' then "
            f"'fedostree remote add --no-gpg-verify {REMOTE} {unsigned.url}' "
            "(or, once the server signs, with --gpg-import KEY.asc)"
        )
        assert checksums(sysroot) == []
        assert client(sysroot, "remote", "delete", REMOTE).exit_code == 0
        r = client(sysroot, "remote", "add", "--no-gpg-verify", REMOTE, unsigned.url)
        assert r.exit_code == 0, r.stderr
        assert client(sysroot, "rebase", f"{REMOTE}:{REF}").exit_code == 0

        assert client(sysroot, "remote", "delete", REMOTE).exit_code == 0
        assert client(sysroot, "remote", "add", REMOTE, signing.url).exit_code == 0
        message = error_message(client(sysroot, "rebase", f"{REMOTE}:{REF}"), 1)
        assert "public key not found" in message
        assert message.endswith(
            f"re-add it with the server's public key: 'fedostree remote delete {REMOTE}' then "
            f"'fedostree remote add --gpg-import KEY.asc {REMOTE} {signing.url}' "
            "(or with --no-gpg-verify to skip verification)"
        )
        assert client(sysroot, "remote", "delete", REMOTE).exit_code == 0
        _add_remote_with_key(sysroot, signing.url, key)
        r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
        assert r.exit_code == 0, r.stderr
        assert checksums(sysroot)[0] == refs(signed)[REF]
    finally:
        unsigned.stop()
        signing.stop()


def test_client_refuses_a_tampered_signature(sysroot: Path, signed: Path, key: GpgKey,
                                             tmp_path: Path) -> None:  # fmt: skip
    """REF moved to its first version carrying the second version's signature (the
    summary re-signed, so only the commit's signature is wrong)."""
    server = _served_copy(signed, tmp_path / "served")
    try:
        v2 = refs(signed)[REF]
        v1 = ot.commit_parent(ot.open_repo(signed), v2) or ""
        meta = {c: server.repo / "objects" / c[:2] / f"{c[2:]}.commitmeta" for c in (v1, v2)}
        shutil.copyfile(meta[v2], meta[v1])
        ostree(server.repo, "reset", REF, v1)
        ostree(server.repo, "summary", "-u", f"--gpg-sign={key.key_id}",
               f"--gpg-homedir={key.homedir}")  # fmt: skip
        _add_remote_with_key(sysroot, server.url, key)
        r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
        message = error_message(r, 1)
        assert "signature" in message.lower(), message
        assert checksums(sysroot) == []
    finally:
        server.stop()


def test_missing_gpg_key_publishes_nothing(tmp_path: Path, rpms: Path) -> None:
    home = tmp_path / "emptyhome"
    home.mkdir(mode=0o700)
    r = compose(treefile(tmp_path / "a", rpms, PASSING), tmp_path,
                "--gpg-sign", "0123456789ABCDEF", "--gpg-homedir", home)  # fmt: skip
    assert "--gpg-sign 0123456789ABCDEF" in error_message(r, 2)
    assert not (tmp_path / "repo" / "refs" / "heads").exists() or refs(tmp_path / "repo") == {}
    r = compose(treefile(tmp_path / "a", rpms, PASSING), tmp_path, "--gpg-homedir", home)
    assert "--gpg-sign" in error_message(r, 2)


def test_results_json(tmp_path: Path, rpms: Path) -> None:
    r = compose(treefile(tmp_path / "a", rpms), tmp_path)
    assert r.exit_code == 0, r.stderr
    shown = run("compose", "results", REF, "--repo", tmp_path / "repo", "--json")
    doc = json.loads(shown.stdout)
    assert doc["outcome"] == "passed" and doc["ref"] == REF
    assert all({"name", "outcome", "duration", "log"} <= set(c) for c in doc["checks"])


def test_an_interrupted_compose_is_finished_by_the_next_one(tmp_path: Path, rpms: Path) -> None:
    """Killed after its tests passed but before REF moved: the next compose publishes that
    commit. Killed before its tests ran: the next compose composes and tests again."""
    repo = tmp_path / "repo"
    tf = treefile(tmp_path / "a", rpms, PASSING)
    assert compose(tf, tmp_path).exit_code == 0
    tested = refs(repo)[REF]
    ostree(repo, "refs", "--delete", REF)  # as if killed before the ref moved
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert refs(repo)[REF] == tested

    shutil.rmtree(repo / "extensions/fedostree/results" / tested)  # as if killed during tests
    ostree(repo, "refs", "--delete", REF)
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    again = refs(repo)[REF]
    assert again != tested and refs(repo)[CANDIDATE] == again
    results = load_results(repo, again)
    assert results is not None and results.outcome == "passed"
