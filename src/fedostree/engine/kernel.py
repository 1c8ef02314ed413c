"""The kernel, /boot and the machine id, as rpm-ostree's process_kernel_and_initramfs
leaves them (src/libpriv/rpmostree-postprocess.cxx and rpmostree-kernel.cxx):

    - the /boot/MACHINE-ID directory kernel-install made, and /boot/loader, are removed;
    - /boot becomes /usr/lib/ostree-boot (bootloader data and a kernel installed there);
    - the kernel is found in /usr/lib/ostree-boot (vmlinuz-KVER), else in
      /usr/lib/modules/KVER/vmlinuz; two kernels are an error, none a warning;
    - an initramfs the packages installed beside the kernel is removed ("Removing
      RPM-generated ...");
    - depmod runs for it, when the tree has depmod;
    - `machineid-compat` (default true): an empty /usr/etc/machine-id, else none;
    - the initramfs is generated, where rpm-ostree runs dracut: by fedostree itself
      (engine/initramfs.py, from the build host's busybox and ostree-prepare-root and
      the tree's modules, cached in the compose's cache directory), unless the treefile
      says `no-initramfs: true` (then the kernel boots without one, or with the one a
      package put in /usr/lib/modules/KVER);
    - the kernel is /usr/lib/modules/KVER/vmlinuz, its initramfs
      /usr/lib/modules/KVER/initramfs.img (mode 0644);
    - `boot-location: new` (the 2014 default) also hardlinks them into /usr/lib/ostree-boot
      as vmlinuz-KVER-BOOTCSUM and initramfs-KVER.img-BOOTCSUM (BOOTCSUM: the sha256 of
      kernel and initramfs); `modules` keeps them only in /usr/lib/modules;
    - /boot is left an empty directory, a mount point."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine.initramfs import generate_initramfs, install_image
from fedostree.engine.postprocess import temporary_etc
from fedostree.engine.reproducible import build_epoch
from fedostree.engine.rootfs import resolve_in_root
from fedostree.engine.sandbox import Sandbox
from fedostree.engine.treefs import read_text, real_dir, remove_path, write_file
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.treefile import Treefile

log = logging.getLogger(__name__)
OSTREE_BOOT = "usr/lib/ostree-boot"
MODULES = "usr/lib/modules"
MACHINE_ID = "usr/etc/machine-id"
DIGEST_SUFFIX = re.compile(r"-[0-9a-f]{64}$")


@dataclass(frozen=True)
class Kernel:
    version: str
    path: str  # relative to the root
    initramfs: str | None


def check_boot_location(tf: Treefile) -> None:
    if tf.effective_boot_location == "kernel-install":
        raise ConfigError(f"{tf.path}: boot-location: 'kernel-install' is not supported by "
                          "fedostree (use 'new' or 'modules')")  # fmt: skip


def process_kernel(rootfs: Path, tf: Treefile, cachedir: Path) -> str | None:
    """Lay out the kernel and /boot, generate the initramfs (cached in cachedir); return
    the kernel's version, None without a kernel."""
    boot = real_dir(rootfs, "boot")
    remove_machine_id_boot_dir(rootfs)
    remove_path(boot / "loader")
    remove_path(real_dir(rootfs, OSTREE_BOOT) / "loader")  # /boot/loader, as imported
    move_boot(rootfs)
    kernel = find_kernel(rootfs)
    if kernel is not None:
        kernel = remove_rpm_initramfs(rootfs, kernel, keep=tf.effective_no_initramfs)
        run_depmod(rootfs, kernel.version)
    set_machine_id(rootfs, compat=tf.effective_machineid_compat)
    if kernel is not None:
        if not tf.effective_no_initramfs:
            place_initramfs(rootfs, kernel.version, cachedir)
        finalize_kernel(rootfs, kernel, tf)
    (rootfs / "boot").mkdir(mode=0o755, exist_ok=True)
    return check_one_kernel(rootfs)


def remove_machine_id_boot_dir(rootfs: Path) -> None:
    """kernel-install puts the kernel in /boot/MACHINE-ID/KVER, which OSTree does not use."""
    machine_id = read_text(rootfs, MACHINE_ID)
    if not machine_id:
        return
    if len(machine_id) != 33:
        raise FedostreeError(f"/{MACHINE_ID} in the tree: invalid machine id {machine_id[:33]!r}")
    for bootdir in ("boot", OSTREE_BOOT):  # a package's /boot is imported into ostree-boot
        remove_path(real_dir(rootfs, bootdir) / machine_id[:32])


def move_boot(rootfs: Path) -> None:
    """/boot's content becomes /usr/lib/ostree-boot (an empty /boot where that exists)."""
    boot, target = real_dir(rootfs, "boot"), real_dir(rootfs, OSTREE_BOOT)
    if not os.path.lexists(boot):
        return
    if not boot.is_dir():
        raise FedostreeError("/boot in the tree is not a directory")
    if os.path.lexists(target):
        if any(boot.iterdir()):
            raise FedostreeError(f"/boot and /{OSTREE_BOOT} both have content")
        boot.rmdir()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(boot, target)


def find_kernel(rootfs: Path) -> Kernel | None:
    """rpm-ostree's rpmostree_find_kernel: /usr/lib/ostree-boot, then /usr/lib/modules."""
    found = _kernel_in(rootfs, OSTREE_BOOT, versioned=True)
    if found is not None:
        return found
    dirs = kernel_dirs(rootfs)
    if len(dirs) > 1:
        raise FedostreeError(f"more than one kernel in the tree: {', '.join(dirs)}")
    if not dirs:
        return None
    kernel = _kernel_in(rootfs, f"{MODULES}/{dirs[0]}", versioned=False)
    return Kernel(dirs[0], kernel.path, kernel.initramfs) if kernel else None


def _kernel_in(rootfs: Path, bootdir: str, *, versioned: bool) -> Kernel | None:
    """The vmlinuz-KVER (or vmlinuz) and initramfs* in one directory."""
    directory = real_dir(rootfs, bootdir)
    if not directory.is_dir():
        return None
    files = sorted(p.name for p in directory.iterdir() if p.is_file() and not p.is_symlink())
    kernels = [n for n in files if (n.startswith("vmlinuz-") if versioned else n == "vmlinuz")]
    initramfs = [n for n in files if n == "initramfs.img" or n.startswith("initramfs-")]
    for kind, names in (("kernel", kernels), ("initramfs", initramfs)):
        if len(names) > 1:
            raise FedostreeError(f"more than one {kind} in /{bootdir}: {', '.join(names)}")
    if not kernels:
        return None
    version = DIGEST_SUFFIX.sub("", kernels[0].removeprefix("vmlinuz-"))
    init = f"{bootdir}/{initramfs[0]}" if initramfs else None
    return Kernel(version, f"{bootdir}/{kernels[0]}", init)


def remove_rpm_initramfs(rootfs: Path, kernel: Kernel, *, keep: bool) -> Kernel:
    """rpm-ostree generates its own initramfs: the one a package installed goes (but
    with `no-initramfs`, one in /usr/lib/modules/KVER is the kernel's, as there)."""
    if kernel.initramfs is None:
        return kernel
    if keep and kernel.initramfs == f"{MODULES}/{kernel.version}/initramfs.img":
        return kernel
    log.info("Removing RPM-generated '%s'", kernel.initramfs)
    remove_path(rootfs / kernel.initramfs)
    return Kernel(kernel.version, kernel.path, None)


def place_initramfs(rootfs: Path, kver: str, cachedir: Path) -> bool:
    """The generated initramfs as /usr/lib/modules/KVER/initramfs.img; False when the
    one there has the same bytes already (and is left as it is)."""
    dest = real_dir(rootfs, f"{MODULES}/{kver}") / "initramfs.img"
    generated = generate_initramfs(rootfs, kver, cachedir, epoch=build_epoch())
    if dest.is_file() and not dest.is_symlink() and _same_bytes(dest, generated.image):
        return False
    dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    install_image(generated.image, dest)
    return True


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def refresh_initramfs(rootfs: Path, tf: Treefile, kver: str | None, cachedir: Path) -> None:
    """A derived tree's initramfs as a cold build of it would have it now: generated
    again (the build's epoch, which the archive's times are, may have moved; from the
    cache when not), put in place and linked under its new boot checksum if it
    changed. The kernel and its modules are the reused commit's (incremental.py)."""
    if kver is None or tf.effective_no_initramfs:
        return
    if place_initramfs(rootfs, kver, cachedir):
        kernel = Kernel(kver, f"{MODULES}/{kver}/vmlinuz", f"{MODULES}/{kver}/initramfs.img")
        finalize_kernel(rootfs, kernel, tf)


def run_depmod(rootfs: Path, kver: str) -> None:
    """The modules index, as rpm-ostree makes it (the kernel's %posttrans would)."""
    if not resolve_in_root(rootfs, "usr/sbin/depmod").is_file():
        log.info("no depmod in the tree: the modules index of %s is left as it is", kver)
        return
    with temporary_etc(rootfs), Sandbox(rootfs, shape="usr-etc") as sandbox:
        result = sandbox.run(["depmod", "-a", kver])
    if result.returncode != 0:
        output = " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise FedostreeError(f"depmod -a {kver} failed with exit status {result.returncode}: "
                             f"{output}")  # fmt: skip


def set_machine_id(rootfs: Path, *, compat: bool) -> None:
    if compat:
        write_file(rootfs, MACHINE_ID, "")
    else:
        remove_path(resolve_in_root(rootfs, MACHINE_ID, follow_last=False))


def finalize_kernel(rootfs: Path, kernel: Kernel, tf: Treefile) -> None:
    """The kernel and initramfs in /usr/lib/modules/KVER/ and, for `new`, hardlinked into
    /usr/lib/ostree-boot under their boot checksum."""
    moddir = real_dir(rootfs, f"{MODULES}/{kernel.version}")
    moddir.mkdir(mode=0o755, parents=True, exist_ok=True)
    vmlinuz, initramfs = moddir / "vmlinuz", moddir / "initramfs.img"
    if rootfs / kernel.path != vmlinuz:
        remove_path(vmlinuz)
        os.link(rootfs / kernel.path, vmlinuz)
    _remove_kernels_in(real_dir(rootfs, OSTREE_BOOT))
    if not initramfs.is_file():  # no-initramfs: true
        log.info("kernel %s boots without an initramfs", kernel.version)
    if tf.effective_boot_location == "new":
        _link_into_ostree_boot(rootfs, kernel.version, vmlinuz, initramfs)


def _remove_kernels_in(directory: Path) -> None:
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if entry.name.startswith(("vmlinuz-", "initramfs-")) and not entry.is_dir():
            entry.unlink()


def _link_into_ostree_boot(rootfs: Path, kver: str, vmlinuz: Path, initramfs: Path) -> None:
    digest = hashlib.sha256(vmlinuz.read_bytes())
    if initramfs.is_file():
        digest.update(initramfs.read_bytes())
    bootcsum = digest.hexdigest()
    bootdir = real_dir(rootfs, OSTREE_BOOT)
    bootdir.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.link(vmlinuz, bootdir / f"vmlinuz-{kver}-{bootcsum}")
    if initramfs.is_file():
        os.link(initramfs, bootdir / f"initramfs-{kver}.img-{bootcsum}")


def kernel_dirs(rootfs: Path) -> list[str]:
    """The KVER directories of /usr/lib/modules that hold a vmlinuz."""
    modules = real_dir(rootfs, MODULES)
    if not modules.is_dir():
        return []
    return sorted(d.name for d in modules.iterdir()
                  if d.is_dir() and not d.is_symlink() and (d / "vmlinuz").is_file())  # fmt: skip


def check_one_kernel(rootfs: Path) -> str | None:
    """The tree's one kernel, as libostree will find it at deployment."""
    kernels = kernel_dirs(rootfs)
    if len(kernels) > 1:
        raise FedostreeError(f"more than one kernel in the tree: {', '.join(kernels)}")
    if not kernels:
        log.warning("no kernel in the tree: it will not be bootable")
        return None
    return kernels[0]
