"""The installer's part: a commit deployed by libostree into a sysroot directory, with
the kernel arguments a virtual machine booting from one virtio disk needs, as
`ostree admin deploy --karg=...` (or coreos-assembler's image build) would."""

from __future__ import annotations

import array
import fcntl
import os
import shutil
from pathlib import Path

from fedostree.client.sysroot import init_sysroot
from fedostree.engine import ostree as ot
from fedostree.engine.ostree import Gio, GLib, OSTree
from fedostree.errors import FedostreeError
from fedostree.model.origin import Origin

# The whole disk is the root filesystem; the console is the serial port QEMU logs; a
# panic (a dead init, no root device) restarts the machine at once, and QEMU's
# -no-reboot makes that its exit.
KARGS = ("root=/dev/vda", "rw", "console=ttyS0", "panic=-1")
OSNAME = "fedostree"
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x80086601, 0x40086602, 0x10


def install(sysroot: Path, source: OSTree.Repo, commit: str, refspec: str,
            *, osname: str = OSNAME) -> None:  # fmt: skip
    """A new sysroot at path with commit deployed (its origin follows refspec)."""
    init_sysroot(sysroot, osname)
    root = open_sysroot(sysroot)
    try:
        ot.pull_local(root.repo(), source, [commit])
        origin = Origin(refspec).to_keyfile()
        _, deployment = root.deploy_tree(osname, commit, origin, None, list(KARGS), None)
        flags = OSTree.SysrootSimpleWriteDeploymentFlags.NONE
        root.simple_write_deployment(osname, deployment, None, flags, None)
    except GLib.Error as e:
        raise DeployError(f"deploying {commit[:12]}: {e.message}") from e


class DeployError(FedostreeError):
    """libostree refused to deploy the tree: the tree's fault, a failed boot."""


def open_sysroot(path: Path) -> OSTree.Sysroot:
    root = OSTree.Sysroot.new(Gio.File.new_for_path(str(path)))
    root.load(None)
    return root


def remove_sysroot(path: Path) -> None:
    """Remove a sysroot directory; libostree marks deployment roots immutable, so that
    is lifted first, through libostree."""
    if not path.exists():
        return
    if (path / "ostree" / "repo").is_dir():
        try:
            root = open_sysroot(path)
            for deployment in root.get_deployments():
                root.deployment_set_mutable(deployment, True, None)
        except GLib.Error:
            pass
    for deployment_dir in (path / "ostree" / "deploy").glob("*/deploy/*"):
        if deployment_dir.is_dir() and not deployment_dir.is_symlink():
            clear_immutable(deployment_dir)  # also one libostree no longer lists
    shutil.rmtree(path)


def clear_immutable(path: Path) -> None:
    """chattr -i, through the FS_IOC_GETFLAGS and FS_IOC_SETFLAGS ioctls."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        flags = array.array("l", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        if flags[0] & FS_IMMUTABLE_FL:
            flags[0] &= ~FS_IMMUTABLE_FL
            fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags, True)
    except OSError:
        pass  # a filesystem without inode flags (tmpfs): nothing to lift
    finally:
        os.close(fd)
