"""Trees booted in QEMU (server/boot): the `boot` check of a good tree and of trees that
cannot boot (their init exits, it hangs, no initramfs, a tree prepare-root cannot set
up), and the upgrade/rollback proof of `compose boot-test` with its /etc and /var checks,
witnessed by the stock `ostree admin status` on the disk image (boot tier)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedostree.demo import write_config
from fedostree.server import status_page as status
from fedostree.server.boot import qemu
from fedostree.server.boot.check import BootOptions, boot_check
from fedostree.server.results import load_results
from tests.support.cli import error_message, ostree, published_refs, run
from tests.support.client import unfreeze

pytestmark = pytest.mark.boot

REF = "fedostree/20/x86_64/boot/minimal"
BASE = ["kernel", "ostree", "fedora-release", "lvm2", "btrfs-progs", "e2fsprogs", "xfsprogs"]
HANG_LIMIT = 30  # seconds: a hanging tree is killed then, so the test waits that long


@pytest.fixture(autouse=True)
def booting(monkeypatch: pytest.MonkeyPatch) -> None:
    """These composes boot their trees (tests/conftest.py turns boot checks off)."""
    monkeypatch.setenv("FEDOSTREE_NO_BOOT_CHECK", "0")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, sample_repo: Path) -> Path:
    """A directory with the sample repository's .repo file, for the treefiles below."""
    config = tmp_path_factory.mktemp("boot-config")
    write_config(config, sample_repo)
    return config


def write_treefile(config: Path, name: str, extra: str = "", init: str | None = None) -> Path:
    """base/minimal's package set, as its own ref; with init, a postprocess script makes
    that the tree's /usr/lib/systemd/systemd (replacing the file: the package's is a
    read-only hardlink into the package cache)."""
    if init is not None:
        (config / f"{name}.sh").write_text(
            "#!/usr/bin/sh\nset -e\nrm /usr/lib/systemd/systemd\n"
            f"printf '{init}' > /usr/lib/systemd/systemd\nchmod 755 /usr/lib/systemd/systemd\n"
        )
        extra += f"postprocess-script: {name}.sh\n"
    path = config / f"{name}.yaml"
    path.write_text(
        f"ref: fedostree/20/x86_64/boot/{name}\nrepos: [fedostree-sample]\nreleasever: 20\n"
        f"automatic-version-prefix: '20'\nmutate-os-release: '20'\n"
        f"packages: [{', '.join(BASE)}, '@core']\n{extra}"
    )
    return path


def compose(treefile: Path, work: Path, *extra: str) -> tuple[int, str, str]:
    r = run("compose", "tree", treefile, "--repo", work / "repo", "--cachedir", work / "cache",
            "--boot-timeout", str(HANG_LIMIT), *extra)  # fmt: skip
    return r.exit_code, r.stdout, r.stderr


def boot_result(repo: Path, commit: str) -> tuple[str, str, str]:
    results = load_results(repo, commit)
    assert results is not None
    (boot,) = [c for c in results.checks if c.name == "boot"]
    return boot.outcome, boot.summary, boot.log


def candidate(repo: Path, ref: str) -> str:
    return ostree(repo, "rev-parse", f"candidates:{ref}").strip()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, config: Path) -> dict[str, object]:
    """A tree composed with its boot check, then composed again (a new version, same
    packages): the second compose runs the upgrade/rollback boot-test after publishing."""
    work = tmp_path_factory.mktemp("good")
    treefile = write_treefile(config, "minimal")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEDOSTREE_NO_BOOT_CHECK", "0")
        first = run("compose", "tree", treefile, "--repo", work / "repo", "--cachedir",
                    work / "cache")  # fmt: skip
        second = run("compose", "tree", treefile, "--repo", work / "repo", "--cachedir",
                     work / "cache", "--force-nocache")  # fmt: skip
    return {"work": work, "repo": work / "repo", "first": first, "second": second}


def test_a_good_tree_boots_before_it_is_published(good: dict) -> None:
    first, repo = good["first"], good["repo"]
    assert first.exit_code == 0, first.stderr
    commits = ostree(repo, "log", REF).split("commit ")[1:]
    oldest = commits[-1].split()[0]
    outcome, summary, log = boot_result(repo, oldest)
    assert outcome == "passed", log[:2000]
    # the tree's own init printed its marker: the version from os-release, the commit
    assert f'version="20 (Heisenbug)" commit={oldest} ostree=/ostree/boot.' in summary
    assert summary.startswith("booted in ")
    # the log is the serial console, from the kernel's first line to the power-off
    assert "Linux version" in log and "fedostree-check: etc-writable ok" in log
    assert "fedostree-boot-done: checks=" in log and "reboot: Power down" in log
    assert "options: root=/dev/vda rw console=ttyS0 panic=-1 ostree=/ostree/boot." in log


def test_the_results_and_the_status_page_link_the_boot_log(good: dict) -> None:
    repo = good["repo"]
    commit = ostree(repo, "rev-parse", REF).strip()
    r = run("compose", "results", REF, "--repo", repo)
    assert r.exit_code == 0, r.stderr
    log = repo / "extensions/fedostree/results" / commit / "boot.log"
    assert any(line.split()[:2] == ["passed", "boot"] and line.endswith(str(log))
               for line in r.stdout.splitlines()), r.stdout  # fmt: skip
    page = status.render_index(status.collect_trees(repo), "http://127.0.0.1/", "demo")
    assert (
        f'data-check="boot" data-outcome="passed" href="{status.log_url(commit, "boot")}"' in page
    )


def test_upgrade_and_rollback_are_proven_after_publishing(good: dict) -> None:
    second, repo = good["second"], good["repo"]
    assert second.exit_code == 0, second.stderr
    new = ostree(repo, "rev-parse", REF).strip()
    assert f"{REF}: boot-test passed: upgrade " in second.stdout
    results = load_results(repo, new)
    assert results is not None
    checks = {c.name: c for c in results.checks}
    assert checks["boot"].outcome == "passed"
    assert checks["boot-test"].outcome == "passed", checks["boot-test"].log
    log = checks["boot-test"].log
    assert "boot 1 (previous" in log and "boot 3 (rolled-back" in log
    assert f"commit={new}" in log.splitlines()[2]  # boot 2 booted the new commit


def test_boot_test_cli_boots_three_times_and_ostree_agrees(good: dict, tmp_path: Path) -> None:
    repo = good["repo"]
    new = ostree(repo, "rev-parse", REF).strip()
    old = ostree(repo, "rev-parse", f"{REF}^").strip()
    workdir = tmp_path / "proof"
    r = run("compose", "boot-test", REF, "--repo", repo, "--workdir", workdir, "--json")
    assert r.exit_code == 0, r.stderr
    proof = json.loads(r.stdout)
    steps = [(b["step"], b["commit"], b["boots"]) for b in proof["boots"]]
    assert steps == [("previous", old, 1), ("upgraded", new, 2), ("rolled-back", old, 3)]
    assert [b["commit_version"] for b in proof["boots"]] == ["20", "20.1", "20"]
    versions = [b["version"] for b in proof["boots"]]
    assert versions == ["20 (Heisenbug)", "20.1 (Heisenbug)", "20 (Heisenbug)"]
    # the /etc change made before the upgrade was seen by the upgraded and rolled-back boots
    probes = [b["probe"] for b in proof["boots"]]
    assert (
        probes[0] is None
        and probes[1] == probes[2] == f"written before the upgrade from {old[:12]}"
    )
    # the stock ostree, on the disk image's content, agrees with what booted last
    image_root = tmp_path / "image"
    image_root.mkdir()
    subprocess.run(["debugfs", "-R", f"rdump / {image_root}", str(workdir / "disk.img")],
                   check=True, capture_output=True)  # fmt: skip
    status = subprocess.run(["ostree", "admin", "status", f"--sysroot={image_root}"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    listed = [line.split()[1].split(".")[0] for line in status.splitlines()
              if line.startswith(("* ", "  fedostree "))]  # fmt: skip
    assert listed == [old, new], status
    # /var of the stateroot kept the boot counter the three boots advanced
    assert (
        image_root / "ostree/deploy/fedostree/var/lib/fedostree/boots"
    ).read_text().strip() == "3"


def test_boot_test_needs_an_earlier_version(config: Path, tmp_path: Path) -> None:
    treefile = write_treefile(config, "single")
    code, _, err = compose(treefile, tmp_path, "--no-boot-check")
    assert code == 0, err
    r = run("compose", "boot-test", "fedostree/20/x86_64/boot/single", "--repo", tmp_path / "repo")
    assert error_message(r, 1) == (
        "fedostree/20/x86_64/boot/single: no earlier published version to upgrade from"
    )


# --- trees that do not boot ---------------------------------------------------------------


def assert_unpublished(work: Path, ref: str, code: int, stderr: str) -> tuple[str, str]:
    assert code == 1
    assert ref not in published_refs(work / "repo")
    outcome, summary, log = boot_result(work / "repo", candidate(work / "repo", ref))
    assert outcome == "failed"
    assert f"warning: {ref}: boot failed: {summary}" in stderr
    assert error_message_line(stderr).startswith(f"{ref}: failed tests, not published")
    return summary, log


def error_message_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.startswith("error: ")]
    return line.removeprefix("error: ")


def test_a_tree_whose_init_exits_fails_boot(config: Path, tmp_path: Path) -> None:
    init = '#!/usr/bin/sh\necho "init: giving up"\nexit 1\n'
    treefile = write_treefile(config, "init-exits", init=init)
    code, _, err = compose(treefile, tmp_path)
    summary, log = assert_unpublished(tmp_path, "fedostree/20/x86_64/boot/init-exits", code, err)
    assert summary.startswith("the machine stopped before the tree's init printed its boot marker")
    assert "init: giving up" in log
    assert "Attempted to kill init" in summary  # the console's last lines are in the verdict


def test_a_hanging_tree_is_killed_at_the_time_limit(config: Path, tmp_path: Path) -> None:
    init = '#!/usr/bin/sh\necho "init: waiting forever"\nexec /usr/sbin/busybox sleep 100000\n'
    treefile = write_treefile(config, "hangs", init=init)
    code, _, err = compose(treefile, tmp_path)
    summary, _ = assert_unpublished(tmp_path, "fedostree/20/x86_64/boot/hangs", code, err)
    assert summary.startswith(f"no boot marker within {HANG_LIMIT} s: killed at the time limit")
    assert "init: waiting forever" in summary
    # nothing is left running, and the scratch sysroot and image are gone
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in ps
    assert not any((tmp_path / "cache" / "boot").iterdir())


def test_a_kernel_without_initramfs_fails_boot(config: Path, tmp_path: Path) -> None:
    treefile = write_treefile(config, "no-initramfs", "no-initramfs: true\n")
    code, _, err = compose(treefile, tmp_path)
    summary, log = assert_unpublished(tmp_path, "fedostree/20/x86_64/boot/no-initramfs", code, err)
    assert summary.startswith(
        "the boot entry has no initramfs, and the kernel did not reach the tree's init"
    )
    assert "initrd: (none)" in log
    assert "VFS: Unable to mount root fs" in log


def test_an_initramfs_that_cannot_set_up_the_deployment_fails(good: dict, tmp_path: Path) -> None:
    """A tree without the empty /sysroot prepare-root moves the physical root to (trees
    before issue 12 lacked it): the initramfs says so, and the check fails with it."""
    repo = good["repo"]
    tree = tmp_path / "tree"
    subprocess.run(["ostree", f"--repo={repo}", "checkout", "-U", REF, str(tree)], check=True)
    (tree / "sysroot").rmdir()
    commit = subprocess.run(["ostree", f"--repo={repo}", "commit", "-b", "test/no-sysroot",
                             f"--tree=dir={tree}", "--no-xattrs"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    result = boot_check(repo, commit, "test/no-sysroot", tmp_path / "work", BootOptions(HANG_LIMIT))
    assert result.outcome == "failed"
    assert result.summary.startswith("the initramfs failed: ostree-prepare-root"), result.summary
    assert "MS_MOVE" in result.log


def test_a_machine_without_qemu_skips_the_check_and_says_so(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never passed silently: skipped, with a warning, and recorded as skipped."""
    monkeypatch.setattr(qemu, "QEMU", "qemu-system-x86_64-not-on-this-machine")
    treefile = write_treefile(config, "no-qemu")
    code, _, err = compose(treefile, tmp_path)
    assert code == 0, err
    assert ("warning: check boot of fedostree/20/x86_64/boot/no-qemu: skipped: "
            "qemu-system-x86_64-not-on-this-machine is not installed on this machine "
            "(run `make setup`)") in err  # fmt: skip
    commit = ostree(tmp_path / "repo", "rev-parse", "fedostree/20/x86_64/boot/no-qemu").strip()
    outcome, summary, _ = boot_result(tmp_path / "repo", commit)
    assert outcome == "skipped" and summary.startswith("skipped: ")


@pytest.fixture(autouse=True, scope="module")
def _unfreeze_sysroots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    unfreeze(tmp_path_factory.getbasetemp())
