"""The disk a boot runs from, made and read without root privileges or loop devices.

The sysroot directory is the machine's state between boots. Before each boot,
`mkfs.ext4 -d` copies it into a fresh ext4 image (hardlinks kept; well under a second
for a sample tree). After the boot, what a running system may change is read back from
the image with `debugfs rdump`: the stateroots' /var, and each deployment's /etc. The
rest (/usr, the repository, the boot entries) is read-only for a booted system, and is
changed only by fedostree between boots, in the directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fedostree.errors import FedostreeError

MKFS = "mkfs.ext4"
DEBUGFS = "debugfs"
SLACK = 256 * 1024 * 1024  # free space for what a boot writes
BLOCK = 4096


def disk_usage(root: Path) -> int:
    """Bytes the files under root take, each hardlinked file counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_nlink > 1 and not os.path.isdir(os.path.join(dirpath, name)):
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += (st.st_size + BLOCK - 1) // BLOCK * BLOCK + BLOCK  # data and inode
    return total


def make_image(sysroot: Path, image: Path) -> None:
    """A sparse ext4 image holding the sysroot directory (replaced if it exists)."""
    size_mib = (disk_usage(sysroot) * 3 // 2 + SLACK) // (1024 * 1024) + 1
    image.unlink(missing_ok=True)
    run_tool([MKFS, "-q", "-F", "-L", "fedostree-root", "-d", str(sysroot), str(image),
              f"{size_mib}M"], what=f"making the disk image of {sysroot}")  # fmt: skip


def read_back(image: Path, sysroot: Path) -> list[str]:
    """Copy what a boot may have changed from the image into the sysroot directory;
    return the paths (relative to the sysroot) read back."""
    paths = list(writable_paths(sysroot))
    with tempfile.TemporaryDirectory(prefix="readback-", dir=image.parent) as tmp:
        for rel in paths:
            dest = Path(tmp) / rel.replace("/", "_")
            dest.mkdir()
            run_tool([DEBUGFS, "-R", f"rdump /{rel} {dest}", str(image)],
                     what=f"reading /{rel} back from {image}")  # fmt: skip
            copied = dest / Path(rel).name
            if not copied.is_dir():
                raise FedostreeError(f"{image}: /{rel} is missing from the disk image")
            replace_contents(sysroot / rel, copied)
    return paths


def writable_paths(sysroot: Path) -> Iterator[str]:
    """ostree/deploy/STATEROOT/var, and ostree/deploy/STATEROOT/deploy/DEPLOYMENT/etc."""
    deploy = sysroot / "ostree" / "deploy"
    if not deploy.is_dir():
        return
    for stateroot in sorted(deploy.iterdir()):
        if (stateroot / "var").is_dir():
            yield f"ostree/deploy/{stateroot.name}/var"
        deployments = stateroot / "deploy"
        if deployments.is_dir():
            for d in sorted(deployments.iterdir()):
                if d.is_dir() and (d / "etc").is_dir():
                    yield f"ostree/deploy/{stateroot.name}/deploy/{d.name}/etc"


def replace_contents(target: Path, source: Path) -> None:
    """target's entries become source's; target itself stays (a deployment's root is
    immutable, so its /etc cannot be renamed, only emptied and refilled)."""
    for entry in list(target.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in source.iterdir():
        os.rename(entry, target / entry.name)
    st = source.stat()
    os.chmod(target, st.st_mode & 0o7777)


def run_tool(argv: list[str], *, what: str) -> str:
    if shutil.which(argv[0]) is None:
        raise FedostreeError(f"{what}: {argv[0]} is not installed (run `make setup`)")
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise FedostreeError(f"{what}: {argv[0]} failed with exit status "
                             f"{result.returncode}: {output}")  # fmt: skip
    return result.stdout
