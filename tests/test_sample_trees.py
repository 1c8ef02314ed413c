"""The demo's six trees, composed, tested, booted in QEMU and published from the sample
universe, and the seventh and eighth, deliberately broken trees that fail their tests (one
its static checks, the other its boot) and stay unpublished (slow tier)."""

from __future__ import annotations

import configparser
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedostree.demo import write_config
from fedostree.server.results import load_results
from tests.support.cli import error_message, ostree, published_refs, refs, rpmdb_names, run
from tests.support.client import unfreeze

pytestmark = pytest.mark.slow

PREFIX = "fedostree/20/x86_64/"
TREES = [
    "base/minimal",
    "server/docker-io",
    "server/freeipa-server",
    "workstation/gnome-core",
    "workstation/gnome-default",
    "workstation/gnome-development-and-virt",
]
BROKEN = PREFIX + "experimental/broken-app"
UNBOOTABLE = PREFIX + "experimental/broken-boot"
REPO_FILE = "/usr/etc/yum.repos.d/fedostree-sample.repo"  # /etc is /usr/etc in a commit
LAYERABLE = {"sample-editor", "libsample-widgets", "sample-editor-data"}
TRIGGER_OWNERS = {"glibc", "hicolor-icon-theme", "glib2"}


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory, sample_repo: Path) -> dict[str, object]:
    root = tmp_path_factory.mktemp("sample-trees")
    products = write_config(root / "config", sample_repo)
    args = ("compose", "products", products, "--repo", root / "repo", "--cachedir", root / "cache")
    start = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEDOSTREE_NO_BOOT_CHECK", "0")  # every tree boots in QEMU before publishing
        first = run(*args)
    first_time = time.monotonic() - start
    assert error_message(first, 1) == (
        f"{BROKEN}, {UNBOOTABLE}: failed tests, not published "
        f"(logs in {root / 'repo'}/extensions/fedostree/results)"
    )
    return {
        "root": root,
        "repo": root / "repo",
        "args": args,
        "first": first,
        "first_time": first_time,
    }


def packages(repo: Path, ref: str) -> set[str]:
    listing = ostree(repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", ref)
    return {item.split("'")[1] for item in listing.split("), (")}


def checkout(repo: Path, ref: str, dest: Path) -> Path:
    subprocess.run(["ostree", f"--repo={repo}", "checkout", ref, str(dest)], check=True)
    return dest


def test_six_refs_in_one_archive_repo(composed: dict) -> None:
    repo = composed["repo"]
    assert sorted(published_refs(repo)) == sorted(PREFIX + t for t in TREES)
    assert f"candidates:{BROKEN}" in refs(repo)
    assert f"candidates:{UNBOOTABLE}" in refs(repo)
    ostree(repo, "fsck")
    for tree in TREES:
        assert f"{PREFIX}{tree}: committed 20 " in composed["first"].stdout
        assert ostree(repo, "show", "--print-metadata-key=version", PREFIX + tree).strip() == "'20'"


def test_trees_share_content(composed: dict) -> None:
    """Bigger trees contain the smaller ones' packages; the repo stores shared files once."""
    pkgs = {tree: packages(composed["repo"], PREFIX + tree) for tree in TREES}
    assert pkgs["base/minimal"] < pkgs["server/docker-io"]
    assert pkgs["workstation/gnome-core"] < pkgs["workstation/gnome-default"]
    assert pkgs["workstation/gnome-default"] < pkgs["workstation/gnome-development-and-virt"]
    assert (
        "docker-io" in pkgs["server/docker-io"]
        and "freeipa-server" in pkgs["server/freeipa-server"]
    )


@pytest.mark.parametrize("tree", ["base/minimal", "workstation/gnome-development-and-virt"])
def test_checkout_is_a_bootable_os_tree(composed: dict, tree: str, tmp_path: Path) -> None:
    repo = composed["repo"]
    co = checkout(repo, PREFIX + tree, tmp_path / "co")
    assert (co / "usr/etc/passwd").exists() and not (co / "etc").exists()
    moddir = co / "usr/lib/modules/3.11.10-301.fc20.x86_64"
    assert (moddir / "vmlinuz").read_bytes()[0x202:0x206] == b"HdrS"  # the host's real kernel
    assert "kernel/fs/ext4/ext4.ko:" in (moddir / "modules.dep").read_text()
    assert (co / "usr/sbin/init").resolve() == (co / "usr/lib/systemd/systemd").resolve()
    listing = ostree(repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", PREFIX + tree)
    expected = sorted(item.split("'")[1] for item in listing.split("), ("))
    assert rpmdb_names(co) == expected
    assert "root::" in (co / "usr/etc/shadow").read_text()  # remove-root-password ran


@pytest.fixture
def sysroot(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sysroot"
    path.mkdir()
    yield path
    unfreeze(path)


def test_stock_ostree_admin_deploy_accepts_the_tree(composed: dict, sysroot: Path) -> None:
    subprocess.run(["ostree", "admin", "init-fs", str(sysroot)], check=True, capture_output=True)
    subprocess.run(
        ["ostree", "admin", "os-init", "--sysroot", str(sysroot), "fedostree"], check=True
    )
    (sysroot / "boot/loader.0").mkdir(parents=True)
    (sysroot / "boot/loader").symlink_to("loader.0")
    ref = PREFIX + "base/minimal"
    ostree(sysroot / "ostree/repo", "pull-local", str(composed["repo"]), ref)
    r = subprocess.run(
        ["ostree", "admin", "deploy", "--sysroot", str(sysroot), "--os", "fedostree", ref],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    entries = list((sysroot / "boot/loader/entries").glob("*.conf"))
    assert len(entries) == 1
    entry = dict(line.split(" ", 1) for line in entries[0].read_text().splitlines())
    assert entry["linux"].endswith("/vmlinuz-3.11.10-301.fc20.x86_64")
    assert "ostree=/ostree/boot.1/fedostree/" in entry["options"]


def test_trees_ship_the_repo_file_but_not_the_layerable_editor(composed: dict) -> None:
    """What `fedostree install sample-editor` needs: the .repo file in every tree, the
    editor and its dependencies in none, the triggers' owners in the GNOME trees."""
    for tree in TREES:
        text = ostree(composed["repo"], "cat", PREFIX + tree, REPO_FILE)
        assert "baseurl=http://127.0.0.1:8080/rpms/" in text, tree
        pkgs = packages(composed["repo"], PREFIX + tree)
        assert not LAYERABLE & pkgs, tree
        assert "glibc" in pkgs, tree
        if tree.startswith("workstation/"):
            assert pkgs >= TRIGGER_OWNERS, tree


def test_repo_file_leads_to_the_served_rpm_repository(
    composed: dict, sample_repo: Path, tmp_path: Path
) -> None:
    """`fedostree serve --rpm-repo` beside the trees: the tree's baseurl, on the port the
    server got, fetches the sample repository's metadata."""
    co = checkout(composed["repo"], PREFIX + "base/minimal", tmp_path / "co")
    parser = configparser.ConfigParser()
    parser.read(co / REPO_FILE.lstrip("/"))
    baseurl = parser["fedostree-sample"]["baseurl"]
    argv = [sys.executable, "-u", "-m", "fedostree", "serve", "--repo", str(composed["repo"]),
            "--port", "0", "--rpm-repo", str(sample_repo)]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ")[1].strip()
        served = baseurl.replace("http://127.0.0.1:8080/", url)
        with urllib.request.urlopen(served + "repodata/repomd.xml") as response:
            assert response.read() == (sample_repo / "repodata/repomd.xml").read_bytes()
        with urllib.request.urlopen(url + "summary") as response:  # the OSTree repository
            assert response.read() == (composed["repo"] / "summary").read_bytes()
    finally:
        server.terminate()
        server.wait()


def test_broken_tree_failed_its_checks(composed: dict) -> None:
    assert f"{BROKEN}: committed 20 " in composed["first"].stdout
    assert "failed tests: usr-symlinks, not published" in composed["first"].stdout
    commit = refs(composed["repo"])[f"candidates:{BROKEN}"]
    results = load_results(composed["repo"], commit)
    assert results is not None and results.failed == ["usr-symlinks"]
    log = next(c.log for c in results.checks if c.name == "usr-symlinks")
    assert "/usr/bin/brokenapp -> ../libexec/brokenapp/brokenapp" in log


def test_every_published_tree_booted_its_own_commit(composed: dict) -> None:
    repo = composed["repo"]
    for ref, commit in published_refs(repo).items():
        results = load_results(repo, commit)
        assert results is not None
        (boot,) = [c for c in results.checks if c.name == "boot"]
        assert boot.outcome == "passed", (ref, boot.log[:3000])
        assert f'version="20 (Heisenbug)" commit={commit} ostree=/ostree/boot.' in boot.summary
        assert "fedostree-boot-done: checks=2 failed=0" in boot.log


def test_unbootable_tree_failed_boot_alone(composed: dict) -> None:
    """broken-boot passes every other check; its package's boot-time check fails at boot."""
    assert f"{UNBOOTABLE}: committed 20 " in composed["first"].stdout
    assert "failed tests: boot, not published" in composed["first"].stdout
    commit = refs(composed["repo"])[f"candidates:{UNBOOTABLE}"]
    results = load_results(composed["repo"], commit)
    assert results is not None and results.failed == ["boot"]
    (boot,) = [c for c in results.checks if c.name == "boot"]
    assert boot.summary.startswith("boot-time checks failed: brokenboot failed")
    assert "brokenboot: /var/lib/brokenboot/state is missing" in boot.log
    assert (
        f"warning: {UNBOOTABLE}: boot failed: boot-time checks failed" in composed["first"].stderr
    )


def test_recompose_reports_all_six_unchanged(composed: dict) -> None:
    start = time.monotonic()
    second = run(*composed["args"])
    elapsed = time.monotonic() - start
    assert second.exit_code == 1  # the broken trees are still failed
    assert second.stdout.count(": unchanged 20 ") == 8
    print(f"first compose {composed['first_time']:.1f}s, no-op recompose {elapsed:.1f}s")


def test_only_composes_one_tree(composed: dict, tmp_path: Path) -> None:
    args = list(composed["args"])
    repo = tmp_path / "repo"
    args[args.index(composed["repo"])] = repo
    args[args.index(composed["root"] / "cache")] = tmp_path / "cache"
    r = run(*args, "--only", "server/docker-io")
    assert r.exit_code == 0, r.stderr
    assert list(published_refs(repo)) == [PREFIX + "server/docker-io"]
