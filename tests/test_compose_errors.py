"""`fedostree compose tree` failing: each failure gives its exit code and one `error:`
line that says what went wrong, and leaves the published refs, the repositories and
the cache as they were (`ostree fsck` clean, no staging directories left behind)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fedostree.engine.rpmfile import read_header_blob
from tests.support.cli import (
    compose,
    error_message,
    fsck,
    ostree,
    published_refs,
    refs,
    rpmdb_names,
    run,
)
from tests.support.rpms import Pkg, build_rpms, createrepo, write_treefile

REF = "test/x86_64/errors"
TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: [bash]
"""
EXTRA = Pkg("extra", files={"/usr/share/extra/data": "original\n"})
ERROR_PACKAGES = [
    EXTRA,
    Pkg(
        "needs-missing",
        requires=["libnowhere.so.1()(64bit)"],
        files={"/usr/bin/needs-missing": "x\n"},
    ),
    Pkg(
        "failing-post",
        files={"/usr/share/failing-post": "x\n"},
        scripts={"post": 'echo "oops from post $1"\necho "to stderr" >&2\nexit 3'},
    ),
    Pkg(
        "lua-post",
        files={"/usr/share/lua-post": "x\n"},
        scripts={"post -p <lua>": 'print("hello from lua")'},
    ),
]


@pytest.fixture(scope="module")
def errors_repo(tmp_path_factory: pytest.TempPathFactory, base_repo: Path) -> Path:
    """The base repository plus packages that fail in each way."""
    root = tmp_path_factory.mktemp("errors-repo")
    repo = root / "repo"
    shutil.copytree(base_repo, repo, ignore=shutil.ignore_patterns("repodata"))
    build_rpms(ERROR_PACKAGES, repo, root / "work")
    createrepo(repo, groups={"core": ["hello", "kernel"]})
    return repo


@pytest.fixture
def served(tmp_path: Path, errors_repo: Path) -> Path:
    """A private copy of the repository, to break."""
    copy = tmp_path / "served"
    shutil.copytree(errors_repo, copy)
    return copy


def baseline(tmp_path: Path, url: str) -> tuple[Path, dict[str, str]]:
    """Compose the base tree successfully; return the treefile and the refs."""
    treefile = write_treefile(tmp_path / "config", url, TREE)
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    before = refs(tmp_path / "repo")
    assert list(published_refs(tmp_path / "repo")) == [REF]
    return treefile, before


def with_packages(treefile: Path, *names: str, extra: str = "") -> None:
    quoted = ", ".join(f'"{name}"' for name in ("bash", *names))
    treefile.write_text(TREE.replace("[bash]", f"[{quoted}]") + extra)


def assert_untouched(tmp_path: Path, before: dict[str, str]) -> None:
    """The refs are as they were; both repositories and the cache are consistent."""
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    assert refs(repo) == before
    if (repo / "config").exists():
        fsck(repo)
    if not cache.exists():
        return
    staging = [p.name for p in cache.iterdir() if p.name.startswith((".repo-", ".download-"))]
    assert staging == []
    assert not list(cache.glob("compose-*"))
    assert not list((cache / "repos").glob("*.old"))
    for rpm in (cache / "rpms").rglob("*"):
        if rpm.is_file():  # rpms/ab/cdef...-name.rpm holds exactly the file with that digest
            digest = hashlib.sha256(rpm.read_bytes()).hexdigest()
            assert rpm.parent.name + rpm.name.split("-")[0] == digest, rpm
    if (cache / "repo/config").exists():
        fsck(cache / "repo")


def cached_packages(tmp_path: Path) -> list[str]:
    return sorted(ref.split("/")[2] for ref in refs(tmp_path / "cache/repo"))


# --- resolution ---


def test_missing_package(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    with_packages(treefile, "nosuch-package", "hello")
    r = compose(treefile, tmp_path)
    assert error_message(r, 1) == "packages: 'nosuch-package' not found in any repository"
    assert r.stdout == ""
    assert_untouched(tmp_path, before)


def test_missing_group(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    with_packages(treefile, "@core", "@nosuch-group")
    r = compose(treefile, tmp_path)
    assert error_message(r, 1) == "group '@nosuch-group' is not in any repository's comps"
    assert_untouched(tmp_path, before)


def test_unresolvable_dependency_prints_the_problems(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    with_packages(treefile, "needs-missing")
    r = compose(treefile, tmp_path)
    assert error_message(r, 1) == "cannot resolve the package set (1 problem)"
    assert r.stderr.splitlines()[-1] == (
        "  problem: nothing provides libnowhere.so.1()(64bit) needed by needs-missing-1.0-1.x86_64"
    )
    assert_untouched(tmp_path, before)


def test_excluded_dependency_prints_the_problems(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    with_packages(treefile, "hello", extra="exclude-packages: [libhello]\n")
    r = compose(treefile, tmp_path)
    assert error_message(r, 1).startswith("cannot resolve the package set")
    assert "  problem: nothing provides libhello needed by hello-2.10-1.x86_64" in r.stderr
    assert_untouched(tmp_path, before)


# --- fetching ---


def test_rpm_that_does_not_match_the_metadata(
    tmp_path: Path, served: Path, errors_repo: Path, http_server
) -> None:
    treefile, before = baseline(tmp_path, http_server(served))
    original = served / "extra-1.0-1.x86_64.rpm"
    kept = tmp_path / "original.rpm"
    shutil.copy(original, kept)
    tampered = bytearray(kept.read_bytes())
    tampered[-1] ^= 0xFF  # same size, other bytes: only the checksum can tell
    original.write_bytes(bytes(tampered))
    with_packages(treefile, "extra")
    r = compose(treefile, tmp_path)
    message = error_message(r, 1)
    assert message.startswith("extra-1.0-1.x86_64 (test-repo): download failed: ")
    assert "checksum doesn't match" in message
    assert hashlib.sha256(kept.read_bytes()).hexdigest() in message  # the expected digest
    assert_untouched(tmp_path, before)
    assert "extra" not in cached_packages(tmp_path)
    # Once the mirror serves the right file again, the same cache composes it.
    shutil.copy(kept, original)
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert refs(tmp_path / "repo")[REF] != before[REF]
    assert "extra" in cached_packages(tmp_path)
    fsck(tmp_path / "repo")


def payload_offset(rpm_path: Path) -> int:
    """Where the compressed payload starts: right after the lead, signature and header."""
    return len(read_header_blob(rpm_path))


def test_corrupt_payload_with_matching_metadata_is_named_and_dropped(
    tmp_path: Path, served: Path
) -> None:
    treefile, before = baseline(tmp_path, served.as_uri())
    original = served / "extra-1.0-1.x86_64.rpm"
    kept = tmp_path / "original.rpm"
    shutil.copy(original, kept)
    data = bytearray(kept.read_bytes())
    start = payload_offset(kept)
    for i in range(start + 16, min(start + 48, len(data) - 8)):
        data[i] ^= 0xFF  # same size, the header untouched: only the payload digest can tell
    original.write_bytes(bytes(data))
    createrepo(served, groups={"core": ["hello", "kernel"]})  # the metadata agrees with it
    digest = hashlib.sha256(bytes(data)).hexdigest()
    cached = tmp_path / "cache/rpms" / digest[:2] / f"{digest[2:]}-{original.name}"
    with_packages(treefile, "extra")
    r = compose(treefile, tmp_path)
    assert error_message(r, 1) == (
        f"extra-1.0-1.x86_64: corrupt package (payload digest mismatch): {cached}; "
        "removed from the cache"
    )
    assert not cached.exists()
    assert_untouched(tmp_path, before)
    assert "extra" not in cached_packages(tmp_path)
    # Once the repository holds the good package again, the same cache composes it.
    shutil.copy(kept, original)
    createrepo(served, groups={"core": ["hello", "kernel"]})
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert refs(tmp_path / "repo")[REF] != before[REF]
    assert "extra" in cached_packages(tmp_path)
    fsck(tmp_path / "repo")


def test_corrupt_header_with_matching_metadata_is_named_and_dropped(
    tmp_path: Path, served: Path
) -> None:
    treefile, before = baseline(tmp_path, served.as_uri())
    original = served / "extra-1.0-1.x86_64.rpm"
    data = bytearray(original.read_bytes())
    summary = data.index(b"test package")  # the Summary, in the main header
    data[summary] ^= 0x20  # "Test package": still a well-formed header, not the signed one
    original.write_bytes(bytes(data))
    createrepo(served, groups={"core": ["hello", "kernel"]})
    digest = hashlib.sha256(bytes(data)).hexdigest()
    cached = tmp_path / "cache/rpms" / digest[:2] / f"{digest[2:]}-{original.name}"
    with_packages(treefile, "extra")
    r = compose(treefile, tmp_path)
    message = error_message(r, 1)
    assert message.startswith("extra-1.0-1.x86_64: corrupt package (")
    assert message.endswith(f"): {cached}; removed from the cache")
    assert not cached.exists()
    assert_untouched(tmp_path, before)


def corrupt_primary(served: Path) -> None:
    """A mirror mid-sync: a new repomd.xml whose primary.xml.gz does not match it."""
    repomd = served / "repodata/repomd.xml"
    repomd.write_text(
        re.sub(r"<revision>\d+</revision>", "<revision>1</revision>", repomd.read_text())
    )
    (primary,) = (served / "repodata").glob("*-primary.xml.gz")
    data = bytearray(primary.read_bytes())
    data[len(data) // 2] ^= 0xFF
    primary.write_bytes(data)


def test_metadata_that_does_not_match_repomd(tmp_path: Path, served: Path) -> None:
    treefile, before = baseline(tmp_path, served.as_uri())
    revision = (tmp_path / "cache/repos/test-repo/.revision").read_text()
    original = {p: p.read_bytes() for p in (served / "repodata").iterdir()}
    corrupt_primary(served)
    r = compose(treefile, tmp_path, "--force-nocache")
    message = error_message(r, 1)
    assert message.startswith(f"repo 'test-repo' ({served.as_uri()}): cannot fetch metadata: ")
    assert "primary.xml.gz" in message and "checksum doesn't match" in message
    assert_untouched(tmp_path, before)
    # The cache still holds the last good metadata, whole.
    assert (tmp_path / "cache/repos/test-repo/.revision").read_text() == revision
    for path, data in original.items():
        path.write_bytes(data)
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert f"{REF}: unchanged" in r.stdout


def test_metadata_mismatch_on_the_first_fetch_writes_nothing(tmp_path: Path, served: Path) -> None:
    corrupt_primary(served)
    treefile = write_treefile(tmp_path / "config", served.as_uri(), TREE)
    r = compose(treefile, tmp_path)
    assert "checksum doesn't match" in error_message(r, 1)
    assert_untouched(tmp_path, {})
    assert not (tmp_path / "repo").exists()
    assert not (tmp_path / "cache/repos/test-repo").exists()


def test_unreachable_repository(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    (treefile.parent / "test-repo.repo").write_text("[test-repo]\nbaseurl=http://127.0.0.1:9/\n")
    r = compose(treefile, tmp_path)
    message = error_message(r, 1)
    assert message.startswith("repo 'test-repo' (http://127.0.0.1:9/): cannot fetch metadata: ")
    assert "Couldn't connect to server" in message
    assert_untouched(tmp_path, before)
    assert (tmp_path / "cache/repos/test-repo/.revision").is_file()


def test_repository_not_defined_in_any_repo_file(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    treefile.write_text(TREE.replace("[test-repo]", "[test-repo, nosuch-repo]"))
    r = compose(treefile, tmp_path)
    assert error_message(r, 2) == (
        f"{treefile}: repos[1]: 'nosuch-repo' is not defined in any *.repo file in "
        f"{treefile.parent}"
    )
    assert_untouched(tmp_path, before)


def test_a_ref_under_candidates_is_refused(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    treefile.write_text(TREE.replace(f"ref: {REF}", "ref: candidates/x86_64/base"))
    r = compose(treefile, tmp_path)
    assert error_message(r, 2).startswith(
        f"{treefile}: ref: 'candidates/x86_64/base' is under candidates/, which older composes "
    )
    assert_untouched(tmp_path, before)


# --- scriptlets ---


def test_failing_post_scriptlet(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    with_packages(treefile, "failing-post")
    r = compose(treefile, tmp_path)
    assert error_message(r, 1) == (
        "failing-post: %post scriptlet failed with exit status 3: oops from post 1 | to stderr"
    )
    assert_untouched(tmp_path, before)
    assert "failing-post" in cached_packages(tmp_path)  # complete imports are kept


def test_lua_scriptlet_is_refused_unless_ignored(tmp_path: Path, errors_repo: Path) -> None:
    treefile, before = baseline(tmp_path, errors_repo.as_uri())
    with_packages(treefile, "lua-post")
    r = compose(treefile, tmp_path)
    assert error_message(r, 2) == (
        "lua-post-1.0-1.x86_64: %post is a Lua scriptlet, which fedostree cannot run; "
        "a treefile skips it with ignore-scripts: ['lua-post.post']"
    )
    assert_untouched(tmp_path, before)

    with_packages(treefile, "lua-post", extra="ignore-scripts: [lua-post.post]\n")
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert f"{REF}: committed" in r.stdout
    after = refs(tmp_path / "repo")[REF]
    assert after != before[REF]
    fsck(tmp_path / "repo")
    co = tmp_path / "co"
    ostree(tmp_path / "repo", "checkout", REF, str(co))
    assert "lua-post" in rpmdb_names(co)
    assert (co / "usr/share/lua-post").is_file()


def test_ignore_scripts_of_every_scriptlet_of_a_package(tmp_path: Path, errors_repo) -> None:
    treefile = write_treefile(tmp_path / "config", errors_repo.as_uri(), TREE)
    with_packages(
        treefile, "failing-post", "lua-post", extra="ignore-scripts: [failing-post.*, lua-post.*]\n"
    )
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    fsck(tmp_path / "repo")


# --- tracebacks only with --debug ---


def test_debug_shows_the_traceback(tmp_path: Path, errors_repo: Path) -> None:
    treefile = write_treefile(tmp_path / "config", errors_repo.as_uri(), TREE)
    with_packages(treefile, "nosuch-package")
    args = ("compose", "tree", treefile, "--repo", tmp_path / "repo")
    args += ("--cachedir", tmp_path / "cache")
    r = run(*args)
    assert "Traceback" not in r.stderr
    assert error_message(r, 1) == "packages: 'nosuch-package' not found in any repository"
    r = run("--debug", *args)
    assert r.exit_code == 1
    assert "Traceback (most recent call last):" in r.stderr
    assert (
        "fedostree.errors.ResolveError: packages: 'nosuch-package' not found in any repository"
        in r.stderr
    )
    assert (
        r.stderr.splitlines()[-1] == "error: packages: 'nosuch-package' not found in any repository"
    )


def test_debug_shows_the_traceback_of_a_scriptlet_failure(tmp_path: Path, errors_repo) -> None:
    treefile = write_treefile(tmp_path / "config", errors_repo.as_uri(), TREE)
    with_packages(treefile, "failing-post")
    r = run(
        "--debug",
        "compose",
        "tree",
        treefile,
        "--repo",
        tmp_path / "repo",
        "--cachedir",
        tmp_path / "cache",
    )
    assert r.exit_code == 1
    assert "Traceback (most recent call last):" in r.stderr
    assert "ScriptletError" in r.stderr
    assert_untouched(tmp_path, {})


def test_work_directories_a_killed_compose_left_are_removed(
    tmp_path: Path, errors_repo: Path
) -> None:
    """A compose killed during assembly leaves CACHEDIR/compose-*: the next run removes
    what no live process holds (its .lock is free, or it predates the locks), and leaves
    the directory of a compose still running."""
    treefile, _ = baseline(tmp_path, errors_repo.as_uri())
    cache = tmp_path / "cache"
    unlocked, old = cache / "compose-killed", cache / "compose-old"
    for stale in (unlocked, old):
        (stale / "rootfs/usr/bin").mkdir(parents=True)
        (stale / "rootfs/usr/bin/x").write_text("left by a killed compose\n")
    (unlocked / ".lock").touch()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    busy = cache / "compose-busy"
    (busy / "rootfs").mkdir(parents=True)
    (busy / ".lock").touch()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1]); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(600)",
         str(busy / ".lock")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        r = compose(treefile, tmp_path, "--force-nocache")
        assert r.exit_code == 0, r.stderr
        assert sorted(p.name for p in cache.glob("compose-*")) == ["compose-busy"]
    finally:
        holder.kill()
        holder.wait()
