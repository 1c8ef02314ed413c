"""A client killed mid-pull: nothing is half-deployed, and the next run resumes from the
objects the killed one already fetched. The server is slow on purpose (a sleep per
request) so that SIGKILL lands while objects are still arriving."""

from __future__ import annotations

import functools
import http.server
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedostree.engine.ostree import Gio, OSTree
from tests.support.cli import fsck
from tests.support.client import (
    OTHER_REF,
    REF,
    REMOTE,
    Server,
    Trees,
    add_remote,
    admin_status,
    booted_order,
    checksums,
    client,
    snapshot,
)

DELAY = 0.1  # seconds per request


class _SlowHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory, sleeping before each request, recording the object paths asked for."""

    def __init__(self, *args: object, requests: list[str], **kwargs: object) -> None:
        self.requests = requests
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.path.startswith("/objects/"):
            self.requests.append(self.path)
        time.sleep(DELAY)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


class SlowServer:
    def __init__(self, directory: Path) -> None:
        self.requests: list[str] = []
        handler = functools.partial(_SlowHandler, requests=self.requests, directory=str(directory))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def fetched(self) -> set[str]:
        """Checksums of the objects requested so far (not counting the probes for a
        commit's detached metadata, which a pull makes every time)."""
        return {m.group(1) + m.group(2) for p in self.requests if (m := _OBJECT.match(p))}

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


_OBJECT = re.compile(r"/objects/([0-9a-f]{2})/([0-9a-f]{62})\.(?:commit|dirtree|dirmeta|filez)$")


@pytest.fixture
def slow_server(server: Server) -> Iterator[SlowServer]:
    s = SlowServer(server.repo)
    yield s
    s.stop()


def staged_objects(repo: Path) -> set[str]:
    """Checksums of the objects a pull has written to its staging directory, not yet
    committed to the repository."""
    out = set()
    for staging in (repo / "tmp").glob("staging-*"):
        for path in staging.glob("??/*.*"):
            out.add(path.parent.name + path.name.split(".")[0])
    return out


def kill_once_objects_are_staged(proc: subprocess.Popen[bytes], repo: Path) -> set[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the pull finished before it could be killed: {proc.stderr}"
        if len(staged_objects(repo)) >= 3:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return staged_objects(repo)
        time.sleep(0.01)
    raise AssertionError("no objects were staged within 60s")


def test_a_killed_pull_deploys_nothing_and_the_next_run_resumes(
    sysroot: Path, server: Server, slow_server: SlowServer, trees: Trees
) -> None:
    add_remote(sysroot, server.url)
    assert client(sysroot, "rebase", f"{REMOTE}:{OTHER_REF}").exit_code == 0
    add_remote(sysroot, slow_server.url, name="slow")
    before = snapshot(sysroot)
    local = sysroot / "ostree/repo"

    cmd = [sys.executable, "-m", "fedostree", "rebase", "--sysroot", str(sysroot), f"slow:{REF}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staged = kill_once_objects_are_staged(proc, local)
    assert proc.returncode == -signal.SIGKILL
    first_run = slow_server.fetched()

    assert snapshot(sysroot) == before
    assert admin_status(sysroot) == [(trees.other, 0)]
    assert booted_order(sysroot) == [trees.other]
    fsck(local)

    slow_server.requests.clear()
    r = client(sysroot, "rebase", f"slow:{REF}")
    assert r.exit_code == 0, r.stderr
    assert checksums(sysroot) == [trees.v1, trees.other]
    assert booted_order(sysroot) == [trees.v1, trees.other]
    second_run = slow_server.fetched()
    # Everything the killed run had staged was kept, not fetched again: the resumed pull
    # asks for fewer objects than a pull from scratch would.
    assert staged <= first_run
    assert not staged & second_run, (len(first_run), len(staged), len(second_run))
    assert not list((local / "tmp").glob("staging-*/??/*")), "staging emptied into the repo"
    fsck(local)


def test_a_verb_waits_for_the_sysroot_lock(deployed: Path, server: Server, trees: Trees) -> None:
    """Two verbs never interleave: while another process holds the sysroot lock, upgrade
    waits (saying so) and changes nothing; once the lock is released it goes through."""
    server.publish(REF, trees.v2)
    holder = OSTree.Sysroot.new(Gio.File.new_for_path(str(deployed)))
    holder.load(None)
    holder.lock()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fedostree", "upgrade", "--sysroot", str(deployed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 30)
        assert ready, "upgrade said nothing while waiting for the lock"
        waiting = proc.stderr.readline()
        assert waiting == f"warning: waiting for another operation on {deployed} to finish\n"
        time.sleep(0.5)
        assert proc.poll() is None
        assert checksums(deployed) == [trees.v1]
    finally:
        holder.unlock()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith(f"Deployed {REMOTE}:{REF}: {trees.v2[:12]} (20.1)\n")
    assert checksums(deployed) == [trees.v2, trees.v1]
    assert booted_order(deployed) == [trees.v2, trees.v1]
