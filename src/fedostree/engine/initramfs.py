"""The tree's initramfs, generated at compose time as rpm-ostree has dracut generate it
(rpmostree-postprocess.cxx, process_kernel_and_initramfs), but by fedostree itself: the
sample trees' dracut is a stand-in. It holds what mounting the root and setting up the
deployment takes, and nothing of the tree but its kernel modules:

    - /bin/busybox, the build host's (busybox-static): the shell and every command /init runs;
    - /usr/lib/ostree/ostree-prepare-root, the build host's (ostree-boot), with its program
      interpreter and libraries, found as ld.so finds them (engine/elf.py), each at the
      path it is found at (/init hands their directories to it in LD_LIBRARY_PATH);
    - the tree's modules for a virtio disk with ext4 (WANTED_MODULES), with their
      dependencies in load order (engine/kmod.py) under /lib/modules/KVER, uncompressed,
      listed in /etc/fedostree-initramfs/modules; a wanted module the kernel has neither
      as a module nor built in is a warning (it may be built in all the same);
    - /init (INIT), the boot protocol's initramfs side: busybox's applets, /proc,
      /sys, /dev and /run; the modules; root= from the command line (/dev/vda by
      default), waited for up to 10 s and mounted read-write on /sysroot;
      ostree-prepare-root /sysroot; the mounts moved over; switch_root to /sbin/init.
      Any failure prints one line `fedostree-initramfs: WHAT FAILED` and powers off.

The archive is a gzip-compressed newc cpio (engine/newc.py), its bytes a function of its
entries and the build's epoch (SOURCE_DATE_EPOCH, every entry's mtime). It is kept in
the compose's cache directory as CACHEDIR/initramfs/KEY.img, KEY the digest of every
entry and the epoch, so that a kernel's initramfs is compressed once for each epoch."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import newc
from fedostree.engine.elf import BadElf, HostRoot, Loader
from fedostree.engine.kmod import Module, is_loadable, load_order, module_bytes, read_index
from fedostree.engine.treefs import real_dir
from fedostree.errors import FedostreeError

log = logging.getLogger(__name__)

FORMAT = 1  # bump whenever the same inputs would give other bytes
CACHE_SUBDIR = "initramfs"
WANTED_MODULES = ("virtio_pci", "virtio_blk", "ext4")
MODULES_LIST = "etc/fedostree-initramfs/modules"
LIBRARY_PATH = "etc/fedostree-initramfs/library-path"
# Directories /init and busybox --install expect (mount points, applet links).
DIRECTORIES = ("bin", "dev", "etc", "proc", "run", "sbin", "sys", "sysroot", "tmp",
               "usr/bin", "usr/sbin")  # fmt: skip

INIT = r"""#!/bin/busybox sh
# fedostree's initramfs (engine/initramfs.py): mount the root, let ostree-prepare-root
# set up the deployment, switch to it. Any failure: one line, then power off.
fail() {
  echo "fedostree-initramfs: $*"
  poweroff -f
  exit 1
}
/bin/busybox --install -s || {
  /bin/busybox echo "fedostree-initramfs: busybox --install -s failed"
  /bin/busybox poweroff -f
}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc || fail "cannot mount /proc"
mount -t sysfs sysfs /sys || fail "cannot mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "cannot mount /dev"
mount -t tmpfs -o mode=0755 tmpfs /run || fail "cannot mount /run"
failed=
while read -r module kind; do
  insmod "$module" 2>/dev/null || [ "$kind" = optional ] || failed="$failed ${module##*/}"
done </etc/fedostree-initramfs/modules
why=${failed:+ (modules that did not load:$failed)}
root=/dev/vda
for arg in $(cat /proc/cmdline); do
  case $arg in root=*) root=${arg#root=} ;; esac
done
i=0
while [ ! -b "$root" ]; do
  [ $i -ge 100 ] && fail "no block device $root after 10 s$why"
  sleep 0.1
  i=$((i + 1))
done
mount -o rw "$root" /sysroot || fail "cannot mount $root on /sysroot$why"
LD_LIBRARY_PATH=$(cat /etc/fedostree-initramfs/library-path) \
  /usr/lib/ostree/ostree-prepare-root /sysroot
rc=$?
[ $rc -eq 0 ] || fail "ostree-prepare-root /sysroot failed (exit $rc)"
for dir in dev proc sys run; do
  mount --move /$dir /sysroot/$dir || fail "mount --move /$dir /sysroot/$dir failed"
done
[ -e /sysroot/sbin/init ] || [ -L /sysroot/sbin/init ] || fail "no /sbin/init in the deployment"
exec switch_root /sysroot /sbin/init
fail "switch_root /sysroot /sbin/init failed"
"""


@dataclass(frozen=True)
class HostTools:
    """The build host's programs the initramfs is made of."""

    busybox: str = "/bin/busybox"  # Debian's busybox-static
    prepare_root: str = "/usr/lib/ostree/ostree-prepare-root"  # Debian's ostree-boot


HOST_TOOLS = HostTools()
PACKAGES = {"busybox": "busybox-static", "prepare_root": "ostree-boot"}


@dataclass(frozen=True)
class Initramfs:
    """A generated initramfs, in the cache."""

    image: Path
    key: str
    modules: tuple[Module, ...]  # what /init loads, in order
    missing: tuple[str, ...]  # wanted modules the kernel does not have
    cached: bool  # found in the cache, not generated now


def generate_initramfs(
    rootfs: Path, kver: str, cachedir: Path, *, epoch: int, tools: HostTools = HOST_TOOLS
) -> Initramfs:
    """The initramfs for the tree's kernel kver, from the cache or generated into it."""
    check_host_tools(tools)
    modules, missing = modules_for(rootfs, kver)
    entries = collect_entries(rootfs, kver, modules, tools)
    key = cache_key(entries, epoch)
    image = cachedir / CACHE_SUBDIR / f"{key}.img"
    if image.is_file():
        log.info("initramfs for %s: cached (%s, %d bytes)", kver, key[:12], image.stat().st_size)
        return Initramfs(image, key, tuple(modules), tuple(missing), cached=True)
    started = time.monotonic()
    write_image(image, entries, epoch)
    log.info("initramfs for %s: %d modules, %d bytes, generated in %.2f s (%s)", kver,
             len(modules), image.stat().st_size, time.monotonic() - started, key[:12])  # fmt: skip
    return Initramfs(image, key, tuple(modules), tuple(missing), cached=False)


def check_host_tools(tools: HostTools) -> None:
    for attr, package in PACKAGES.items():
        path = getattr(tools, attr)
        if not os.path.isfile(path):
            raise FedostreeError(f"{path}: not on the build host (Debian's {package}; the "
                                 "initramfs is made with it): run make setup")  # fmt: skip


# --- what goes in ---------------------------------------------------------------------------


def modules_for(rootfs: Path, kver: str) -> tuple[list[Module], list[str]]:
    """The modules /init loads, in order, and the wanted ones the kernel lacks (one
    warning: they may be built in, the kernel's modules.builtin not saying so). A
    kernel without modules has everything it needs built in, or nothing to do it with."""
    moddir = real_dir(rootfs, f"usr/lib/modules/{kver}")
    index = read_index(moddir)
    if index is None or not index.deps:
        if index is None and any(moddir.rglob("*.ko*")):
            log.warning("kernel %s has modules but no modules.dep: its initramfs loads none "
                        "(%s must be built into the kernel)", kver, ", ".join(WANTED_MODULES))  # fmt: skip
        else:
            log.info("kernel %s has no modules: its initramfs loads none", kver)
        return [], list(WANTED_MODULES)
    modules, missing = load_order(index, WANTED_MODULES)
    usable = []
    for module in modules:
        if not (moddir / module.path).is_file():
            log.warning("kernel %s: %s is in modules.dep but not in the tree: the "
                        "initramfs goes without it", kver, module.path)  # fmt: skip
        elif not is_loadable(module.path):
            log.warning("kernel %s: %s is compressed in a way fedostree cannot unpack: the "
                        "initramfs goes without it", kver, module.path)  # fmt: skip
        else:
            usable.append(module)
    if missing:
        log.warning("kernel %s: no module %s in modules.dep or modules.builtin: the "
                    "initramfs goes without (the kernel may have it built in all the same)",
                    kver, ", ".join(missing))  # fmt: skip
    return usable, missing


def collect_entries(
    rootfs: Path, kver: str, modules: Sequence[Module], tools: HostTools
) -> list[newc.Entry]:
    """Every member of the archive (parent directories included)."""
    moddir = real_dir(rootfs, f"usr/lib/modules/{kver}")
    files: dict[str, newc.Entry] = {}
    for entry in (
        newc.regular("init", INIT.encode(), 0o755),
        newc.char_device("dev/console", 5, 1),
        *host_programs(tools),
        *(
            newc.regular(f"lib/modules/{kver}/{m.loaded_path}", module_bytes(moddir / m.path))
            for m in modules
        ),
        newc.regular(MODULES_LIST, modules_list(kver, modules).encode()),
    ):
        files[entry.path] = entry
    libdirs = [posixpath.dirname(f"/{p}") for p in files if is_library(p)]
    files[LIBRARY_PATH] = newc.regular(LIBRARY_PATH, ":".join(dict.fromkeys(libdirs)).encode())
    dirs = {d for p in files for d in parents(p)} | set(DIRECTORIES)
    return [*(newc.directory(d) for d in sorted(dirs)), *files.values()]


def host_programs(tools: HostTools) -> list[newc.Entry]:
    """busybox and ostree-prepare-root, with what ld.so needs to run them, at their
    host paths; a library is stored as a file under the name it is looked up by."""
    loader = Loader(HostRoot())
    out: dict[str, newc.Entry] = {}
    targets = {
        tools.busybox: "bin/busybox",
        tools.prepare_root: "usr/lib/ostree/ostree-prepare-root",
    }
    for source, dest in targets.items():
        out[dest] = newc.regular(dest, Path(source).read_bytes(), 0o755)
        try:
            needed = loader.closure(source)
        except (LookupError, BadElf) as e:
            raise FedostreeError(f"the initramfs cannot run {source}: {e}") from None
        for lib in needed:
            rel = lib.lstrip("/")
            out.setdefault(rel, newc.regular(rel, Path(lib).read_bytes(), 0o755))
    return list(out.values())


def is_library(rel: str) -> bool:
    name = posixpath.basename(rel)
    return ".so" in name and not rel.startswith("lib/modules/")


def modules_list(kver: str, modules: Sequence[Module]) -> str:
    """/init's list: one `PATH required|optional` line per module, in load order."""
    return "".join(f"/lib/modules/{kver}/{m.loaded_path} "
                   f"{'optional' if m.optional else 'required'}\n" for m in modules)  # fmt: skip


def parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


# --- the cache and the archive ----------------------------------------------------------


def cache_key(entries: Sequence[newc.Entry], epoch: int) -> str:
    """sha256 over what decides the archive's bytes: the format, the epoch, and each
    entry's path, mode, device numbers and content digest."""
    doc = {
        "format": FORMAT,
        "gzip-level": newc.GZIP_LEVEL,
        "epoch": epoch,
        "entries": sorted(
            [e.path, e.mode, list(e.rdev), hashlib.sha256(e.data).hexdigest()] for e in entries
        ),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def write_image(image: Path, entries: Sequence[newc.Entry], epoch: int) -> None:
    """The archive at image, whole or not at all (a temporary file renamed into place)."""
    image.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{image.name}.", dir=image.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            newc.write_archive(out, entries, mtime=epoch)
        os.chmod(tmp, 0o644)
        os.replace(tmp, image)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def install_image(image: Path, dest: Path) -> None:
    """A copy of the cached image at dest, mode 0644, replacing what was there (a new
    file: the tree's files may be hardlinks into a repository)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(image, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        _unlink_quietly(tmp)
        raise
