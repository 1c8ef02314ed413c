"""What makes the sample trees bootable, short of booting them (the QEMU boot check does
that): the build host's kernel that the sample `kernel` package wraps, and the sample
init (/usr/lib/systemd/systemd) run as PID 1 of a bubblewrap sandbox laid out like a
booted deployment, with a busybox that records, instead of making, its mounts and power-off."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fedostree.errors import FedostreeError
from fedostree.sample.hostkernel import newest_kernel_version, select_modules_dep
from tests.support.sample import bwrap_works, extract, rpm_path

STATEROOT = "fedora"
COMMIT = "ee34f7d283bb522a893a6bee30423895f4e770c2292d248927d39eba84aae84d"
BOOTCSUM = "143a075e0a29e93bec1c3bc4d90262aeb8a8223221ee67aa082e6dcb8993e21c"
OSTREE = f"/ostree/boot.1/{STATEROOT}/{BOOTCSUM}/0"
CMDLINE = f"root=/dev/vda rw console=ttyS0 panic=-1 ostree={OSTREE}\n"
HOST_BUSYBOX = "/.host/busybox"
# Stands in for /usr/sbin/busybox: records the applets that would change the machine
# (mount, sync, poweroff) in /.host/calls and runs every other one.
RECORDING_BUSYBOX = f"""#!{HOST_BUSYBOX} sh
case $1 in
    mount|sync|poweroff) echo "$*" >> /.host/calls; exit 0 ;;
esac
exec {HOST_BUSYBOX} "$@"
"""
CHECKS = {"10-passes": "exit 0", "20-fails": "exit 3", "30-not-executable": "exit 0"}


# --- the host's kernel ----------------------------------------------------------------------


def test_newest_host_kernel_with_modules_is_chosen(tmp_path: Path) -> None:
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    for version in ("6.1.0-9-amd64", "6.1.0-57-amd64", "6.1.0-100-amd64"):
        (boot / f"vmlinuz-{version}").parent.mkdir(exist_ok=True)
        (boot / f"vmlinuz-{version}").write_bytes(b"kernel")
    for version in ("6.1.0-9-amd64", "6.1.0-57-amd64"):
        (modules / version).mkdir(parents=True)
    assert newest_kernel_version(boot, modules) == "6.1.0-57-amd64"


def test_no_host_kernel_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot/vmlinuz-6.1.0-57-amd64").write_bytes(b"kernel without modules")
    with pytest.raises(FedostreeError) as failure:
        newest_kernel_version(tmp_path / "boot", tmp_path / "modules")
    message = str(failure.value)
    assert f"no {tmp_path}/boot/vmlinuz-VERSION with its {tmp_path}/modules/VERSION" in message
    assert "run `make setup`" in message


def test_modules_dep_keeps_the_shipped_modules_lines() -> None:
    debian = (
        "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\n"
        "kernel/fs/jbd2/jbd2.ko:\n"
        "kernel/sound/unrelated.ko: kernel/lib/crc16.ko\n"
        "kernel/lib/crc16.ko:\n"
    )
    shipped = ("kernel/lib/crc16.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko")
    assert select_modules_dep(debian, shipped, Path("/m")) == (
        "kernel/lib/crc16.ko:\n"
        "kernel/fs/jbd2/jbd2.ko:\n"
        "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\n"
    )
    with pytest.raises(FedostreeError, match=r"ext4\.ko needs kernel/fs/jbd2/jbd2\.ko"):
        select_modules_dep(debian, shipped[::2], Path("/m"))


# --- the init -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def init_rpms(sample_repo: Path) -> list[Path]:
    reason = bwrap_works()
    if reason:
        pytest.skip(reason)
    return [rpm_path(sample_repo, name) for name in ("systemd", "fedora-release")]


def booted_root(root: Path, rpms: list[Path], cmdline: str = CMDLINE) -> Path:
    """A deployment as the init finds it after switch_root: the tree (here only systemd
    and fedora-release), /proc/cmdline, and the physical root at /sysroot."""
    root.mkdir()
    for rpm in rpms:
        extract(rpm, root)
    (root / ".host").mkdir()
    shutil.copy2("/bin/busybox", root / HOST_BUSYBOX.lstrip("/"))
    (root / "usr/sbin").mkdir(parents=True, exist_ok=True)
    (root / "usr/sbin/busybox").write_text(RECORDING_BUSYBOX)
    (root / "usr/sbin/busybox").chmod(0o755)
    for directory in ("proc", "sys", "dev", "run", "var", f"sysroot/ostree/deploy/{STATEROOT}/var"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "proc/cmdline").write_text(cmdline)
    (root / "proc/mounts").write_text("devtmpfs /dev devtmpfs rw,nosuid 0 0\n")
    link = root / f"sysroot{OSTREE}"
    link.parent.mkdir(parents=True)
    link.symlink_to(f"../../../deploy/{STATEROOT}/deploy/{COMMIT}.0")
    (root / "etc/fedostree").mkdir()
    (root / "etc/fedostree/boot-probe").write_text("probe 42\nsecond line\n")
    checks = root / "usr/lib/fedostree/boot-checks.d"
    checks.mkdir(parents=True)
    for name, body in CHECKS.items():
        (checks / name).write_text(f"#!{HOST_BUSYBOX} sh\n{body}\n")
        (checks / name).chmod(0o644 if "not-executable" in name else 0o755)
    return root


def run_init(
    root: Path, *, as_pid_1: bool = True, readonly: str = "/usr"
) -> subprocess.CompletedProcess[str]:
    """The init in a sandbox with no capabilities (it cannot mount or power off anyway)."""
    pid = ["--unshare-pid", "--as-pid-1"] if as_pid_1 else ["--unshare-pid"]
    argv = ["bwrap", "--bind", str(root), "/", "--ro-bind", str(root / readonly.lstrip("/")),
            readonly, "--dev", "/dev", "--cap-drop", "ALL", *pid, "--clearenv",
            HOST_BUSYBOX, "sh", "/usr/lib/systemd/systemd"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def calls(root: Path) -> list[str]:
    return (root / ".host/calls").read_text().splitlines()


def test_init_boots_counts_and_checks(init_rpms: list[Path], tmp_path: Path) -> None:
    root = booted_root(tmp_path / "root", init_rpms)
    first = run_init(root)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert first.stdout.splitlines() == [
        f'fedostree-booted: version="20 (Heisenbug)" commit={COMMIT} ostree={OSTREE} boots=1',
        "fedostree-probe: probe 42",
        "fedostree-check: etc-writable ok",
        "fedostree-check: usr-readonly ok",
        "fedostree-check: 10-passes ok",
        "fedostree-check: 20-fails failed: exit 3",
        "fedostree-boot-done: checks=4 failed=1",
    ]
    assert calls(root) == [  # /dev is a mount point already (says /proc/mounts)
        "mount -t proc -o nosuid,nodev,noexec proc /proc",
        "mount -t sysfs -o nosuid,nodev,noexec sysfs /sys",
        "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run",
        f"mount --bind /sysroot/ostree/deploy/{STATEROOT}/var /var",
        "sync",
        "poweroff -f",
    ]
    assert (root / "var/lib/fedostree/boots").read_text() == "1\n"
    assert not (root / "etc/.fedostree-boot-check").exists()
    second = run_init(root)
    assert second.stdout.splitlines()[0].endswith(" boots=2"), second.stdout
    assert (root / "var/lib/fedostree/boots").read_text() == "2\n"


def test_init_reports_a_writable_usr_and_a_readonly_etc(
    init_rpms: list[Path], tmp_path: Path
) -> None:
    root = booted_root(tmp_path / "root", init_rpms)
    result = run_init(root, readonly="/etc")
    lines = result.stdout.splitlines()
    assert lines[2] == (
        "fedostree-check: etc-writable failed: "
        "touch: /etc/.fedostree-boot-check: Read-only file system"
    )
    assert lines[3] == "fedostree-check: usr-readonly failed: created /usr/.fedostree-boot-check"
    assert lines[-1] == "fedostree-boot-done: checks=4 failed=3"
    assert not (root / "usr/.fedostree-boot-check").exists()


def test_init_without_a_deployment_says_so_and_powers_off(
    init_rpms: list[Path], tmp_path: Path
) -> None:
    root = booted_root(tmp_path / "root", init_rpms, cmdline="root=/dev/vda rw\n")
    result = run_init(root)
    assert result.stdout == "fedostree-init: no ostree= on the kernel command line\n"
    assert calls(root)[-2:] == ["sync", "poweroff -f"]
    assert result.returncode == 1


def test_init_refuses_to_run_as_another_pid(init_rpms: list[Path], tmp_path: Path) -> None:
    root = booted_root(tmp_path / "root", init_rpms)
    result = run_init(root, as_pid_1=False)
    assert result.returncode == 1
    assert "runs as PID 1 only" in result.stderr and result.stdout == ""
    assert not (root / ".host/calls").exists()
