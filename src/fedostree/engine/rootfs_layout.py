"""The tree's top level and the final touches, as rpm-ostree lays out its trees
(`compose_prepare_rootfs`, `compose_init_rootfs_strict`, `rootfs_prepare_links` and
`postprocess_final` in rpm-ostree's rust/src/composepost.rs and
src/libpriv/rpmostree-postprocess.cxx).

A new root is made, and only /usr, /boot, /var and the /bin, /lib, ... compat symlinks are
taken from the install root; everything else there (/tmp, /root, /opt, ...) is left
behind. The new root has (the 2014 edition's defaults; opt-usrlocal is always "var"):

    /dev /proc /run /sys /var /sysroot    empty directories (mount points)
    /tmp                                  -> sysroot/tmp, or with tmp-is-dir a 1777 directory
    /home -> var/home, /root -> var/roothome, /srv -> var/srv, /mnt -> var/mnt,
    /media -> run/media, /opt -> var/opt, /ostree -> sysroot/ostree
    /usr/local                            -> ../var/usrlocal

A tree whose ostree-prepare-root.conf asks for a transient root keeps its whole top level
instead (and needs tmp-is-dir). /var is left empty: tmpfiles.d lines create its content
at boot, rpm-ostree's own in usr/lib/tmpfiles.d/rpm-ostree-0-integration*.conf."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from fedostree.engine.ostree import GLib
from fedostree.engine.rootfs import resolve_in_root
from fedostree.engine.rpmdb import DBPATH
from fedostree.engine.treefs import (
    read_text,
    real_dir,
    remove_path,
    replace_with_symlink,
    write_file,
)
from fedostree.errors import ConfigError, FedostreeError

log = logging.getLogger(__name__)
TOPLEVEL_DIRS = ("dev", "proc", "run", "sys", "var", "sysroot")
HOME_SYMLINKS = (("var/roothome", "root"), ("var/home", "home"))
STRICT_SYMLINKS = (("var/srv", "srv"), ("var/mnt", "mnt"), ("run/media", "media"),
                   ("var/opt", "opt"))  # fmt: skip
TRANSIENT_DIRS = ("opt", "media", "mnt", "usr/local")
COMPAT_LINKS = ("lib", "lib64", "lib32", "bin", "sbin")
PREPARE_ROOT_CONF = ("etc/ostree/prepare-root.conf", "usr/lib/ostree/prepare-root.conf")
BASE_RPMDB = "usr/lib/sysimage/rpm-ostree-base-db"
USERADD = "usr/etc/default/useradd"
TMPFILES = "usr/lib/tmpfiles.d"
INTEGRATION_CONF = "rpm-ostree-0-integration.conf"
INTEGRATION = """\
d /var/home 0755 root root -
d /var/srv 0755 root root -
d /var/roothome 0700 root root -
d /var/mnt 0755 root root -
d /run/media 0755 root root -
L /var/lib/rpm - - - - ../../usr/share/rpm
L /var/lib/selinux - - - - ../../etc/selinux
d /usr/local/bin 0755 root root -
d /usr/local/etc 0755 root root -
d /usr/local/games 0755 root root -
d /usr/local/include 0755 root root -
d /usr/local/lib 0755 root root -
d /usr/local/sbin 0755 root root -
d /usr/local/share 0755 root root -
d /usr/local/src 0755 root root -
"""
INTEGRATION_OPT_CONF = "rpm-ostree-0-integration-opt-usrlocal.conf"
INTEGRATION_OPT = "d /var/opt 0755 root root -\nd /var/usrlocal 0755 root root -\n"


# --- the top level ----------------------------------------------------------------------


def prepare_rootfs(install_root: Path, rootfs: Path, *, tmp_is_dir: bool) -> None:
    """Make rootfs the final tree from install_root (which is removed)."""
    rootfs.mkdir(mode=0o755)
    if transient_root(install_root):
        if not tmp_is_dir:
            raise ConfigError("tmp-is-dir: false conflicts with the tree's transient root "
                              "(root.transient in its prepare-root.conf)")  # fmt: skip
        for entry in os.listdir(install_root):
            os.rename(install_root / entry, rootfs / entry)
        init_rootfs_transient(rootfs)
    else:
        init_rootfs_strict(rootfs, tmp_is_dir=tmp_is_dir)
        os.rename(install_root / "usr", rootfs / "usr")
        for name in ("boot", "var", *COMPAT_LINKS):
            if os.path.lexists(install_root / name):
                os.rename(install_root / name, rootfs / name)
        report_left_behind(install_root)
    shutil.rmtree(install_root)


def init_rootfs_base(rootfs: Path, *, tmp_is_dir: bool) -> None:
    rootfs.chmod(0o755)
    for name in TOPLEVEL_DIRS:
        (rootfs / name).mkdir(mode=0o755, exist_ok=True)
    if tmp_is_dir:
        (rootfs / "tmp").mkdir(exist_ok=True)
        (rootfs / "tmp").chmod(0o1777)
    else:
        (rootfs / "tmp").symlink_to("sysroot/tmp")
    for target, name in HOME_SYMLINKS:
        (rootfs / name).symlink_to(target)
    (rootfs / "ostree").symlink_to("sysroot/ostree")


def init_rootfs_strict(rootfs: Path, *, tmp_is_dir: bool) -> None:
    init_rootfs_base(rootfs, tmp_is_dir=tmp_is_dir)
    for target, name in STRICT_SYMLINKS:
        (rootfs / name).symlink_to(target)


def init_rootfs_transient(rootfs: Path) -> None:
    """The base layout over the tree's own top level, with real /opt, /media, /mnt and
    /usr/local (the `filesystem` package's Lua script would make them)."""
    for name in ("root", "home", "ostree"):
        remove_path(rootfs / name)
    if (rootfs / "tmp").is_symlink():
        (rootfs / "tmp").unlink()
    init_rootfs_base(rootfs, tmp_is_dir=True)
    for name in TRANSIENT_DIRS:
        if (rootfs / name).is_symlink():
            (rootfs / name).unlink()
        (rootfs / name).mkdir(mode=0o755, parents=True, exist_ok=True)


def transient_root(root: Path) -> bool:
    """Whether the tree's ostree-prepare-root.conf (the first found) sets root.transient."""
    for rel in PREPARE_ROOT_CONF:
        path = resolve_in_root(root, rel)
        if not path.is_file():
            continue
        keyfile = GLib.KeyFile()
        try:
            keyfile.load_from_data(path.read_text(), -1, GLib.KeyFileFlags.NONE)
            return keyfile.has_key("root", "transient") and keyfile.get_boolean("root", "transient")
        except GLib.Error as e:
            raise FedostreeError(f"/{rel} in the tree: {e.message}") from e
    return False


def report_left_behind(install_root: Path) -> None:
    """What the install root had outside /usr, /etc, /boot and /var: not in an OSTree
    tree. /root is expected (the rootfiles package); anything else is named."""
    for entry in sorted(os.listdir(install_root)):
        path = install_root / entry
        if entry == "root" or path.is_symlink() or not path.is_dir():
            continue
        files = [f for _, _, names in os.walk(path) for f in names]
        if files:
            log.warning("/%s: %d files left out of the tree (an OSTree tree keeps only "
                        "/usr, /etc, /boot and /var)", entry, len(files))  # fmt: skip


# --- postprocess_final ------------------------------------------------------------------


def set_useradd_home(rootfs: Path) -> None:
    """New users' homes in /var/home, where /home leads (rpm-ostree's postprocess_useradd)."""
    text = read_text(rootfs, USERADD)
    if text is None:
        return
    lines = ["HOME=/var/home" if line.startswith("HOME=") else line
             for line in text.splitlines()]  # fmt: skip
    write_file(rootfs, USERADD, "".join(f"{line}\n" for line in lines))


def prepare_links(rootfs: Path) -> None:
    """/usr/local leads to /var/usrlocal (opt-usrlocal: var), unless the root is transient."""
    if transient_root(rootfs):
        (rootfs / "usr/local").mkdir(mode=0o755, exist_ok=True)
        return
    replace_with_symlink(rootfs, "usr/local", "../var/usrlocal")


def empty_var(rootfs: Path) -> None:
    """/var is the machine's: in the tree it is an empty mount point."""
    remove_path(rootfs / "var")
    (rootfs / "var").mkdir(mode=0o755)


def clean_rpmdb(rootfs: Path) -> None:
    """Lock and environment files left in the rpmdb by rpm run from scripts."""
    dbdir = real_dir(rootfs, DBPATH)
    if not dbdir.is_dir():
        return
    for entry in dbdir.iterdir():
        if entry.name in (".dbenv.lock", ".rpm.lock") or entry.name.startswith("__db."):
            entry.unlink()


def write_integration_tmpfiles(rootfs: Path) -> None:
    """rpm-ostree's tmpfiles.d lines for what its layout's symlinks lead to."""
    write_file(rootfs, f"{TMPFILES}/{INTEGRATION_CONF}", INTEGRATION)
    write_file(rootfs, f"{TMPFILES}/{INTEGRATION_OPT_CONF}", INTEGRATION_OPT)


def hardlink_base_rpmdb(rootfs: Path) -> None:
    """A hardlinked copy of the rpmdb in /usr/lib/sysimage/rpm-ostree-base-db, where
    rpm-ostree on a client finds the base tree's packages."""
    source = real_dir(rootfs, DBPATH)
    if not source.is_dir():
        return
    base = real_dir(rootfs, BASE_RPMDB)
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    base.chmod(0o755)
    for dirpath, dirs, files in os.walk(source):
        rel = Path(dirpath).relative_to(source)
        for name in dirs:
            (base / rel / name).mkdir(exist_ok=True)
        for name in files:
            os.link(Path(dirpath, name), base / rel / name, follow_symlinks=False)
