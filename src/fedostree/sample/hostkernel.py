"""The build host's kernel, which the sample `kernel` package wraps so that the sample
trees boot (in QEMU): Debian's linux-image-amd64 image and the modules a virtio disk with
an ext4 root needs, found when the sample repository is built.

The modules are the ones `modprobe --show-depends` loads for BOOT_MODULES (softdeps such
as ext4's crc32c included), in its load order; their modules.dep lines are Debian's own,
kept for the shipped modules only."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fedostree.errors import FedostreeError

HOST_BOOT = Path("/boot")
# Where Debian installs modules (/lib/modules is the same directory on merged-/usr
# systems); `modprobe -d /usr` reads this one.
HOST_MODULES = Path("/usr/lib/modules")
BOOT_MODULES = ("virtio_pci", "virtio_blk", "ext4")
SBIN_DIRS = ("/usr/sbin", "/sbin")  # modprobe's home, often not on a user's PATH
SETUP_HINT = "install linux-image-amd64 and kmod: run `make setup`"


@dataclass(frozen=True)
class HostKernel:
    version: str  # the host's kernel version, e.g. 6.1.0-57-amd64
    vmlinuz: Path
    modules: tuple[str, ...]  # paths relative to the modules directory, in load order
    modules_dep: str  # depmod's modules.dep for exactly these modules

    @property
    def moddir(self) -> Path:
        return HOST_MODULES / self.version

    def module_path(self, module: str) -> Path:
        return self.moddir / module


def find_host_kernel() -> HostKernel:
    """The newest kernel of the build host that has its modules installed."""
    version = newest_kernel_version(HOST_BOOT, HOST_MODULES)
    vmlinuz = HOST_BOOT / f"vmlinuz-{version}"
    moddir = HOST_MODULES / version
    for path in (vmlinuz, moddir / "modules.dep"):
        check_readable(path)
    modules = boot_modules(version)
    for module in modules:
        check_readable(moddir / module)
    dep_text = (moddir / "modules.dep").read_text(encoding="utf-8")
    return HostKernel(version, vmlinuz, modules, select_modules_dep(dep_text, modules, moddir))


def check_readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise FedostreeError(
            f"building the sample repository needs {path}: {exc.strerror} ({SETUP_HINT})"
        ) from exc


def version_key(version: str) -> tuple[str | int, ...]:
    """6.1.0-57-amd64 < 6.1.0-100-amd64: numbers compare as numbers."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", version)))


def newest_kernel_version(boot: Path, modules: Path) -> str:
    """The highest VERSION of a boot/vmlinuz-VERSION whose modules/VERSION exists."""
    versions = [
        path.name.removeprefix("vmlinuz-")
        for path in boot.glob("vmlinuz-*")
        if path.is_file() and (modules / path.name.removeprefix("vmlinuz-")).is_dir()
    ]
    if not versions:
        raise FedostreeError(
            f"building the sample repository needs a kernel: no {boot}/vmlinuz-VERSION "
            f"with its {modules}/VERSION ({SETUP_HINT})"
        )
    return max(versions, key=version_key)


def find_modprobe() -> str:
    found = shutil.which("modprobe") or shutil.which("modprobe", path=os.pathsep.join(SBIN_DIRS))
    if found is None:
        raise FedostreeError(f"building the sample repository needs modprobe ({SETUP_HINT})")
    return found


def boot_modules(version: str) -> tuple[str, ...]:
    """The module files (relative to HOST_MODULES/version) that modprobe would insert for
    BOOT_MODULES, each once, in its order; built-in modules need none."""
    argv = [find_modprobe(), "-d", str(HOST_MODULES.parent.parent), "-S", version,
            "-a", "--show-depends", *BOOT_MODULES]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise FedostreeError(f"{shlex.join(argv)} failed: {reason}")
    prefix = f"{HOST_MODULES / version}/"
    modules: dict[str, None] = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if words[:1] != ["insmod"] or len(words) < 2:
            continue  # `builtin NAME`: compiled into the kernel
        if not words[1].startswith(prefix):
            raise FedostreeError(f"{shlex.join(argv)}: {words[1]} is not below {prefix}")
        modules[words[1].removeprefix(prefix)] = None
    return tuple(modules)


def select_modules_dep(text: str, modules: tuple[str, ...], moddir: Path) -> str:
    """The lines of a modules.dep for `modules`, in their order; each module's own
    dependencies must be among them."""
    lines = {}
    for line in text.splitlines():
        module, sep, _ = line.partition(":")
        if sep:
            lines[module] = line
    selected = []
    for module in modules:
        if module not in lines:
            raise FedostreeError(f"{moddir}/modules.dep has no line for {module}")
        missing = [dep for dep in lines[module].partition(":")[2].split() if dep not in modules]
        if missing:
            raise FedostreeError(
                f"{moddir}/modules.dep: {module} needs {missing[0]}, which modprobe did not list"
            )
        selected.append(lines[module])
    return "".join(f"{line}\n" for line in selected)
