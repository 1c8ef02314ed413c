"""The client verbs failing: each failure gives its exit code and one `error:` line that
says what went wrong, and leaves the sysroot as it was: the same deployments (ours and the
stock `ostree admin status`), boot entries, bootversion and deployment directories."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.cli import error_message, fsck, ostree, run
from tests.support.client import (
    OTHER_REF,
    REF,
    REMOTE,
    Server,
    Trees,
    add_remote,
    checksums,
    client,
    file_checksum,
    snapshot,
    tamper_filez,
)

UNREACHABLE = "http://127.0.0.1:9/"


def test_rebase_to_an_unknown_ref(deployed: Path) -> None:
    before = snapshot(deployed)
    r = client(deployed, "rebase", f"{REMOTE}:test/x86_64/nope")
    message = error_message(r, 1)
    assert message.startswith(f"pull from '{REMOTE}' (test/x86_64/nope): ")
    assert "test/x86_64/nope" in message.split(": ", 1)[1]
    assert snapshot(deployed) == before


def test_rebase_from_an_unreachable_remote(deployed: Path) -> None:
    add_remote(deployed, UNREACHABLE, name="down")
    before = snapshot(deployed)
    r = client(deployed, "rebase", f"down:{REF}")
    message = error_message(r, 1)
    assert message.startswith(f"pull from 'down' ({REF}): ")
    assert "127.0.0.1" in message or "onnect" in message, message
    assert snapshot(deployed) == before


def test_upgrade_when_the_server_is_gone(deployed: Path, server: Server) -> None:
    server.stop()
    before = snapshot(deployed)
    assert error_message(client(deployed, "upgrade"), 1).startswith(f"pull from '{REMOTE}' ")
    assert error_message(client(deployed, "upgrade", "--check"), 1).startswith("pull from")
    assert snapshot(deployed) == before


def drop_static_deltas(repo: Path) -> None:
    """Serve loose objects only, as a repository without deltas does."""
    for delta in ostree(repo, "static-delta", "list").split():
        if "-" in delta or len(delta) >= 43:
            ostree(repo, "static-delta", "delete", delta)
    ostree(repo, "summary", "-u")


def test_a_corrupt_object_on_the_server_is_refused(
    deployed: Path, server: Server, trees: Trees
) -> None:
    server.publish(REF, trees.v2)
    drop_static_deltas(server.repo)
    checksum = file_checksum(server.repo, trees.v2, "/usr/etc/newtool.conf")
    tampered = tamper_filez(server.repo, checksum)
    before = snapshot(deployed)

    message = error_message(client(deployed, "upgrade"), 1)
    assert message.startswith(f"pull from '{REMOTE}' ({REF}): ")
    assert f"Corrupted file object; checksum expected='{checksum}' actual=" in message
    assert snapshot(deployed) == before
    local = deployed / "ostree/repo"
    fsck(local)

    # Once the server has the right object again, the upgrade goes through.
    shutil.copyfile(trees.repo / tampered.relative_to(server.repo), tampered)
    r = client(deployed, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert checksums(deployed) == [trees.v2, trees.v1]
    fsck(local)


def test_a_tree_that_cannot_boot_leaves_no_half_made_deployment(
    deployed: Path, server: Server, trees: Trees, tmp_path: Path
) -> None:
    """Trees the server's admin committed by hand, one without a kernel and one without
    os-release: libostree refuses each partway through deploying, and nothing of the
    attempt stays in the sysroot."""
    bare = tmp_path / "bare"
    (bare / "usr/bin").mkdir(parents=True)
    (bare / "usr/bin/tool").write_text("tool\n")
    ostree(server.repo, "commit", "--branch=test/nokernel", f"--tree=dir={bare}", "-s", "x")
    checkout = tmp_path / "checkout"
    ostree(server.repo, "checkout", "-U", trees.v1, str(checkout))
    (checkout / "usr/lib/os-release").unlink()
    (checkout / "usr/etc/os-release").unlink()
    ostree(server.repo, "commit", "--branch=test/norelease", f"--tree=dir={checkout}", "-s", "x")
    ostree(server.repo, "summary", "-u")
    before = snapshot(deployed)

    for ref, cause in (
        ("test/nokernel", "Failed to find kernel"),
        ("test/norelease", "os-release"),
    ):
        message = error_message(client(deployed, "rebase", f"{REMOTE}:{ref}"), 1)
        assert message.startswith("deploying ") and cause in message, message
        assert snapshot(deployed) == before
    r = client(deployed, "rebase", f"{REMOTE}:{OTHER_REF}")
    assert r.exit_code == 0, r.stderr
    assert checksums(deployed) == [trees.other, trees.v1]


def test_a_missing_sysroot(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    for verb in (
        ["status"],
        ["status", "--json"],
        ["rebase", f"{REMOTE}:{REF}"],
        ["upgrade"],
        ["deploy", "20"],
        ["rollback"],
        ["cleanup", "-b"],
        ["pin", "0"],
        ["db", "list"],
        ["remote", "list"],
        ["remote", "add", "x", "http://x/"],
    ):
        r = client(missing, *verb)
        assert error_message(r, 2) == (
            f"{missing}: not an OSTree sysroot (create one with 'fedostree admin init')"
        ), verb
    assert not missing.exists()
    r = run("status", "--sysroot", "/nonexistent")
    assert error_message(r, 2).startswith("/nonexistent: not an OSTree sysroot")


def test_rebase_without_a_remote_on_an_empty_sysroot(sysroot: Path, server: Server) -> None:
    add_remote(sysroot, server.url)
    before = snapshot(sysroot)
    r = client(sysroot, "rebase", REF)
    assert error_message(r, 2) == f"{REF}: name the remote, as REMOTE:REF"
    assert snapshot(sysroot) == before


def test_rebase_from_a_remote_that_is_not_configured(deployed: Path) -> None:
    before = snapshot(deployed)
    r = client(deployed, "rebase", f"nowhere:{REF}")
    assert error_message(r, 2) == (
        "no remote 'nowhere' (add one with 'fedostree remote add nowhere URL')"
    )
    assert snapshot(deployed) == before


def test_pin_out_of_range(deployed: Path) -> None:
    before = snapshot(deployed)
    assert error_message(client(deployed, "pin", "7"), 2) == "no deployment 7 (there are 1)"
    assert error_message(client(deployed, "pin", "1", "--unpin"), 2) == (
        "no deployment 1 (there are 1)"
    )
    assert snapshot(deployed) == before


def test_deploy_an_unknown_version(deployed: Path) -> None:
    before = snapshot(deployed)
    r = client(deployed, "deploy", "99")
    assert error_message(r, 1) == (
        f"{REMOTE}:{REF}: no commit with version or checksum '99' in its history"
    )
    assert snapshot(deployed) == before


def test_rollback_with_nothing_to_roll_back_to(deployed: Path) -> None:
    before = snapshot(deployed)
    assert error_message(client(deployed, "rollback"), 1) == "no rollback deployment"
    assert snapshot(deployed) == before


def test_verbs_that_need_a_deployment_on_an_empty_sysroot(sysroot: Path) -> None:
    before = snapshot(sysroot)
    for verb in (["upgrade"], ["deploy", "20"], ["db", "list"]):
        message = error_message(client(sysroot, *verb), 1)
        assert message == f"{sysroot}: no deployments (deploy one with 'fedostree rebase REF')"
    assert error_message(client(sysroot, "rollback"), 1) == "no rollback deployment"
    assert (
        error_message(client(sysroot, "db", "diff"), 1) == "only one deployment: give FROM and TO"
    )
    assert snapshot(sysroot) == before


def test_db_with_an_unknown_revision(deployed: Path, trees: Trees) -> None:
    assert error_message(client(deployed, "db", "list", "nosuchref"), 1) == (
        "nosuchref: no such commit, ref or deployment"
    )
    # A short number is a deployment index, never a checksum that happens to start with it.
    prefix = [trees.v1[0]] if trees.v1[0] in "123456789" else []  # deployment 0 exists
    for number in ("5", "42", *prefix):
        r = client(deployed, "db", "diff", "0", number)
        assert error_message(r, 2) == f"no deployment {number} (there are 1)"
        assert error_message(client(deployed, "db", "list", number), 2).startswith("no deploy")
    r = client(deployed, "db", "list", trees.v1[:12])
    assert r.exit_code == 0, r.stderr
    assert "oldtool-1.0-1.x86_64" in r.stdout.splitlines()


def test_serve_a_directory_that_is_not_a_repository(tmp_path: Path) -> None:
    r = run("serve", "--repo", tmp_path, "--port", "0")
    assert error_message(r, 2) == f"{tmp_path}: not an OSTree repository"


BAD_URLS = [
    ("", "not an http://, https:// or file:// URL"),
    ("ftp://example.com/repo", "not an http://, https:// or file:// URL"),
    ("javascript:alert(1)", "not an http://, https:// or file:// URL"),
    ("/srv/repo", "not an http://, https:// or file:// URL"),
    ("srv/repo", "not an http://, https:// or file:// URL"),
    ("http://", "no host"),
    ("https:///repo", "no host"),
    ("http://example.com:port/", "bad port"),
    ("file://", "no path"),
    ("file://otherhost/srv/repo", "a file:// URL names no host but localhost"),
    ("http://example.com/a b", "contains whitespace or a control character"),
]


def test_remote_add_refuses_a_url_that_is_not_http_https_or_file(sysroot: Path) -> None:
    config = sysroot / "ostree/repo/config"
    before = config.read_text()
    for url, why in BAD_URLS:
        r = client(sysroot, "remote", "add", "--no-gpg-verify", "x", url)
        assert error_message(r, 2) == f"remote 'x': URL {url!r}: {why}", url
        assert r.stdout == ""
    assert config.read_text() == before
    assert client(sysroot, "remote", "list").stdout == ""


def test_remote_add_accepts_http_https_and_file_urls(sysroot: Path) -> None:
    urls = ["http://example.com/repo", "https://[::1]:8443/", "file:///srv/repo",
            "file://localhost/srv/repo"]  # fmt: skip
    for i, url in enumerate(urls):
        r = client(sysroot, "remote", "add", "--no-gpg-verify", f"r{i}", url)
        assert r.exit_code == 0, r.stderr
    listed = client(sysroot, "remote", "list").stdout
    assert all(url in listed for url in urls)
