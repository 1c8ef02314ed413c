"""Postprocessing an assembled root into an OSTree-ready tree: the kernel in
/usr/lib/modules, the treefile's files, units and scripts, /etc in /usr/etc, the rpmdb."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from fedostree.core.rootfs import resolve_in_root
from fedostree.core.sandbox import SCRIPT_PATH, Sandbox
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.treefile import Treefile

log = logging.getLogger(__name__)
UNIT_DIRS = ("usr/lib/systemd/system", "etc/systemd/system")


def place_kernel(rootfs: Path) -> str | None:
    """Move /boot/vmlinuz-KVER (and its initramfs) to /usr/lib/modules/KVER/; return KVER."""
    boot = real_dir(rootfs, "boot")
    for vmlinuz in sorted(boot.glob("vmlinuz-*")):
        kver = vmlinuz.name.removeprefix("vmlinuz-")
        moddir = real_dir(rootfs, f"usr/lib/modules/{kver}")
        moddir.mkdir(parents=True, exist_ok=True)
        os.replace(vmlinuz, moddir / "vmlinuz")
        initramfs = boot / f"initramfs-{kver}.img"
        if initramfs.exists():
            os.replace(initramfs, moddir / "initramfs.img")
    kernels = sorted(p.parent.name for p in (rootfs / "usr/lib/modules").glob("*/vmlinuz"))
    if len(kernels) > 1:
        raise FedostreeError(f"more than one kernel in the tree: {', '.join(kernels)}")
    if not kernels:
        log.warning("no kernel in the tree: it will not be bootable")
        return None
    if not (rootfs / "usr/lib/modules" / kernels[0] / "initramfs.img").exists():
        log.warning("kernel %s has no initramfs", kernels[0])
    return kernels[0]


def real_dir(rootfs: Path, rel: str) -> Path:
    """rootfs/rel, refusing a symlink on the way there: these steps run on the build host,
    where an absolute symlink in the tree leads out of it."""
    path = rootfs
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            raise FedostreeError(
                f"/{path.relative_to(rootfs)} in the tree is a symlink to {os.readlink(path)}, "
                "not a directory"
            )
    return path


def add_files(rootfs: Path, tf: Treefile) -> None:
    for i, entry in enumerate(tf.add_files):
        dest = resolve_in_root(rootfs, _relative(entry.dest, f"add-files[{i}]"), follow_last=False)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() or dest.is_symlink():
            dest.unlink()
        shutil.copy2(entry.source, dest)


def remove_files(rootfs: Path, tf: Treefile) -> None:
    for i, name in enumerate(tf.remove_files):
        path = resolve_in_root(rootfs, _relative(name, f"remove-files[{i}]"), follow_last=False)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _relative(path: str, where: str) -> str:
    rel = os.path.normpath(path).lstrip("/")
    if rel.startswith("..") or rel in ("", "."):
        raise ConfigError(f"{where}: {path}: must name a path inside the tree")
    return rel


def enable_units(rootfs: Path, tf: Treefile) -> None:
    """`systemctl enable` at compose time: symlinks in /etc/systemd/system/*.wants."""
    for i, unit in enumerate(tf.units):
        path = next((rootfs / d / unit for d in UNIT_DIRS if (rootfs / d / unit).is_file()), None)
        if path is None:
            raise FedostreeError(f"units[{i}]: {unit}: no such unit file in the tree")
        for target in _wanted_by(path):
            wants = rootfs / "etc/systemd/system" / f"{target}.wants"
            wants.mkdir(parents=True, exist_ok=True)
            _symlink(f"/usr/lib/systemd/system/{unit}", wants / unit)
    if tf.default_target:
        (rootfs / "etc/systemd/system").mkdir(parents=True, exist_ok=True)
        _symlink(
            f"/usr/lib/systemd/system/{tf.default_target}",
            rootfs / "etc/systemd/system/default.target",
        )


def _wanted_by(unit_file: Path) -> list[str]:
    out = []
    for line in unit_file.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "WantedBy":
            out += value.split()
    return out


def _symlink(target: str, link: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def run_postprocess(rootfs: Path, tf: Treefile) -> None:
    """The postprocess-script, then each inline postprocess script, with the tree as /."""
    scripts = (
        [("postprocess-script", tf.postprocess_script.read_text())] if tf.postprocess_script else []
    )
    scripts += [(f"postprocess[{i}]", body) for i, body in enumerate(tf.postprocess)]
    if not scripts:
        return
    with Sandbox(rootfs) as sandbox:
        for where, body in scripts:
            first = body.splitlines()[0] if body else ""
            argv = first[2:].split() if first.startswith("#!") else ["/bin/sh", "-e"]
            result = sandbox.run([*argv, SCRIPT_PATH], script=body)
            if result.returncode != 0:
                output = " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
                raise FedostreeError(
                    f"{where} failed with exit status {result.returncode}: {output}"
                )


def move_etc(rootfs: Path) -> None:
    """OSTree keeps the default configuration in /usr/etc; /etc is merged at deploy time."""
    if (rootfs / "usr/etc").exists():
        raise FedostreeError("the tree already has /usr/etc")
    if (rootfs / "etc").exists():
        os.rename(rootfs / "etc", rootfs / "usr/etc")


def clean_state_dirs(rootfs: Path) -> None:
    """What scripts left in /var, /run and /tmp is not part of the image; /boot is empty."""
    for name in ("var", "run", "tmp"):
        path = rootfs / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():  # a symlink could lead out of the tree
            path.unlink()
        path.mkdir(mode=0o1777 if name == "tmp" else 0o755)
    (rootfs / "tmp").chmod(0o1777)
    boot = real_dir(rootfs, "boot")
    if boot.is_dir():
        for child in boot.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
