"""The client verbs end to end: trees composed by `fedostree compose tree` from real RPMs,
pulled over real HTTP from `fedostree serve`, deployed into a fake sysroot by libostree.
Each test checks what a user would: boot entries, the bootversion swap, the order of the
deployments (ours and the stock `ostree admin status` agreeing), /etc and /var."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support.cli import error_message, fsck, ostree, run
from tests.support.client import (
    KVER,
    OSNAME,
    OTHER_REF,
    REF,
    REMOTE,
    Server,
    Trees,
    add_remote,
    admin_status,
    boot_entries,
    booted_order,
    bootversion,
    cat,
    checksums,
    client,
    deploy_dir,
    deployment_root,
    snapshot,
    stateroot_var,
    status,
)

V1_TO_V2 = [
    "Upgraded:",
    "  hello 2.10-1 -> 2.11-1",
    "Removed:",
    "  oldtool-1.0-1.x86_64",
    "Added:",
    "  newtool-1.0-1.x86_64",
]


def assert_deployed(sysroot: Path, *commits: str) -> None:
    """commits are the deployments, default first: in `status --json`, in the stock
    `ostree admin status`, and in the boot menu (one entry each, kernel and initramfs
    in /boot)."""
    assert checksums(sysroot) == list(commits)
    assert [csum for csum, _ in admin_status(sysroot)] == list(commits)
    assert booted_order(sysroot) == list(commits)
    for entry in boot_entries(sysroot):
        assert entry.linux.endswith(f"/vmlinuz-{KVER}")
        assert entry.initrd.endswith(f"/initramfs-{KVER}.img")
        assert (sysroot / "boot" / entry.linux.lstrip("/")).read_text() == "vmlinuz\n"
        assert (sysroot / "boot" / entry.initrd.lstrip("/")).is_file()


def flipped(before: str) -> str:
    return {"loader.0": "loader.1", "loader.1": "loader.0"}[before]


def test_admin_init_makes_an_empty_sysroot(sysroot: Path) -> None:
    assert (sysroot / "ostree/repo/config").is_file()
    assert (sysroot / f"ostree/deploy/{OSNAME}/var").is_dir()
    assert bootversion(sysroot) == "loader.0"
    assert status(sysroot) == []
    assert admin_status(sysroot) == []
    r = client(sysroot, "status")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "Deployments:\n"


def test_remote_add_list_and_add_again(sysroot: Path) -> None:
    add_remote(sysroot, "http://127.0.0.1:1/repo/")
    add_remote(sysroot, "http://127.0.0.1:2/", name="another")
    r = client(sysroot, "remote", "list")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == f"another\thttp://127.0.0.1:2/\n{REMOTE}\thttp://127.0.0.1:1/repo/\n"
    r = client(sysroot, "remote", "add", "--no-gpg-verify", REMOTE, "http://elsewhere/")
    assert error_message(r, 2) == f"remote '{REMOTE}' already exists"
    assert client(sysroot, "remote", "list").stdout.count(REMOTE) == 1
    config = ostree(sysroot / "ostree/repo", "remote", "show-url", REMOTE)
    assert config.strip() == "http://127.0.0.1:1/repo/"


def test_remote_delete_removes_the_remote_and_its_refs(
    deployed: Path, server: Server, trees: Trees
) -> None:
    """The remote's refs go with it (unlike `ostree remote delete`): the update it had
    downloaded is pruned by `cleanup -b`; the deployment stays, and upgrading says that
    the remote is gone until it is added again."""
    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade", "--download-only").exit_code == 0
    local = deployed / "ostree/repo"
    assert f"{REMOTE}:{REF}" in ostree(local, "refs").split()

    r = client(deployed, "remote", "delete", REMOTE)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"remote '{REMOTE}' deleted, with its refs {REMOTE}:{REF}",
        f"Deployment 0 follows {REMOTE}:{REF}: add the remote again to upgrade it.",
    ]
    assert client(deployed, "remote", "list").stdout == ""
    assert ostree(local, "remote", "list") == ""
    assert not any(r.startswith(f"{REMOTE}:") for r in ostree(local, "refs").split())
    assert_deployed(deployed, trees.v1)
    assert client(deployed, "cleanup", "-b").exit_code == 0
    show = subprocess.run(["ostree", f"--repo={local}", "show", trees.v2], capture_output=True)
    assert show.returncode != 0, "the downloaded update is no longer kept by a ref"
    fsck(local)

    r = client(deployed, "upgrade")
    assert (
        error_message(r, 2)
        == f"no remote '{REMOTE}' (add one with 'fedostree remote add {REMOTE} URL')"
    )
    r = client(deployed, "remote", "delete", REMOTE)
    assert error_message(r, 2) == f"no remote '{REMOTE}' (there are no remotes)"
    add_remote(deployed, "http://127.0.0.1:1/", name="other")
    r = client(deployed, "remote", "delete", REMOTE)
    assert error_message(r, 2) == f"no remote '{REMOTE}' (the remotes are other)"

    add_remote(deployed, server.url)
    r = client(deployed, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert_deployed(deployed, trees.v2, trees.v1)


def test_rebase_deploys_the_tree_with_a_boot_entry(
    sysroot: Path, server: Server, trees: Trees
) -> None:
    add_remote(sysroot, server.url)
    r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[:2] == [
        f"Deployed {REMOTE}:{REF}: {trees.v1[:12]} (20)",
        "8 packages",
    ]
    assert_deployed(sysroot, trees.v1)
    assert bootversion(sysroot) == "loader.1"
    [entry] = boot_entries(sysroot)
    assert entry.options.startswith(f"ostree=/ostree/boot.1/{OSNAME}/")
    assert entry.deployment == f"{trees.v1}.0"
    [info] = status(sysroot)
    assert info | {"timestamp": 0} == {
        "index": 0,
        "osname": OSNAME,
        "checksum": trees.v1,
        "serial": 0,
        "origin": f"{REMOTE}:{REF}",
        "version": "20",
        "timestamp": 0,
        "package-count": 8,
        "base-checksum": None,  # nothing layered (rpm-ostree's keys)
        "requested-packages": [],
        "requested-local-packages": [],
        "packages": [],
        "layered-packages": [],
        "inactive-requests": [],
        "booted": False,
        "default": True,
        "pending": False,
        "rollback": False,
        "pinned": False,
    }
    root = deployment_root(sysroot, trees.v1)
    assert (root / "etc/hello.conf").read_text() == "greeting=hi\n"
    assert (root / "etc/os-release").read_text().startswith("NAME=Fedora\n")
    assert (root / "usr/bin/oldtool").is_file()
    fsck(sysroot / "ostree/repo")


def test_upgrade_deploys_the_newer_commit_and_keeps_a_rollback(
    deployed: Path, server: Server, trees: Trees
) -> None:
    loader = bootversion(deployed)
    server.publish(REF, trees.v2)
    r = client(deployed, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [f"Deployed {REMOTE}:{REF}: {trees.v2[:12]} (20.1)", *V1_TO_V2]
    assert_deployed(deployed, trees.v2, trees.v1)
    assert bootversion(deployed) == flipped(loader)
    default, rollback = status(deployed)
    assert (default["version"], default["default"], default["rollback"]) == ("20.1", True, False)
    assert (rollback["version"], rollback["default"], rollback["rollback"]) == ("20", False, True)
    assert (deployment_root(deployed, trees.v2) / "usr/bin/newtool").is_file()
    assert not (deployment_root(deployed, trees.v2) / "usr/bin/oldtool").exists()

    assert_nothing_to_upgrade(deployed)
    assert_deployed(deployed, trees.v2, trees.v1)


def assert_nothing_to_upgrade(sysroot: Path) -> None:
    """As rpm-ostree: plain `upgrade` (and --download-only) with nothing new says so and
    exits 0; --unchanged-exit-77, --check and --preview exit 77. Nothing changes."""
    before = snapshot(sysroot)
    for flags, code in (((), 0), (("--download-only",), 0), (("--unchanged-exit-77",), 77),
                        (("--check",), 77), (("--preview",), 77)):  # fmt: skip
        r = client(sysroot, "upgrade", *flags)
        assert (r.exit_code, r.stdout, r.stderr) == (code, "No upgrade available.\n", ""), flags
    assert snapshot(sysroot) == before


def test_upgrade_merges_etc_and_keeps_var(deployed: Path, server: Server, trees: Trees) -> None:
    etc = deployment_root(deployed, trees.v1) / "etc"
    (etc / "hello.conf").write_text("greeting=edited by the admin\n")
    (etc / "local.conf").write_text("mine\n")
    (stateroot_var(deployed) / "lib/app-state").parent.mkdir(parents=True, exist_ok=True)
    (stateroot_var(deployed) / "lib/app-state").write_text("kept\n")

    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade").exit_code == 0
    new_etc = deployment_root(deployed, trees.v2) / "etc"
    assert (new_etc / "hello.conf").read_text() == "greeting=edited by the admin\n"
    assert (new_etc / "local.conf").read_text() == "mine\n"
    assert (new_etc / "newtool.conf").read_text() == "mode=new\n"
    assert (stateroot_var(deployed) / "lib/app-state").read_text() == "kept\n"
    # The rollback keeps its own /etc, untouched.
    assert (etc / "hello.conf").read_text() == "greeting=edited by the admin\n"
    assert not (etc / "newtool.conf").exists()


def test_upgrade_check(deployed: Path, server: Server, trees: Trees) -> None:
    r = client(deployed, "upgrade", "--check")
    assert (r.exit_code, r.stdout, r.stderr) == (77, "No upgrade available.\n", "")
    server.publish(REF, trees.v2)
    before = snapshot(deployed)
    r = client(deployed, "upgrade", "--check")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == f"Update available: {trees.v2[:12]} (20.1)\n"
    assert snapshot(deployed) == before


def test_upgrade_preview_shows_the_package_diff_without_deploying(
    deployed: Path, server: Server, trees: Trees
) -> None:
    server.publish(REF, trees.v2)
    before = snapshot(deployed)
    r = client(deployed, "upgrade", "--preview")
    assert r.exit_code == 0, r.stderr
    *lines, size = r.stdout.splitlines()
    assert lines == [f"Available {REMOTE}:{REF}: {trees.v2[:12]} (20.1)", *V1_TO_V2]
    assert re.fullmatch(r"Download size: \d+\.\d KiB \(static delta\)", size), size
    assert snapshot(deployed) == before
    not_fetched = subprocess.run(
        ["ostree", f"--repo={deployed}/ostree/repo", "cat", trees.v2, "/usr/etc/newtool.conf"],
        capture_output=True,
    )
    assert not_fetched.returncode != 0


def test_upgrade_download_only_pulls_without_deploying(
    deployed: Path, server: Server, trees: Trees
) -> None:
    server.publish(REF, trees.v2)
    before = snapshot(deployed)
    r = client(deployed, "upgrade", "--download-only")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"Downloaded {REMOTE}:{REF}: {trees.v2[:12]} (20.1)"
    assert snapshot(deployed) == before
    server.stop()
    local = deployed / "ostree/repo"
    assert cat(local, trees.v2, "/usr/etc/newtool.conf") == "mode=new\n"
    assert not (local / f"state/{trees.v2}.commitpartial").exists()
    fsck(local)


def test_downgrade_is_refused_unless_allowed(sysroot: Path, server: Server, trees: Trees) -> None:
    server.publish(REF, trees.v2)
    add_remote(sysroot, server.url)
    assert client(sysroot, "rebase", f"{REMOTE}:{REF}").exit_code == 0
    assert_deployed(sysroot, trees.v2)

    ostree(server.repo, "reset", REF, trees.v1)
    ostree(server.repo, "summary", "-u")
    before = snapshot(sysroot)
    r = client(sysroot, "upgrade")
    assert error_message(r, 1) == (
        f"refusing to downgrade: {trees.v1[:12]} is older than the deployed {trees.v2[:12]} "
        "(use --allow-downgrade)"
    )
    assert snapshot(sysroot) == before
    assert error_message(client(sysroot, "upgrade", "--check"), 1).startswith("refusing")

    r = client(sysroot, "upgrade", "--allow-downgrade")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"Deployed {REMOTE}:{REF}: {trees.v1[:12]} (20)",
        "Downgraded:",
        "  hello 2.11-1 -> 2.10-1",
        "Removed:",
        "  newtool-1.0-1.x86_64",
        "Added:",
        "  oldtool-1.0-1.x86_64",
    ]
    assert_deployed(sysroot, trees.v1, trees.v2)


def test_rollback_swaps_default_and_rollback_without_the_network(
    deployed: Path, server: Server, trees: Trees
) -> None:
    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade").exit_code == 0
    server.stop()
    loader = bootversion(deployed)

    r = client(deployed, "rollback")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == f"Moving {trees.v1[:12]} to be the default deployment on the next boot.\n"
    assert_deployed(deployed, trees.v1, trees.v2)
    assert bootversion(deployed) == flipped(loader)
    assert [(d["default"], d["rollback"]) for d in status(deployed)] == [
        (True, False),
        (False, True),
    ]

    assert client(deployed, "rollback").exit_code == 0
    assert_deployed(deployed, trees.v2, trees.v1)
    assert bootversion(deployed) == loader


def test_deploy_by_version_and_by_checksum(deployed: Path, server: Server, trees: Trees) -> None:
    server.publish(REF, trees.v2)
    r = client(deployed, "deploy", "20.1")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [f"Deployed {REMOTE}:{REF}: {trees.v2[:12]} (20.1)", *V1_TO_V2]
    assert_deployed(deployed, trees.v2, trees.v1)

    r = client(deployed, "deploy", trees.v1[:10])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"Deployed {REMOTE}:{REF}: {trees.v1[:12]} (20)"
    assert_deployed(deployed, trees.v1, trees.v2)

    r = client(deployed, "deploy", "20")
    assert (r.exit_code, r.stdout, r.stderr) == (77, "20 is already the default deployment.\n", "")


def stock_commit(repo: Path, tree: str, parent: str, version: str, subject: str) -> str:
    """A commit on REF written with the stock `ostree commit`, as an admin might."""
    return ostree(
        repo, "commit", f"--branch={REF}", f"--tree=ref={tree}", f"--parent={parent}",
        f"--add-metadata-string=version={version}", "-s", subject,
    ).strip()  # fmt: skip


def test_deploy_prefers_a_version_over_a_checksum_prefix(
    deployed: Path, server: Server, trees: Trees
) -> None:
    """`deploy 7` means the commit versioned 7, even when a newer commit's checksum
    happens to start with 7."""
    seven = stock_commit(server.repo, trees.v2, trees.v1, "7", "version 7")
    newer = next(
        c
        for c in (stock_commit(server.repo, trees.v1, seven, "8", f"try {i}") for i in range(400))
        if c.startswith("7")
    )
    server.publish(REF, newer)
    r = client(deployed, "deploy", "7")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"Deployed {REMOTE}:{REF}: {seven[:12]} (7)"
    assert_deployed(deployed, seven, trees.v1)
    r = client(deployed, "deploy", newer[:12])
    assert r.exit_code == 0, r.stderr
    assert_deployed(deployed, newer, seven)


def test_deploy_an_older_version_never_fetched(sysroot: Path, server: Server, trees: Trees) -> None:
    """The client only ever saw v2; `deploy 20` walks the server's history to v1."""
    server.publish(REF, trees.v2)
    add_remote(sysroot, server.url)
    assert client(sysroot, "rebase", f"{REMOTE}:{REF}").exit_code == 0
    r = client(sysroot, "deploy", "20")
    assert r.exit_code == 0, r.stderr
    assert_deployed(sysroot, trees.v1, trees.v2)
    assert (deployment_root(sysroot, trees.v1, 0) / "usr/bin/oldtool").is_file()


def test_pin_keeps_a_deployment_across_deploys(
    deployed: Path, server: Server, trees: Trees
) -> None:
    r = client(deployed, "pin", "0")
    assert (r.exit_code, r.stdout) == (0, "Deployment 0 is now pinned.\n")
    assert [d["pinned"] for d in status(deployed)] == [True]
    stock = subprocess.run(
        ["ostree", "admin", "status", "--sysroot", str(deployed)], capture_output=True, text=True
    )
    assert "Pinned: yes" in stock.stdout

    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade").exit_code == 0
    assert client(deployed, "rebase", f"{REMOTE}:{OTHER_REF}").exit_code == 0
    # Without the pin, the v1 deployment would be gone: only the merge deployment stays.
    assert_deployed(deployed, trees.other, trees.v2, trees.v1)
    assert [d["pinned"] for d in status(deployed)] == [False, False, True]

    r = client(deployed, "pin", "2", "--unpin")
    assert (r.exit_code, r.stdout) == (0, "Deployment 2 is now unpinned.\n")
    assert client(deployed, "rebase", f"{REMOTE}:{REF}").exit_code == 0
    assert_deployed(deployed, trees.v2, trees.other)
    assert sorted(p.name for p in deploy_dir(deployed).iterdir() if p.is_dir()) == sorted(
        [f"{trees.v2}.1", f"{trees.other}.0"]
    )


def test_cleanup_removes_the_rollback(deployed: Path, server: Server, trees: Trees) -> None:
    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade").exit_code == 0
    assert_deployed(deployed, trees.v2, trees.v1)

    r = client(deployed, "cleanup", "-r")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"Removed deployment {trees.v1[:12]}",
        "Pruned unreferenced objects.",
    ]
    assert_deployed(deployed, trees.v2)
    assert not deployment_root(deployed, trees.v1).exists()
    local = deployed / "ostree/repo"
    show = subprocess.run(["ostree", f"--repo={local}", "show", trees.v1], capture_output=True)
    assert show.returncode != 0, "the removed deployment's commit is pruned"
    fsck(local)

    r = client(deployed, "cleanup", "-r")
    assert (r.exit_code, r.stdout) == (0, "Nothing to remove.\n")
    assert_deployed(deployed, trees.v2)


def test_cleanup_needs_a_choice(deployed: Path) -> None:
    r = client(deployed, "cleanup")
    assert r.exit_code == 2
    assert "choose at least one of -p, -r, -b" in r.stderr


def test_rebase_to_another_ref_on_the_same_remote(
    deployed: Path, server: Server, trees: Trees
) -> None:
    r = client(deployed, "rebase", OTHER_REF)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[:3] == [
        f"Deployed {REMOTE}:{OTHER_REF}: {trees.other[:12]} (30)",
        "Removed:",
        "  oldtool-1.0-1.x86_64",
    ]
    assert_deployed(deployed, trees.other, trees.v1)
    assert [d["origin"] for d in status(deployed)] == [f"{REMOTE}:{OTHER_REF}", f"{REMOTE}:{REF}"]
    # The new origin is what upgrade follows from now on.
    r = client(deployed, "upgrade", "--check")
    assert r.exit_code == 77


def test_status_text(deployed: Path, server: Server, trees: Trees) -> None:
    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade").exit_code == 0
    r = client(deployed, "status", "-v")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Deployments:"
    assert lines[1] == f"  {REMOTE}:{REF} (default)"
    assert lines[2].startswith("      Version: 20.1 (")
    assert lines[3] == f"       Commit: {trees.v2}"
    assert lines[4] == "     Packages: 8"
    assert lines[5:7] == [f"    StateRoot: {OSNAME}", "       Serial: 0"]
    assert lines[7] == f"  {REMOTE}:{REF} (rollback)"
    assert lines[9] == f"       Commit: {trees.v1}"


def test_db_list_and_diff(deployed: Path, server: Server, trees: Trees) -> None:
    server.publish(REF, trees.v2)
    assert client(deployed, "upgrade").exit_code == 0

    r = client(deployed, "db", "list")
    assert r.exit_code == 0, r.stderr
    names = r.stdout.splitlines()
    assert "hello-2.11-1.x86_64" in names and "newtool-1.0-1.x86_64" in names
    assert not any(n.startswith("oldtool-") for n in names)
    assert len(names) == 8
    old = client(deployed, "db", "list", "1").stdout.splitlines()
    assert "hello-2.10-1.x86_64" in old and "oldtool-1.0-1.x86_64" in old
    assert client(deployed, "db", "list", trees.v1).stdout.splitlines() == old

    r = client(deployed, "db", "diff")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"ostree diff commit from: {trees.v1}",
        f"ostree diff commit to:   {trees.v2}",
        *V1_TO_V2,
    ]
    r = client(deployed, "db", "diff", "0", "1", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "added": ["oldtool-1.0-1.x86_64"],
        "removed": ["newtool-1.0-1.x86_64"],
        "upgraded": [],
        "downgraded": [["hello-2.10-1.x86_64", "hello-2.11-1.x86_64"][::-1]],
    }
    r = client(deployed, "db", "diff", f"{REMOTE}:{REF}", trees.v2)
    assert r.stdout.splitlines()[2:] == ["No package changes."]
    r = client(deployed, "db", "diff", "0")
    assert r.exit_code == 2
    assert "give both FROM and TO, or neither" in r.stderr


def test_status_into_a_closed_pipe_is_quiet(deployed: Path) -> None:
    """`fedostree status | head -1`: the reader leaving early is no error to report."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fedostree", "status", "--sysroot", str(deployed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    assert proc.wait(timeout=30) in (0, 1)
    assert proc.stderr.read() == ""


def test_rebase_to_the_deployed_commit_has_nothing_to_do(deployed: Path) -> None:
    before = status(deployed)
    r = run("rebase", "--sysroot", deployed, f"{REMOTE}:{REF}")
    assert r.exit_code == 77
    assert r.stdout.startswith(f"Already on {REMOTE}:{REF} at ")
    assert status(deployed) == before


def test_admin_init_twice_is_harmless(tmp_path: Path) -> None:
    for _ in range(2):
        r = run("admin", "init", "--sysroot", tmp_path / "sr", "--os", OSNAME)
        assert r.exit_code == 0, r.stderr
    assert (tmp_path / "sr/ostree/deploy" / OSNAME).is_dir()
