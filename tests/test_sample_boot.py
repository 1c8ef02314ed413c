"""What makes the sample trees bootable, short of booting them (the QEMU boot check does
that): the build host's kernel that the sample `kernel` package wraps."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedostree.errors import FedostreeError
from fedostree.sample.hostkernel import newest_kernel_version, select_modules_dep

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
