"""The build host's Debian kernel (linux-image-amd64), which the initramfs tests package
as a tree's kernel: found by fedostree.sample.hostkernel, whose module list is what
`modprobe --show-depends virtio_pci virtio_blk ext4` loads, in its order (the witness of
engine/kmod.py's order); and cpio(1) reading an initramfs back."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from fedostree.errors import FedostreeError
from fedostree.sample.hostkernel import HostKernel, find_host_kernel


def host_kernel() -> HostKernel | None:
    try:
        return find_host_kernel()
    except FedostreeError:
        return None


HOST = host_kernel()
KVER = HOST.version if HOST is not None else "none"
HOST_MODULES = Path(f"/usr/lib/modules/{KVER}")
needs_host_kernel = pytest.mark.skipif(
    HOST is None, reason="no kernel with modules on the host (linux-image-amd64, kmod)"
)


def modprobe_order() -> list[str]:
    """The modules modprobe loads, relative to the modules directory, in its order."""
    assert HOST is not None
    return list(HOST.modules)


def cpio_list(image: bytes, *flags: str) -> list[str]:
    """`cpio -it` of a gzip-compressed archive (flags: -v, --numeric-uid-gid)."""
    r = subprocess.run(["cpio", "-it", "--quiet", *flags], input=gzip.decompress(image),
                       capture_output=True, check=True)  # fmt: skip
    return r.stdout.decode().splitlines()


def unpack(image: bytes, dest: Path, leave_out: str = "dev/console") -> Path:
    """Extracted by cpio(1), times kept (the device node left out: no mknod needed)."""
    dest.mkdir(parents=True)
    subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames", "-f", leave_out],
                   input=gzip.decompress(image), cwd=dest, check=True)  # fmt: skip
    return dest
