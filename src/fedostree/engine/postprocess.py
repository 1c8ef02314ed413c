"""The treefile's postprocessing, in rpm-ostree's order and with its view of the tree
(`compose_postprocess` in rpm-ostree's rust/src/composepost.rs). It runs on the install
root, once the packages are installed, their scriptlets run and the rpmdb written:

    move_etc            /etc becomes /usr/etc: package installation is over
    link_rpmdb          /var/lib/rpm and /usr/lib/sysimage/rpm lead to /usr/share/rpm
    enable_units        `units`: symlinks in /usr/etc/systemd/system/multi-user.target.wants
    set_default_target  `default-target`: /usr/lib/systemd/system/default.target
    with temporary_etc (a real /etc again, /usr/etc a symlink to it):
        mutate_os_release, remove_files, add_files
    run_scripts         each inline `postprocess` script, then `postprocess-script`, in
                        bubblewrap with rpm-ostree's view (/usr, /etc, /var read-only)
                        and a temporary /etc

Whatever a step writes through /etc or /usr/etc lands in /usr/etc. A failure leaves the
half-done tree in the compose's build directory, which is thrown away."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from fedostree.engine.ostree import GLib
from fedostree.engine.rootfs import resolve_in_root
from fedostree.engine.rpmdb import DBPATH
from fedostree.engine.sandbox import Sandbox
from fedostree.engine.treefs import remove_path, replace_with_symlink, write_file
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.treefile import Treefile

log = logging.getLogger(__name__)
UNIT_DIR = "/usr/lib/systemd/system"
MULTI_USER_WANTS = "usr/etc/systemd/system/multi-user.target.wants"
RPM_MACRO = "usr/lib/rpm/macros.d/macros.rpm-ostree"
# Where rpm-ostree writes the postprocess scripts it runs (removed after each one).
INLINE_SCRIPT = "usr/bin/rpmostree-postprocess-inline-{}"
TREEFILE_SCRIPT = "usr/bin/rpmostree-treefile-postprocess-script"
# add-files may only write into these (rpm-ostree's add_files_path_is_valid).
ADD_FILES_DIRS = ("usr/", "etc/", "bin/", "sbin/", "lib/", "lib64/")


def postprocess_treefile(root: Path, tf: Treefile, version: str | None) -> None:
    """rpm-ostree's compose_postprocess, step by step."""
    move_etc(root)
    link_rpmdb(root)
    enable_units(root, tf)
    set_default_target(root, tf)
    with temporary_etc(root):
        mutate_os_release(root, tf, version)
        remove_files(root, tf)
        add_files(root, tf)
    run_scripts(root, tf)


def check_postprocess_keys(tf: Treefile) -> None:
    """What rpm-ostree refuses in these keys, refused before any work."""
    for i, name in enumerate(tf.remove_files):
        if name.startswith("/") or ".." in name:
            raise ConfigError(
                f"{tf.path}: remove-files[{i}]: '{name}': must be a relative path without '..'"
            )
    for i, entry in enumerate(tf.add_files):
        dest = entry.dest.lstrip("/")
        if not dest.startswith(ADD_FILES_DIRS) or dest.startswith("usr/local/") or ".." in dest:
            raise ConfigError(
                f"{tf.path}: add-files[{i}]: '{entry.dest}': a destination must lie in /usr "
                "(not /usr/local), /etc, /bin, /sbin, /lib or /lib64"
            )


# --- /etc -------------------------------------------------------------------------------


def move_etc(root: Path) -> None:
    """OSTree keeps the default configuration in /usr/etc; /etc is merged at deploy time."""
    if not (root / "etc").exists():
        return
    if os.path.lexists(root / "usr/etc"):
        raise FedostreeError("cannot move /etc to /usr/etc: the packages installed /usr/etc")
    os.rename(root / "etc", root / "usr/etc")


@contextlib.contextmanager
def temporary_etc(root: Path) -> Iterator[None]:
    """rpm-ostree's prepare_tempetc_guard: /usr/etc back at /etc, and /usr/etc a symlink
    to it, so that a step writing either path writes the same file; undone afterwards."""
    etc, usr_etc = root / "etc", root / "usr/etc"
    if os.path.lexists(etc) or not usr_etc.is_dir() or usr_etc.is_symlink():
        yield
        return
    os.rename(usr_etc, etc)
    os.symlink("../etc", usr_etc)
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError, FedostreeError):
            _restore_usr_etc(root)
        raise
    _restore_usr_etc(root)


def _restore_usr_etc(root: Path) -> None:
    etc, usr_etc = root / "etc", root / "usr/etc"
    if not usr_etc.is_symlink() and os.path.lexists(usr_etc):
        raise FedostreeError("/usr/etc was replaced while it stood for /etc (a postprocess step)")
    if not etc.is_dir() or etc.is_symlink():
        raise FedostreeError("/etc is no longer a directory after postprocessing")
    if usr_etc.is_symlink():
        usr_etc.unlink()
    os.rename(etc, usr_etc)


# --- the rpmdb --------------------------------------------------------------------------


def link_rpmdb(root: Path) -> None:
    """rpm-ostree's compose_postprocess_rpmdb and _rpm_macro: the traditional rpmdb paths
    lead to /usr/share/rpm, and rpm on the client looks there."""
    replace_with_symlink(root, "var/lib/rpm", f"../../{DBPATH}")
    replace_with_symlink(root, "usr/lib/sysimage/rpm", "../../share/rpm")
    write_file(root, RPM_MACRO, f"%_dbpath /{DBPATH}\n")


# --- units ------------------------------------------------------------------------------


def enable_units(root: Path, tf: Treefile) -> None:
    """rpm-ostree's compose_postprocess_units: each unit wanted by multi-user.target,
    whatever its [Install] section says; an existing entry is left as it is."""
    if not tf.units:
        return
    if not (root / "usr/etc").is_dir():
        raise FedostreeError("units: the tree has no /usr/etc")
    wants = resolve_in_root(root, MULTI_USER_WANTS)
    wants.mkdir(mode=0o755, parents=True, exist_ok=True)
    for unit in tf.units:
        link = wants / unit
        if not os.path.lexists(link):
            link.symlink_to(f"{UNIT_DIR}/{unit}")


def set_default_target(root: Path, tf: Treefile) -> None:
    """rpm-ostree's compose_postprocess_default_target: in /usr, as the OS's default."""
    if not tf.default_target:
        return
    path = resolve_in_root(root, f"{UNIT_DIR}/default.target", follow_last=False)
    if not path.parent.is_dir():
        raise FedostreeError(f"default-target: the tree has no {UNIT_DIR}")
    if os.path.lexists(path):
        path.unlink()
    path.symlink_to(tf.default_target)


# --- mutate-os-release, remove-files, add-files -----------------------------------------


def mutate_os_release(root: Path, tf: Treefile, version: str | None) -> None:
    """`mutate-os-release`: the os-release that /etc/os-release resolves to names the
    commit's version (rpm-ostree's compose_postprocess_mutate_os_release)."""
    if tf.mutate_os_release is None:
        return
    if not version:
        log.warning("mutate-os-release: the commit has no version; os-release is left as it is")
        return
    path = resolve_in_root(root, "etc/os-release")
    if not path.is_file():
        raise FedostreeError("mutate-os-release: /etc/os-release is not a file in the tree")
    text = mutate_os_release_contents(path.read_text(), tf.mutate_os_release, version)
    write_file(root, str(path.relative_to(root)), text, path.stat().st_mode & 0o7777)


def mutate_os_release_contents(contents: str, base_version: str, next_version: str) -> str:
    """VERSION and PRETTY_NAME name next_version where they named base_version; empty
    lines go, and OSTREE_VERSION is appended, shell-quoted."""
    out = []
    *lines, last = contents.split("\n")
    for line in [*(x.removesuffix("\r") for x in lines), last]:
        if not line:
            continue
        key, sep, value = line.partition("=")
        if sep and key in ("VERSION", "PRETTY_NAME"):
            line = f"{key}={value.replace(base_version, next_version)}"
        out.append(line)
    out.append(f"OSTREE_VERSION={GLib.shell_quote(next_version)}")
    return "".join(f"{line}\n" for line in out)


def remove_files(root: Path, tf: Treefile) -> None:
    for name in tf.remove_files:
        remove_path(resolve_in_root(root, name, follow_last=False))


def add_files(root: Path, tf: Treefile) -> None:
    """Each source file copied with its permissions; an etc/ destination is in /usr/etc."""
    for entry in tf.add_files:
        dest = entry.dest.lstrip("/")
        dest = f"usr/{dest}" if dest.startswith("etc/") else dest
        path = resolve_in_root(root, dest, follow_last=False)
        if path.is_dir() and not path.is_symlink():
            raise FedostreeError(f"add-files: {entry.dest} is a directory in the tree")
        mode = entry.source.stat().st_mode & 0o7777
        write_file(root, str(path.relative_to(root)), entry.source.read_bytes(), mode)


# --- the scripts ------------------------------------------------------------------------


def run_scripts(root: Path, tf: Treefile) -> None:
    """The inline scripts in their order, then the postprocess-script ("executed after
    all other postprocess"), each executed directly (its #! line applies)."""
    scripts: list[tuple[str, str, str | bytes]] = [
        (f"postprocess[{i}]", INLINE_SCRIPT.format(i), body)
        for i, body in enumerate(tf.postprocess)
    ]
    if tf.postprocess_script is not None:
        scripts.append(("postprocess-script", TREEFILE_SCRIPT, tf.postprocess_script.read_bytes()))
    for where, rel, body in scripts:
        log.info("running %s", where)
        with temporary_etc(root):
            run_script(root, where, rel, body)


def run_script(root: Path, where: str, rel: str, body: str | bytes) -> None:
    script = root / rel
    write_file(root, rel, body, 0o755)
    try:
        with Sandbox(root, shape="usr-etc") as sandbox:
            result = sandbox.run([f"/{rel}"])
    finally:
        script.unlink(missing_ok=True)
    if result.returncode != 0:
        output = " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise FedostreeError(
            f"{where} failed with exit status {result.returncode}"
            + (f": {output}" if output else "")
        )
