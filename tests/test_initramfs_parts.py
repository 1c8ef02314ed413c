"""The initramfs generator's parts on their own (engine/initramfs.py, kmod.py, newc.py):
a tool the build host lacks, the modules' load order against `modprobe --show-depends`
(with and without modules.alias), and the newc writer against cpio(1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fedostree.engine import newc
from fedostree.engine.initramfs import WANTED_MODULES, HostTools, generate_initramfs
from fedostree.engine.kmod import load_order, read_index
from fedostree.errors import FedostreeError
from tests.support.hostkernel import (
    HOST_MODULES,
    KVER,
    cpio_list,
    modprobe_order,
    needs_host_kernel,
    unpack,
)

WANTED = WANTED_MODULES


def test_a_tool_missing_on_the_build_host_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "rootfs/usr/lib/modules/6.0.0").mkdir(parents=True)
    tools = HostTools(prepare_root=str(tmp_path / "ostree-prepare-root"))
    with pytest.raises(FedostreeError) as e:
        generate_initramfs(tmp_path / "rootfs", "6.0.0", tmp_path / "cache", epoch=0, tools=tools)
    assert str(e.value) == (
        f"{tmp_path}/ostree-prepare-root: not on the build host (Debian's "
        "ostree-boot; the initramfs is made with it): run make setup"
    )
    assert not (tmp_path / "cache").exists()


@needs_host_kernel
def test_the_load_order_is_modprobes_with_or_without_modules_alias(tmp_path: Path) -> None:
    order = modprobe_order()
    host = read_index(HOST_MODULES)
    assert host is not None
    modules, missing = load_order(host, [*WANTED, "no_such_module"])
    assert [m.path for m in modules] == order and missing == ["no_such_module"]
    # without modules.alias, the softdep's alias (crypto-crc32c) is found in .modinfo
    moddir = tmp_path / KVER
    for m in order:
        (moddir / m).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HOST_MODULES / m, moddir / m)
    deps = [
        line
        for line in (HOST_MODULES / "modules.dep").read_text().splitlines()
        if line.split(":")[0] in order
    ]
    (moddir / "modules.dep").write_text("\n".join(deps) + "\n")
    index = read_index(moddir)
    assert index is not None
    assert [m.path for m in load_order(index, WANTED)[0]] == order


def test_a_newc_archive_is_read_back_by_cpio_and_does_not_depend_on_order(
    tmp_path: Path,
) -> None:
    entries = [
        newc.directory("etc"),
        newc.regular("etc/hello", b"hello\n"),
        newc.regular("odd", b"123", 0o755),  # a size that needs padding
        newc.symlink("link", "etc/hello"),
        newc.char_device("console", 5, 1),
    ]
    images = []
    for order in (entries, list(reversed(entries))):
        path = tmp_path / f"{len(images)}.img"
        with path.open("wb") as out:
            newc.write_archive(out, order, mtime=1234567890)
        images.append(path.read_bytes())
    assert images[0] == images[1]
    assert cpio_list(images[0]) == ["console", "etc", "etc/hello", "link", "odd"]
    listing = cpio_list(images[0], "-v")
    assert listing[0].startswith("crw-------") and listing[3].startswith("lrwxrwxrwx")
    root = unpack(images[0], tmp_path / "root", leave_out="console")
    assert (root / "etc/hello").read_text() == "hello\n" and (root / "odd").read_bytes() == b"123"
    assert os.readlink(root / "link") == "etc/hello"
    assert (root / "odd").stat().st_mode & 0o777 == 0o755
    assert (root / "etc/hello").stat().st_mtime == 1234567890
