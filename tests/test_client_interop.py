"""Interoperability: the stock ostree CLI pulls and deploys from `fedostree serve`, and
fedostree's client and the stock `ostree admin` work on each other's deployments."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ostree
from tests.support.client import (
    KVER,
    OSNAME,
    REF,
    REMOTE,
    Server,
    Trees,
    admin_status,
    boot_entries,
    booted_order,
    checksums,
    client,
    copy_repo,
    status,
)


def admin(sysroot: Path, *args: str) -> str:
    r = subprocess.run(
        ["ostree", "admin", *args, "--sysroot", str(sysroot)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_stock_ostree_pulls_and_deploys_from_fedostree_serve(
    sysroot: Path, server: Server, trees: Trees
) -> None:
    repo = sysroot / "ostree/repo"
    ostree(repo, "remote", "add", "--no-gpg-verify", REMOTE, server.url)
    ostree(repo, "pull", REMOTE, REF)
    admin(sysroot, "deploy", "--os", OSNAME, f"{REMOTE}:{REF}")

    [entry] = boot_entries(sysroot)
    assert entry.options.startswith(f"ostree=/ostree/boot.1/{OSNAME}/")
    assert entry.linux.endswith(f"/vmlinuz-{KVER}")
    assert entry.deployment == f"{trees.v1}.0"
    [info] = status(sysroot)
    assert (info["checksum"], info["origin"], info["version"]) == (
        trees.v1,
        f"{REMOTE}:{REF}",
        "20",
    )

    # fedostree upgrades what the stock tools deployed ...
    server.publish(REF, trees.v2)
    r = client(sysroot, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert admin_status(sysroot) == [(trees.v2, 0), (trees.v1, 0)]
    # ... and the stock tools roll back what fedostree deployed.
    admin(sysroot, "undeploy", "0")
    assert checksums(sysroot) == [trees.v1]
    assert booted_order(sysroot) == [trees.v1]


def test_stock_ostree_admin_upgrade_through_the_static_delta(
    sysroot: Path, server: Server, trees: Trees, caplog: pytest.LogCaptureFixture
) -> None:
    repo = sysroot / "ostree/repo"
    ostree(repo, "remote", "add", "--no-gpg-verify", REMOTE, server.url)
    ostree(repo, "pull", REMOTE, REF)
    admin(sysroot, "deploy", "--os", OSNAME, f"{REMOTE}:{REF}")
    server.publish(REF, trees.v2)
    assert f"{trees.v1}-{trees.v2}" in ostree(server.repo, "static-delta", "list")
    caplog.set_level(logging.DEBUG, logger="fedostree.server.serve")
    admin(sysroot, "upgrade", "--os", OSNAME)
    requests = [m for m in caplog.messages if '"GET ' in m]
    # The superblock and the delta's part: the update came as the delta (libostree may
    # still fetch a few new objects loose, racing the part's application).
    assert any(re.search(r"GET /deltas/\S+/superblock ", m) for m in requests), requests
    assert any(re.search(r"GET /deltas/\S+/0 ", m) for m in requests), requests
    assert checksums(sysroot) == [trees.v2, trees.v1]
    assert booted_order(sysroot) == [trees.v2, trees.v1]
    assert ostree(repo, "cat", trees.v2, "/usr/etc/newtool.conf") == "mode=new\n"


def test_fedostree_serve_as_a_process(sysroot: Path, trees: Trees, tmp_path: Path) -> None:
    repo = copy_repo(trees, tmp_path / "served")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fedostree", "serve", "--repo", str(repo), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        prefix = f"Serving {repo} on http://127.0.0.1:"
        assert first.startswith(prefix) and first.endswith("/\n"), first
        port = int(first[len(prefix) : -2])
        url = f"http://127.0.0.1:{port}/"

        r = client(sysroot, "remote", "add", "--no-gpg-verify", REMOTE, url)
        assert r.exit_code == 0, r.stderr
        r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
        assert r.exit_code == 0, r.stderr
        assert checksums(sysroot) == [trees.v1]
        ostree(sysroot / "ostree/repo", "pull", REMOTE, REF)  # the stock client too
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode in (0, -signal.SIGTERM), proc.stderr.read() if proc.stderr else ""
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "nothing listens once it is stopped"
