"""`fedostree autobuild`: polls the rpm-md repositories over real HTTP (repomd.xml alone),
composes when something changed and only what changed, keeps a log per run and the state
of the last successful run in the published repository, and holds a lock."""

from __future__ import annotations

import fcntl
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fedostree.server.autobuild_record import prune_quiet_logs
from tests.support.cli import error_message, ostree, run
from tests.support.client import RELEASE
from tests.support.rpms import (
    Pkg,
    base_packages,
    build_rpms,
    createrepo,
    demo_packages,
    sha256_file,
)

A = "testos/rawhide/x86_64/base/a"
B = "testos/rawhide/x86_64/tools/b"
TOOL = Pkg("tool", files={"/usr/bin/tool": "#!/bin/sh\necho tool 1.0\n"})
TOOL_1_1 = Pkg("tool", version="1.1", files={"/usr/bin/tool": "#!/bin/sh\necho tool 1.1\n"})
AUTOBUILD = Path("extensions/fedostree/autobuild")


class RepoServer:
    """A directory served over HTTP on 127.0.0.1, stoppable to make it unreachable."""

    def __init__(self, directory: Path) -> None:
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(directory), **kwargs)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._running = False


@pytest.fixture(scope="module")
def pristine_rpms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OS packages, and tool 1.0 that only tree B contains."""
    root = tmp_path_factory.mktemp("autobuild-rpms")
    build_rpms([*base_packages(), *demo_packages(), RELEASE, TOOL], root / "rpms", root / "work")
    return root / "rpms"


@pytest.fixture
def rpms(tmp_path: Path, pristine_rpms: Path) -> Path:
    """This test's own rpm-md repository, which it may update."""
    repo = shutil.copytree(pristine_rpms, tmp_path / "rpms")
    createrepo(repo)
    return repo


@pytest.fixture
def server(rpms: Path) -> Iterator[RepoServer]:
    srv = RepoServer(rpms)
    yield srv
    srv.stop()


def write_products(config: Path, baseurl: str, **extra: Any) -> Path:
    config.mkdir(parents=True, exist_ok=True)
    (config / "test-repo.repo").write_text(f"[test-repo]\nbaseurl={baseurl}\ngpgcheck=0\n")
    doc = {
        "osname": "testos",
        "releases": ["rawhide"],
        "repos": ["test-repo"],
        "products": {
            "base": {"a": {"packages": ["hello", "kernel", "fedora-release"]}},
            "tools": {"b": {"packages": ["hello", "kernel", "fedora-release", "tool"]}},
        },
        **extra,
    }
    path = config / "products.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def autobuild(products: Path, work: Path, *extra: str | Path) -> Any:
    return run("autobuild", products, "--repo", work / "repo", "--cachedir", work / "cache", *extra)


def published(repo: Path) -> dict[str, str]:
    """Published refs: every ref but the candidates:REF ones."""
    if not (repo / "config").exists():
        return {}
    names = [r for r in ostree(repo, "refs").split() if not r.startswith("candidates:")]
    return {r: ostree(repo, "rev-parse", r).strip() for r in names}


def run_logs(repo: Path) -> list[Path]:
    return sorted((repo / AUTOBUILD / "runs").glob("*.log"), key=lambda p: p.stat().st_mtime)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def tree_lines(stdout: str) -> dict[str, str]:
    return {line.split(": ")[0]: line for line in stdout.splitlines() if ": " in line}


# --- one run at a time ---


@pytest.mark.slow
def test_once_composes_what_changed_and_only_that(
    tmp_path: Path, rpms: Path, server: RepoServer
) -> None:
    products = write_products(tmp_path / "config", server.url)
    repo = tmp_path / "repo"

    # First run: nothing recorded, both trees are composed.
    r = autobuild(products, tmp_path, "--once")
    assert r.exit_code == 0, r.stderr
    lines = tree_lines(r.stdout)
    assert lines[A].startswith(f"{A}: committed rawhide (")
    assert lines[B].startswith(f"{B}: committed rawhide (")
    first = published(repo)
    assert sorted(first) == [A, B]
    state = read_json(repo / AUTOBUILD / "state.json")
    repomd = sha256_file(rpms / "repodata/repomd.xml")
    assert state["repos"] == [{"id": "test-repo", "url": server.url, "repomd": repomd}]
    latest = read_json(repo / AUTOBUILD / "latest.json")
    assert latest["outcome"] == "success" and latest["exit_code"] == 0
    assert [(t["ref"], t["outcome"]) for t in latest["trees"]] == [
        (A, "committed"),
        (B, "committed"),
    ]
    (log1,) = run_logs(repo)
    assert latest["log"] == f"runs/{log1.name}"
    text = log1.read_text()
    assert f"polled repo 'test-repo' ({server.url}): repomd.xml sha256 {repomd}" in text
    assert f"{A}: committed rawhide" in text and f"{B}: committed rawhide" in text

    # Second run: the same repomd.xml and products; rpm-ostree's "nothing to do".
    r = autobuild(products, tmp_path, "--once")
    assert r.exit_code == 77, r.stderr
    assert r.stdout.startswith("no change since the last run (1 repository polled)")
    assert "committed" not in r.stdout and "unchanged" not in r.stdout
    assert published(repo) == first
    log2 = run_logs(repo)[-1]
    assert log2 != log1 and "no change" in log2.read_text()
    assert read_json(repo / AUTOBUILD / "latest.json")["outcome"] == "no-change"

    # A new tool, which only tree B contains: B is recomposed, A is unchanged.
    (rpms / "tool-1.0-1.x86_64.rpm").unlink()
    build_rpms([TOOL_1_1], rpms, tmp_path / "work")
    createrepo(rpms)
    r = autobuild(products, tmp_path, "--once")
    assert r.exit_code == 0, r.stderr
    lines = tree_lines(r.stdout)
    assert lines[A] == f"{A}: unchanged rawhide ({first[A][:12]})"
    assert lines[B].startswith(f"{B}: committed rawhide.1 (")
    second = published(repo)
    assert second[A] == first[A] and second[B] != first[B]
    assert "('tool', '0', '1.1', '1', 'x86_64')" in ostree(
        repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", B
    )
    log3 = run_logs(repo)[-1]
    assert f"changed: repo 'test-repo' ({server.url})" in log3.read_text()
    assert f"{A}: unchanged" in log3.read_text() and f"{B}: committed" in log3.read_text()
    # after the composes: B's static delta, listed in the summary
    assert f"{first[B]}-{second[B]}" in ostree(repo, "static-delta", "list")
    assert f"{first[B]}-{second[B]}" in ostree(repo, "summary", "--view")
    assert "static deltas: 1 generated" in log3.read_text()

    # The products file changed (repos did not): a run, in which nothing is recomposed.
    write_products(tmp_path / "config", server.url, comment="edited")
    r = autobuild(products, tmp_path, "--once")
    assert r.exit_code == 0, r.stderr
    assert [line.split(": ")[1].split()[0] for line in r.stdout.splitlines()] == [
        "unchanged",
        "unchanged",
    ]
    assert autobuild(products, tmp_path, "--once").exit_code == 77

    # The repository is unreachable (and has changed): one error naming it, exit 1, the
    # refs stay, and the state is not advanced, so the next poll retries.
    state_before = (repo / AUTOBUILD / "state.json").read_bytes()
    build_rpms([Pkg("extra")], rpms, tmp_path / "work")
    createrepo(rpms)
    server.stop()
    r = autobuild(products, tmp_path, "--once")
    message = error_message(r, 1)
    assert message.startswith(f"repo 'test-repo' ({server.url}): cannot fetch metadata: ")
    assert published(repo) == second
    assert (repo / AUTOBUILD / "state.json").read_bytes() == state_before
    latest = read_json(repo / AUTOBUILD / "latest.json")
    assert latest["outcome"] == "failed" and latest["errors"] == [message]
    assert f"error: {message}" in run_logs(repo)[-1].read_text()
    assert len(run_logs(repo)) == 6


@pytest.mark.slow
def test_a_tree_failing_its_tests_is_not_published_and_retried(
    tmp_path: Path, rpms: Path, server: RepoServer
) -> None:
    products = write_products(tmp_path / "config", server.url)
    repo = tmp_path / "repo"
    assert autobuild(products, tmp_path, "--once").exit_code == 0
    first = published(repo)
    state = (repo / AUTOBUILD / "state.json").read_bytes()

    # tool 1.1 ships a dangling symlink under /usr: tree B fails usr-symlinks.
    (rpms / "tool-1.0-1.x86_64.rpm").unlink()
    broken = Pkg("tool", version="1.1", files={"/usr/bin/tool": ("symlink", "/usr/bin/nosuch")})
    build_rpms([broken], rpms, tmp_path / "work")
    createrepo(rpms)
    for _ in range(2):  # the state is not advanced: the next poll retries (and fails again)
        r = autobuild(products, tmp_path, "--once")
        message = error_message(r, 1)
        assert message.startswith(f"{B}: tests failed: usr-symlinks (candidates:{B} is ")
        lines = tree_lines(r.stdout)
        assert lines[A] == f"{A}: unchanged rawhide ({first[A][:12]})"
        assert lines[B].startswith(f"{B}: failed tests rawhide.1 (")
        assert published(repo) == first
        assert (repo / AUTOBUILD / "state.json").read_bytes() == state
        latest = read_json(repo / AUTOBUILD / "latest.json")
        assert latest["outcome"] == "failed"
        assert latest["trees"][1]["failed_checks"] == ["usr-symlinks"]
    candidate = ostree(repo, "rev-parse", f"candidates:{B}").strip()
    assert candidate != first[B] and lines[B].endswith(
        f"({candidate[:12]}: usr-symlinks); not published"
    )

    # Fixed: B is published, and the state advances.
    (rpms / "tool-1.1-1.x86_64.rpm").unlink()
    build_rpms([TOOL_1_1], rpms, tmp_path / "work")
    createrepo(rpms)
    r = autobuild(products, tmp_path, "--once")
    assert r.exit_code == 0, r.stderr
    assert tree_lines(r.stdout)[B].startswith(f"{B}: committed rawhide.2 (")
    assert published(repo)[B] != first[B]
    assert autobuild(products, tmp_path, "--once").exit_code == 77


def test_unreachable_repository_on_a_first_run(tmp_path: Path) -> None:
    url = closed_port_url()
    products = write_products(tmp_path / "config", url)
    r = autobuild(products, tmp_path, "--once")
    message = error_message(r, 1)
    assert message.startswith(f"repo 'test-repo' ({url}): cannot fetch metadata: ")
    repo = tmp_path / "repo"
    assert published(repo) == {}
    assert not (repo / AUTOBUILD / "state.json").exists()
    latest = read_json(repo / AUTOBUILD / "latest.json")
    assert latest["outcome"] == "failed" and latest["exit_code"] == 1
    assert latest["repos"][0]["error"] == message
    assert [(t["ref"], t["outcome"], t["error"]) for t in latest["trees"]] == [
        (A, "not-composed", "repo 'test-repo' unreachable"),
        (B, "not-composed", "repo 'test-repo' unreachable"),
    ]
    assert tree_lines(r.stdout)[A] == f"{A}: not composed: repo 'test-repo' unreachable"
    (log,) = run_logs(repo)
    assert "unreachable" in log.read_text() and "outcome: failed (exit 1)" in log.read_text()

    r = autobuild(products, tmp_path, "--once", "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc == read_json(repo / AUTOBUILD / "latest.json")
    assert doc["outcome"] == "failed" and doc["log"] == f"runs/{run_logs(repo)[-1].name}"


def test_logs_of_runs_with_nothing_to_do_are_pruned(tmp_path: Path) -> None:
    runs = tmp_path / AUTOBUILD / "runs"
    runs.mkdir(parents=True)
    outcomes = ["success (exit 0)", *["no-change (exit 77)"] * 4, "failed (exit 1)"]
    for i, outcome in enumerate(outcomes):
        path = runs / f"2024010{i}T000000Z.log"
        path.write_text(
            f"2024-01-0{i}T00:00:00Z polled ...\n2024-01-0{i}T00:00:00Z outcome: {outcome}\n"
        )
        os.utime(path, (1700000000 + i, 1700000000 + i))
    prune_quiet_logs(tmp_path, keep=2)
    assert [p.name[:9] for p in run_logs(tmp_path)] == [
        "20240100T",
        "20240103T",
        "20240104T",
        "20240105T",
    ]


# --- usage and configuration ---


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["--once", "--interval", "5"], "autobuild: --interval and --once are mutually exclusive"),
        ([], "autobuild: give --interval SECONDS (poll forever) or --once (one run)"),
        (["--once", "--gpg-homedir", "/tmp"], "--gpg-homedir applies only with --gpg-sign"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], what: str) -> None:
    products = write_products(tmp_path / "config", closed_port_url())
    r = autobuild(products, tmp_path, *args)
    assert error_message(r, 2) == what
    assert not (tmp_path / "repo").exists()


def test_bad_products_exit_2_and_write_nothing(tmp_path: Path) -> None:
    products = write_products(tmp_path / "config", closed_port_url(), postprocess=["coffee"])
    r = autobuild(products, tmp_path, "--once")
    assert error_message(r, 2).startswith(f"{products}: postprocess: unknown step 'coffee'")
    assert not (tmp_path / "repo").exists()


def test_undefined_repository_exits_2(tmp_path: Path) -> None:
    products = write_products(tmp_path / "config", closed_port_url(), repos=["nosuch"])
    r = autobuild(products, tmp_path, "--once")
    assert "'nosuch' is not defined in any *.repo file" in error_message(r, 2)


# --- the lock ---


def test_a_second_autobuild_fails_while_the_lock_is_held(tmp_path: Path) -> None:
    products = write_products(tmp_path / "config", closed_port_url())
    repo = tmp_path / "repo"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(repo / AUTOBUILD / "lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        r = autobuild(products, tmp_path, "--once")
        assert error_message(r, 1) == f"another autobuild (pid {holder.pid}) is working on {repo}"
        assert run_logs(repo) == []
    finally:
        holder.kill()
        holder.wait()
    r = autobuild(products, tmp_path, "--once")  # released with its holder
    assert "cannot fetch metadata" in error_message(r, 1)
    with (repo / AUTOBUILD / "lock").open("r+") as f:  # and by a finished autobuild
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


HOLD_LOCK = """
import fcntl, os, sys, time
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
f.truncate(0); f.write(f"{os.getpid()}\\n"); f.flush()
print("locked", flush=True)
time.sleep(600)
"""


# --- the loop ---


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def latest_outcome(repo: Path) -> str | None:
    try:
        return str(read_json(repo / AUTOBUILD / "latest.json")["outcome"])
    except (FileNotFoundError, ValueError):
        return None


@pytest.mark.slow
def test_interval_loops_through_errors_until_sigterm(tmp_path: Path, server: RepoServer) -> None:
    products = write_products(tmp_path / "config", server.url)
    repo = tmp_path / "repo"
    cmd = [sys.executable, "-m", "fedostree", "autobuild", str(products), "--repo", str(repo)]
    cmd += ["--cachedir", str(tmp_path / "cache"), "--interval", "0.1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # A first run composes, the next ones find nothing to do.
        wait_for(lambda: latest_outcome(repo) == "no-change", "a run with nothing to do")
        assert sorted(published(repo)) == [A, B]

        # Meanwhile, a second autobuilder on the same repository gives up at once.
        r = autobuild(products, tmp_path, "--once")
        assert error_message(r, 1) == f"another autobuild (pid {proc.pid}) is working on {repo}"

        # The repository goes away: each run fails, and the loop goes on.
        server.stop()
        wait_for(lambda: latest_outcome(repo) == "failed", "a failed run")
        failed_runs = len(run_logs(repo))
        wait_for(lambda: len(run_logs(repo)) >= failed_runs + 2, "two more runs")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{A}: committed rawhide" in out and f"{B}: committed rawhide" in out
    assert "no change since the last run" in out
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors and all(f"repo 'test-repo' ({server.url})" in e for e in errors), err
    assert err.splitlines()[-1] == "autobuild: stopped"
    assert (repo / AUTOBUILD / "lock").read_text() == ""
    with (repo / AUTOBUILD / "lock").open("r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert os.path.exists(repo / AUTOBUILD / "state.json")


class SlowRepoServer(RepoServer):
    """Answers repomd.xml only once `release` is set, telling `asked` it has been asked."""

    def __init__(self, directory: Path) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()
        super().__init__(directory)
        handler = self._httpd.RequestHandlerClass
        asked, release = self.asked, self.release

        class Slow(handler):  # type: ignore[valid-type,misc]
            def do_GET(self) -> None:
                if self.path.endswith("repomd.xml"):
                    asked.set()
                    release.wait(30)
                super().do_GET()

        self._httpd.RequestHandlerClass = Slow


def test_sigterm_in_the_middle_of_a_run(tmp_path: Path, rpms: Path) -> None:
    """The run is abandoned as it stands (recorded as interrupted, nothing recorded in
    the state), the lock is released; --once exits 143."""
    server = SlowRepoServer(rpms)
    try:
        products = write_products(tmp_path / "config", server.url)
        repo = tmp_path / "repo"
        cmd = [sys.executable, "-m", "fedostree", "autobuild", str(products), "--once"]
        cmd += ["--repo", str(repo), "--cachedir", str(tmp_path / "cache")]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert server.asked.wait(60), "the autobuild never polled"
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # librepo's transfer is under way; the signal lands when it returns
        server.release.set()
        out, err = proc.communicate(timeout=60)
    finally:
        server.release.set()
        server.stop()
    assert proc.returncode == 143, err
    assert out == ""
    assert err.splitlines()[-1].startswith("error: stopped by SIGTERM")
    assert latest_outcome(repo) == "interrupted"
    assert run_logs(repo)[-1].read_text().endswith(" outcome: interrupted\n")
    assert published(repo) == {}
    assert not (repo / AUTOBUILD / "state.json").exists()
    with (repo / AUTOBUILD / "lock").open("r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
