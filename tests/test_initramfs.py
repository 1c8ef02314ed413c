"""The initramfs a compose generates for the tree's kernel (engine/initramfs.py), where
rpm-ostree runs dracut: the build host's busybox and ostree-prepare-root with its
libraries, the tree's virtio and ext4 modules in load order, the boot protocol's /init,
as a reproducible gzip cpio cached per inputs. The kernel package is built by rpmbuild
from the host's Debian kernel (real .ko files, real vmlinuz); what went in is read back
with cpio(1), `modprobe --show-depends` and ldd(1) as the witnesses, and the boot-tier
test boots the tree in QEMU (self-contained: the stock ostree CLI deploys it)."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fedostree.engine import newc
from fedostree.engine.initramfs import INIT, HostTools, generate_initramfs
from fedostree.engine.kmod import load_order, read_index
from fedostree.errors import FedostreeError
from tests.support.cli import Result, ostree, run
from tests.support.rpms import SOURCE_DATE_EPOCH, Pkg, base_packages, build_rpms, createrepo
from tests.support.rpms import write_treefile as write_repo_treefile

WANTED = ("virtio_pci", "virtio_blk", "ext4")
OSNAME = "fedostree"
REF = "test/x86_64/initramfs"
TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: [{{packages}}]
"""
TEST_INIT = """\
#!/usr/sbin/busybox sh
echo "fedostree-test-init: booted"
/usr/sbin/busybox cat /proc/mounts
/usr/sbin/busybox poweroff -f
"""


def host_kernel() -> str | None:
    """The newest kernel of the host with modules and a vmlinuz in /boot (Debian's
    linux-image-amd64)."""
    found = [
        d.name
        for d in Path("/usr/lib/modules").glob("*")
        if (d / "modules.dep").is_file() and Path(f"/boot/vmlinuz-{d.name}").is_file()
    ]
    return max(found, default=None)


KVER = host_kernel() or "none"
HOST_MODULES = Path(f"/usr/lib/modules/{KVER}")
pytestmark = pytest.mark.skipif(
    host_kernel() is None, reason="no kernel with modules on the host (linux-image-amd64)"
)


def modprobe_order(kver: str = KVER) -> list[str]:
    """What `modprobe --show-depends` would insmod, in order (module paths relative to
    the modules directory): the witness of the load order."""
    modprobe = shutil.which("modprobe") or "/usr/sbin/modprobe"
    r = subprocess.run(
        [modprobe, "-S", kver, "-a", "--show-depends", *WANTED],
        capture_output=True,
        text=True,
        check=True,
    )
    paths = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("insmod ")]
    return list(dict.fromkeys(p.split(f"/{kver}/", 1)[1] for p in paths))


def module_files(modules: list[str], vmlinuz: str | None) -> dict[str, object]:
    """A kernel package's files: the host's modules, the lines of its modules.dep and
    modules.alias for them, its modules.builtin, and its vmlinuz (None: a stand-in)."""
    moddir = f"/usr/lib/modules/{KVER}"
    names = {Path(m).name.split(".ko")[0].replace("-", "_") for m in modules}
    dep_lines = [
        line
        for line in (HOST_MODULES / "modules.dep").read_text().splitlines()
        if line.split(":")[0] in modules
    ]
    alias_lines = [
        line
        for line in (HOST_MODULES / "modules.alias").read_text().splitlines()
        if line.split()[-1:] and line.split()[-1] in names
    ]
    return {
        f"{moddir}/vmlinuz": ("copy", vmlinuz) if vmlinuz else "stand-in vmlinuz\n",
        **{f"{moddir}/{m}": ("copy", str(HOST_MODULES / m)) for m in modules},
        f"{moddir}/modules.dep": "".join(f"{line}\n" for line in dep_lines),
        f"{moddir}/modules.alias": "".join(f"{line}\n" for line in alias_lines),
        f"{moddir}/modules.builtin": ("copy", str(HOST_MODULES / "modules.builtin")),
    }


def kernel_packages() -> list[Pkg]:
    """`kernel`: the host's kernel and the modules a virtio ext4 root needs; variants
    with a package-installed initramfs, and without ext4 (a stand-in vmlinuz each)."""
    modules = modprobe_order()
    ext4_branch = {m for m in modules if "/fs/" in m or "crc" in m}
    return [
        Pkg(
            "kernel",
            version="6.1.0",
            requires=["filesystem"],
            files=module_files(modules, f"/boot/vmlinuz-{KVER}"),
        ),
        Pkg(
            "kernel-rpminitramfs",
            requires=["filesystem"],
            files={
                **module_files(modules, None),
                f"/usr/lib/modules/{KVER}/initramfs.img": "rpm initramfs\n",
            },
        ),
        Pkg(
            "kernel-noext4",
            requires=["filesystem"],
            files=module_files([m for m in modules if m not in ext4_branch], None),
        ),
        Pkg(
            "testinit",
            requires=["bash"],
            files={
                "/usr/lib/systemd/systemd": TEST_INIT,
                "/usr/sbin/init": ("symlink", "../lib/systemd/systemd"),
            },
            attrs={"/usr/lib/systemd/systemd": "0755,root,root"},
        ),
        Pkg("tool", requires=["bash"], files={"/usr/bin/tool": "#!/bin/sh\necho 1\n"}),
    ]


@dataclass(frozen=True)
class Rpms:
    rpms: Path
    newer: Path  # tool 2.0, built 100 s later than the rest


@pytest.fixture(scope="module")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> Rpms:
    root = tmp_path_factory.mktemp("initramfs-rpms")
    build_rpms([*base_packages(), *kernel_packages()], root / "rpms", root / "work", "w.ufdio")
    tool2 = Pkg(
        "tool", version="2.0", requires=["bash"], files={"/usr/bin/tool": "#!/bin/sh\necho 2\n"}
    )
    later = str(int(SOURCE_DATE_EPOCH) + 100)
    build_rpms([tool2], root / "newer", root / "work2", source_date_epoch=later)
    return Rpms(root / "rpms", root / "newer")


def rpm_repo(rpms: Rpms, dest: Path, *, newer: bool = False) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for rpm in rpms.rpms.glob("*.rpm"):
        if not (newer and rpm.name.startswith("tool-")):
            (dest / rpm.name).symlink_to(rpm)
    if newer:
        for rpm in rpms.newer.glob("*.rpm"):
            (dest / rpm.name).symlink_to(rpm)
    createrepo(dest)
    return dest


@pytest.fixture(scope="module")
def repo(rpms: Rpms, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rpm_repo(rpms, tmp_path_factory.mktemp("initramfs-repo") / "repo")


def treefile(directory: Path, repo: Path, packages: str, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_repo_treefile(directory, repo.as_uri(), TREE.format(packages=packages) + extra)


def compose(tf: Path, workdir: Path) -> Result:
    """`compose tree` with the debug log (cache hits and removals are at INFO)."""
    return run(
        "--debug",
        "compose",
        "tree",
        tf,
        "--repo",
        workdir / "repo",
        "--cachedir",
        workdir / "cache",
    )


def composed(tf: Path, workdir: Path) -> Result:
    r = compose(tf, workdir)
    assert r.exit_code == 0, r.stderr
    return r


def cat_bytes(repo: Path, path: str, ref: str = REF) -> bytes:
    return subprocess.run(
        ["ostree", f"--repo={repo}", "cat", ref, path], capture_output=True, check=True
    ).stdout


def initramfs_of(repo: Path, ref: str = REF) -> bytes:
    return cat_bytes(repo, f"/usr/lib/modules/{KVER}/initramfs.img", ref)


def cpio_list(image: bytes, *flags: str) -> list[str]:
    r = subprocess.run(
        ["cpio", "-it", "--quiet", *flags],
        input=gzip.decompress(image),
        capture_output=True,
        check=True,
    )
    return r.stdout.decode().splitlines()


def unpack(image: bytes, dest: Path, leave_out: str = "dev/console") -> Path:
    """Extracted by cpio(1), times kept (the device node left out: no mknod needed)."""
    dest.mkdir(parents=True)
    subprocess.run(
        ["cpio", "-idm", "--quiet", "--no-absolute-filenames", "-f", leave_out],
        input=gzip.decompress(image),
        cwd=dest,
        check=True,
    )
    return dest


def ldd_libraries(program: str) -> set[str]:
    """The names ldd(1) says the program loads (the second witness of the closure)."""
    r = subprocess.run(["ldd", program], capture_output=True, text=True, check=True)
    names = set()
    for line in r.stdout.splitlines():
        word = line.split()[0]
        if "vdso" not in word:
            names.add(Path(word).name)
    return names


@pytest.fixture(scope="module")
def built(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """The tree with the kernel and the test init, composed once: (workdir, result)."""
    work = tmp_path_factory.mktemp("initramfs-built")
    r = composed(treefile(work / "config", repo, "bash, kernel, testinit"), work)
    return work, r


# --- what the archive holds ---------------------------------------------------------------


def test_the_initramfs_holds_busybox_prepare_root_its_libraries_and_the_modules(
    built: tuple[Path, Result], tmp_path: Path
) -> None:
    work, _ = built
    image = initramfs_of(work / "repo")
    assert image[:2] == b"\x1f\x8b" and image[4:8] == b"\0\0\0\0"  # gzip, no mtime
    names = cpio_list(image)
    assert names == sorted(names)
    order = modprobe_order()
    for name in (
        "init",
        "bin/busybox",
        "dev/console",
        "usr/lib/ostree/ostree-prepare-root",
        "lib64/ld-linux-x86-64.so.2",
        *(f"lib/modules/{KVER}/{m}" for m in order),
    ):
        assert name in names
    root = unpack(image, tmp_path / "root")
    assert (root / "init").read_text() == INIT and os.access(root / "init", os.X_OK)
    assert (root / "bin/busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    prepare_root = "/usr/lib/ostree/ostree-prepare-root"
    assert (root / prepare_root.lstrip("/")).read_bytes() == Path(prepare_root).read_bytes()
    libraries = {Path(n).name for n in names if ".so" in Path(n).name}
    assert ldd_libraries(prepare_root) <= libraries
    for m in order:
        assert (root / f"lib/modules/{KVER}/{m}").read_bytes() == (HOST_MODULES / m).read_bytes()
    # /init loads them in modprobe's order; the crc32c implementations may fail to load
    listed = (root / "etc/fedostree-initramfs/modules").read_text().splitlines()
    assert [line.split()[0] for line in listed] == [f"/lib/modules/{KVER}/{m}" for m in order]
    optional = {line.split()[0].rpartition("/")[2] for line in listed if line.endswith(" optional")}
    assert optional == {Path(m).name for m in order if "crc32c" in m}
    # every entry root's, at the build's epoch (the packages' build time)
    for line in cpio_list(image, "-v", "--numeric-uid-gid"):
        assert line.split()[2:4] == ["0", "0"], line
    for path in root.rglob("*"):  # (cpio sets a directory's time before filling it)
        if path.is_file():
            assert path.stat().st_mtime == int(SOURCE_DATE_EPOCH), path
    device = next(line for line in cpio_list(image, "-v") if line.endswith(" dev/console"))
    assert device.startswith("crw-------") and re.search(r"\b5,\s+1\b", device)


def test_the_tree_keeps_it_beside_the_kernel_and_under_the_boot_checksum(
    built: tuple[Path, Result],
) -> None:
    work, r = built
    repo = work / "repo"
    listing = ostree(repo, "ls", REF, f"/usr/lib/modules/{KVER}/initramfs.img")
    assert listing.split()[0] == "-00644"
    vmlinuz = cat_bytes(repo, f"/usr/lib/modules/{KVER}/vmlinuz")
    image = initramfs_of(repo)
    bootcsum = hashlib.sha256(vmlinuz + image).hexdigest()
    assert cat_bytes(repo, f"/usr/lib/ostree-boot/initramfs-{KVER}.img-{bootcsum}") == image
    assert f"info: initramfs for {KVER}: {len(modprobe_order())} modules," in r.stderr
    assert "warning:" not in r.stderr


def test_the_same_inputs_give_the_same_bytes_and_the_cache_serves_them(
    built: tuple[Path, Result], repo: Path, tmp_path: Path
) -> None:
    work, _ = built
    first = initramfs_of(work / "repo")
    # generated again, elsewhere: byte for byte the same
    composed(treefile(tmp_path / "config", repo, "bash, kernel, testinit"), tmp_path)
    assert initramfs_of(tmp_path / "repo") == first
    # another tree with the same kernel, in the same cache: not generated again
    other = tmp_path / "other"
    tf = treefile(other / "config", repo, "bash, kernel, tool")
    r = composed(tf, tmp_path)
    assert re.search(
        rf"info: initramfs for {KVER}: cached \([0-9a-f]{{12}}, {len(first)} bytes\)", r.stderr
    ), r.stderr
    assert initramfs_of(tmp_path / "repo") == first
    (cached,) = (tmp_path / "cache/initramfs").iterdir()  # no temporary file left
    assert re.fullmatch(r"[0-9a-f]{64}\.img", cached.name) and cached.read_bytes() == first


# --- what the treefile and the packages change ----------------------------------------


def test_no_initramfs_gives_none_and_the_boot_entry_has_no_initrd(
    repo: Path, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "config", repo, "bash, kernel", "no-initramfs: true\n")
    r = composed(tf, tmp_path)
    assert f"info: kernel {KVER} boots without an initramfs" in r.stderr
    boot = ostree(tmp_path / "repo", "ls", REF, "/usr/lib/ostree-boot", f"/usr/lib/modules/{KVER}")
    assert "initramfs" not in boot and f"vmlinuz-{KVER}-" in boot
    assert not (tmp_path / "cache/initramfs").exists()
    sysroot = deploy(tmp_path / "repo", tmp_path / "sysroot")
    try:
        entry = boot_entry(sysroot)
        assert "linux" in entry and "initrd" not in entry
    finally:
        unfreeze(sysroot)


def test_an_rpm_installed_initramfs_is_replaced_but_kept_with_no_initramfs(
    repo: Path, tmp_path: Path
) -> None:
    r = composed(treefile(tmp_path / "a/config", repo, "bash, kernel-rpminitramfs"), tmp_path / "a")
    assert f"info: Removing RPM-generated 'usr/lib/modules/{KVER}/initramfs.img'" in r.stderr
    image = initramfs_of(tmp_path / "a/repo")
    assert "init" in cpio_list(image)
    tf = treefile(tmp_path / "b/config", repo, "bash, kernel-rpminitramfs", "no-initramfs: true\n")
    r = composed(tf, tmp_path / "b")
    assert "Removing RPM-generated" not in r.stderr
    assert initramfs_of(tmp_path / "b/repo") == b"rpm initramfs\n"


def test_a_module_the_kernel_lacks_is_a_warning(repo: Path, tmp_path: Path) -> None:
    r = composed(treefile(tmp_path / "config", repo, "bash, kernel-noext4"), tmp_path)
    assert (
        f"warning: kernel {KVER}: no module ext4 in modules.dep or modules.builtin: the "
        "initramfs goes without (the kernel may have it built in all the same)"
        in r.stderr.splitlines()
    )
    names = cpio_list(initramfs_of(tmp_path / "repo"))
    assert f"lib/modules/{KVER}/kernel/drivers/block/virtio_blk.ko" in names
    assert not [n for n in names if n.endswith("ext4.ko")]


def test_a_derived_build_refreshes_the_initramfs_as_a_cold_build_makes_it(
    rpms: Rpms, tmp_path: Path
) -> None:
    """tool 2.0 is newer: the build's epoch, the archive's times, moves with it."""
    live = rpm_repo(rpms, tmp_path / "live")
    tf = treefile(tmp_path / "config", live, "bash, kernel, tool")
    composed(tf, tmp_path / "server")
    before = initramfs_of(tmp_path / "server/repo")
    shutil.rmtree(live)
    rpm_repo(rpms, live, newer=True)
    r = composed(tf, tmp_path / "server")
    assert "deriving from" in r.stderr and "building cold" not in r.stderr, r.stderr
    composed(tf, tmp_path / "cold")
    root = ["ls", "-d", "-C", REF, "/"]
    assert ostree(tmp_path / "server/repo", *root) == ostree(tmp_path / "cold/repo", *root)
    after = initramfs_of(tmp_path / "server/repo")
    assert after != before and after == initramfs_of(tmp_path / "cold/repo")
    assert gzip.decompress(after).replace(
        b"%08X" % (int(SOURCE_DATE_EPOCH) + 100), b"%08X" % int(SOURCE_DATE_EPOCH)
    ) == gzip.decompress(before)


# --- the generator on its own -------------------------------------------------------------


def test_a_tool_missing_on_the_build_host_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / f"rootfs/usr/lib/modules/{KVER}").mkdir(parents=True)
    tools = HostTools(prepare_root=str(tmp_path / "ostree-prepare-root"))
    with pytest.raises(FedostreeError) as e:
        generate_initramfs(tmp_path / "rootfs", KVER, tmp_path / "cache", epoch=0, tools=tools)
    assert str(e.value) == (
        f"{tmp_path}/ostree-prepare-root: not on the build host (Debian's "
        "ostree-boot; the initramfs is made with it): run make setup"
    )
    assert not (tmp_path / "cache").exists()


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


# --- booting it ---------------------------------------------------------------------------


def deploy(repo: Path, sysroot: Path, *kargs: str) -> Path:
    """REF deployed into a new sysroot by the stock ostree CLI."""

    def admin(*args: str | Path) -> None:
        subprocess.run(["ostree", "admin", *map(str, args)], capture_output=True, check=True)

    sysroot.mkdir(parents=True)
    admin("init-fs", sysroot)
    admin("os-init", "--sysroot", sysroot, OSNAME)
    subprocess.run(
        ["ostree", f"--repo={sysroot}/ostree/repo", "pull-local", str(repo), REF],
        capture_output=True,
        check=True,
    )
    admin("deploy", "--sysroot", sysroot, "--os", OSNAME, *(f"--karg={k}" for k in kargs), REF)
    return sysroot


def boot_entry(sysroot: Path) -> dict[str, str]:
    (conf,) = (sysroot / "boot/loader/entries").glob("*.conf")
    return dict(line.split(" ", 1) for line in conf.read_text().splitlines() if " " in line)


def unfreeze(sysroot: Path) -> None:
    subprocess.run(["chattr", "-R", "-i", str(sysroot)], capture_output=True, check=False)


@pytest.fixture
def booted_sysroot(built: tuple[Path, Result], tmp_path: Path) -> Iterator[Path]:
    kargs = ("root=/dev/vda", "rw", "console=ttyS0", "panic=-1")
    sysroot = deploy(built[0] / "repo", tmp_path / "sysroot", *kargs)
    yield sysroot
    unfreeze(sysroot)


def boot_in_qemu(sysroot: Path, disk: Path, options: str) -> str:
    """The serial console of one boot of the deployment's kernel and initramfs (the
    boot protocol's QEMU line); QEMU exits when the guest powers off."""
    entry = boot_entry(sysroot)
    boot = sysroot / "boot"
    qemu = ["qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max", "-m", "512",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio"]  # fmt: skip
    r = subprocess.run(
        [*qemu, "-kernel", f"{boot}{entry['linux']}", "-initrd", f"{boot}{entry['initrd']}",
         "-append", options, "-drive", f"file={disk},format=raw,if=virtio"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return r.stdout


@pytest.mark.boot
@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="no qemu-system-x86")
def test_the_tree_boots_through_its_initramfs_in_qemu(booted_sysroot: Path, tmp_path: Path) -> None:
    """ostree-prepare-root sets the deployment up: the tree's init runs with /usr
    read-only, and powers off. Without the disk the initramfs says so in one line."""
    disk = tmp_path / "disk.img"
    subprocess.run(
        ["mkfs.ext4", "-q", "-d", str(booted_sysroot), "-F", str(disk), "512M"], check=True
    )
    options = boot_entry(booted_sysroot)["options"]
    console = boot_in_qemu(booted_sysroot, disk, options)
    assert "fedostree-initramfs:" not in console, console[-3000:]
    assert "fedostree-test-init: booted" in console, console[-3000:]
    assert re.search(r"^\S+ /usr \S+ ro[, ]", console, re.MULTILINE), console[-3000:]
    console = boot_in_qemu(booted_sysroot, disk, options.replace("root=/dev/vda", "root=/dev/vdb"))
    marker = "fedostree-initramfs:"
    failures = [line[line.index(marker) :] for line in console.splitlines() if marker in line]
    assert failures == ["fedostree-initramfs: no block device /dev/vdb after 10 s"], console[-3000:]
    assert "fedostree-test-init" not in console
