"""The working userland that both stand-in universes share: a filesystem layout, users
and groups, Debian's bash with the libraries its ld.so finds, busybox applets for
coreutils & co., shadow-utils, alternatives and systemd's unit machinery; and the
vocabulary of specials (`Context`, `Special`, `unit`, `command`, ...).

A special is what the stand-in of one name ships and declares beyond the dependency
tables (`USERLAND` here, `BOOT` in standins_boot.py, `SERVICES` in standins_services.py);
packages without one ship only their README and LICENSE."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fedostree.sample.plan import Scriptlet
from fedostree.sample.shapes import FileSpec, directory, host_copy, symlink, text_file
from tests.support import standins_scripts as scripts
from tests.support.standins import Content, Evra

BUSYBOX = "/usr/libexec/coreutils/busybox"
HOST_BASH = Path("/bin/bash")  # Debian's: dynamically linked against libtinfo and libc
HOST_LDSO = Path("/lib64/ld-linux-x86-64.so.2")
# GNU coreutils that need only libc: realpath -m and ln -r (busybox has neither), and a
# real `true` for `ln -sr /usr/bin/true` to point at.
HOST_GNU = {name: Path(f"/usr/bin/{name}") for name in ("realpath", "ln", "true")}
NOLOGIN = "/usr/sbin/nologin"


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The busybox applets each package provides (coreutils' realpath -m and ln -r are GNU's).
APPLETS = {
    "coreutils": (
        "/usr/bin",
        "basename cat chgrp chmod chown cp cut date dd df dirname du echo env "
        "expand expr false head id link ls md5sum mkdir mkfifo mknod mktemp mv nl nproc od "
        "paste printf pwd readlink rm rmdir seq sha256sum sleep sort stat stty sync tac tail "
        "tee test touch tr truncate tty uname uniq wc whoami yes timeout",
    ),
    "findutils": ("/usr/bin", "find xargs"),
    "grep": ("/usr/bin", "grep egrep fgrep"),
    "sed": ("/usr/bin", "sed"),
    "gawk": ("/usr/bin", "awk"),
    "which": ("/usr/bin", "which"),
    "less": ("/usr/bin", "less"),
    "diffutils": ("/usr/bin", "cmp diff"),
    "tar": ("/usr/bin", "tar"),
    "gzip": ("/usr/bin", "gzip gunzip zcat"),
    "bzip2": ("/usr/bin", "bzip2 bunzip2 bzcat"),
    "xz": ("/usr/bin", "xz unxz xzcat"),
    "cpio": ("/usr/bin", "cpio"),
    "hostname": ("/usr/bin", "hostname"),
    "procps-ng": ("/usr/bin", "ps free pidof top uptime watch"),
    "psmisc": ("/usr/bin", "killall"),
    "kmod": ("/usr/sbin", "lsmod modprobe insmod rmmod modinfo"),
    "util-linux-core": ("/usr/bin", "mount umount"),
    "util-linux": ("/usr/sbin", "losetup blockdev nologin"),
}

# System accounts created by %pre scriptlets, as Fedora's sysusers compat scriptlets do:
# package -> ((user, gecos, home), ...) and package -> groups. Ids come from the
# manifest's check-passwd / check-groups files where they list the account.
PACKAGE_USERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "dbus-common": (("dbus", "System Message Bus", "/"),),
    "polkit": (("polkitd", "User for polkitd", "/"),),
    "chrony": (("chrony", "chrony system user", "/var/lib/chrony"),),
    "openssh-server": (("sshd", "Privilege-separated SSH", "/usr/share/empty.sshd"),),
    "sssd-common": (("sssd", "User for sssd", "/"),),
    "rpcbind": (("rpc", "Rpcbind Daemon", "/var/lib/rpcbind"),),
    "nfs-utils-coreos": (("rpcuser", "RPC Service User", "/var/lib/nfs"),),
    "nfs-utils": (("rpcuser", "RPC Service User", "/var/lib/nfs"),),
    "systemd": (
        ("systemd-network", "systemd Network Management", "/"),
        ("systemd-timesync", "systemd Time Synchronization", "/"),
    ),
    "systemd-resolved": (("systemd-resolve", "systemd Resolver", "/"),),
    "tpm2-tss": (("tss", "Account used for TPM access", "/"),),
    "dnsmasq": (("dnsmasq", "Dnsmasq DHCP and DNS server", "/var/lib/dnsmasq"),),
    "zincati": (("zincati", "Zincati user for auto-updates", "/"),),
    "gdm": (("gdm", "GNOME Display Manager", "/var/lib/gdm"),),
    "avahi": (("avahi", "Avahi mDNS/DNS-SD Stack", "/var/run/avahi-daemon"),),
}
PACKAGE_GROUPS: dict[str, tuple[str, ...]] = {
    "systemd": ("systemd-journal", "input", "kvm"),
    "openssh": ("ssh_keys",),
    "moby-engine": ("docker",),
}
# Ids of the accounts that a manifest's check files do not list (Fedora's fixed ones, or
# free ones: a fixed id keeps a %pre that runs early from taking one that a later %pre
# asks for by number).
OTHER_IDS = {
    "kvm": "36",
    "tss": "59",
    "gdm": "42",
    "avahi": "70",
    "docker": "981",
    "zincati": "982",
    "dnsmasq": "983",
}
# What setup's /etc/passwd and /etc/group hold (the rest is created by %pre scriptlets).
SETUP_USERS = words("root bin daemon adm lp sync shutdown halt mail operator games ftp nobody")
SETUP_GROUPS = words(
    "root bin daemon sys adm tty disk lp mem kmem wheel cdrom mail man dialout floppy "
    "games tape video ftp lock audio users nobody utmp utempter sudo"
)


@dataclass(frozen=True)
class Accounts:
    """The users and groups a manifest's check-passwd and check-groups files list."""

    passwd: Mapping[str, str]  # name -> the whole line
    group: Mapping[str, str]

    @classmethod
    def from_files(cls, passwd: Path, group: Path) -> Accounts:
        return cls(lines_by_name(passwd.read_text()), lines_by_name(group.read_text()))

    def uid(self, user: str) -> str:
        return self.passwd[user].split(":")[2] if user in self.passwd else OTHER_IDS[user]

    def gid(self, group: str) -> str:
        return self.group[group].split(":")[2] if group in self.group else OTHER_IDS[group]

    def user_gid(self, user: str) -> str:
        return self.passwd[user].split(":")[3] if user in self.passwd else self.uid(user)


def lines_by_name(text: str) -> dict[str, str]:
    return {line.split(":", 1)[0]: line for line in text.splitlines() if ":" in line}


@dataclass(frozen=True)
class Context:
    """What a special needs to know: the stand-in's version and the manifest's accounts."""

    name: str
    evra: Evra
    accounts: Accounts

    @property
    def kver(self) -> str:
        return f"{self.evra.version}-{self.evra.release}.{self.evra.arch}"


Special = Callable[[Context], Content]


# --- helpers for the tables ---------------------------------------------------------------


def command(path: str, package: str, version: str) -> FileSpec:
    return text_file(
        path, scripts.command_script(path.rsplit("/", 1)[1], package, version), mode=0o755
    )


def script(path: str, text: str) -> FileSpec:
    return text_file(path, text, mode=0o755)


def unit(name: str, *, install: str = "", body: str = "", scope: str = "system") -> FileSpec:
    """A systemd unit; install holds the [Install] lines (none: a static unit)."""
    text = f"[Unit]\nDescription={name} (fedostree stand-in)\n"
    if name.endswith(".service"):
        text += f"\n[Service]\n{body or 'ExecStart=/usr/bin/true'}\n"
    if install:
        text += f"\n[Install]\n{install}\n"
    return text_file(f"/usr/lib/systemd/{scope}/{name}", text)


def preset(path: str, rules: Iterable[str]) -> FileSpec:
    return text_file(path, "".join(f"{rule}\n" for rule in rules))


def applet_links(package: str) -> tuple[FileSpec, ...]:
    directory_, names = APPLETS[package]
    up = "../libexec" if directory_ in ("/usr/bin", "/usr/sbin") else ""
    target = f"{up}/coreutils/busybox"
    return tuple(symlink(f"{directory_}/{name}", target) for name in names.split())


def build_id_link(target: str) -> FileSpec:
    """A /usr/lib/.build-id link, as rpmbuild makes for each ELF file (here: its path's
    digest stands for the build id)."""
    digest = hashlib.sha1(target.encode()).hexdigest()
    return symlink(f"/usr/lib/.build-id/{digest[:2]}/{digest[2:]}", f"../../../..{target}")


def accounts_scriptlet(ctx: Context) -> Content:
    """%pre: groups and users as `%sysusers_create_compat` does, ids from the manifest."""
    lines = []
    for group in PACKAGE_GROUPS.get(ctx.name, ()):
        gid = ctx.accounts.gid(group)
        lines.append(f"getent group {group} >/dev/null || groupadd -r -g {gid} {group}")
    for user, gecos, home in PACKAGE_USERS.get(ctx.name, ()):
        gid = ctx.accounts.user_gid(user)
        lines.append(f"getent group {user} >/dev/null || groupadd -r -g {gid} {user}")
        lines.append(
            f"getent passwd {user} >/dev/null || useradd -r -u {ctx.accounts.uid(user)} "
            f"-g {user} -d {home} -s {NOLOGIN} -c '{gecos}' {user}"
        )
    if not lines:
        return Content()
    return Content(
        requires_pre=("/usr/bin/getent", "/usr/sbin/groupadd", "/usr/sbin/useradd"),
        scriptlets=(Scriptlet("pre", "\n".join(lines) + "\n"),),
    )


# --- host binaries ------------------------------------------------------------------------


@cache
def host_libraries(binary: Path) -> dict[str, Path]:
    """soname -> real path of each library the host's ld.so loads for binary."""
    listing = subprocess.run(
        [str(HOST_LDSO), "--list", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    out = {}
    for line in listing.splitlines():
        soname, arrow, rest = line.strip().partition(" => ")
        if arrow and rest.startswith("/"):
            out[soname] = Path(rest.split(" (")[0]).resolve()
    return out


# --- the core -----------------------------------------------------------------------------


def filesystem(ctx: Context) -> Content:
    dirs = [
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/run",
        "/srv",
        "/sys",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/libexec",
        "/usr/share",
        "/usr/lib/modules",
        "/var",
        "/var/lib",
        "/var/log",
    ]
    return Content(
        requires_pre=("setup",),
        files=(
            *(directory(d) for d in dirs),
            directory("/root", mode=0o550),
            directory("/tmp", mode=0o1777),
            directory("/var/tmp", mode=0o1777),
            *(symlink(f"/{d}", f"usr/{d}") for d in ("bin", "sbin", "lib", "lib64")),
        ),
    )


def setup(ctx: Context) -> Content:
    users = [ctx.accounts.passwd[u] for u in SETUP_USERS if u in ctx.accounts.passwd]
    groups = [ctx.accounts.group[g] for g in SETUP_GROUPS if g in ctx.accounts.group]
    names = [line.split(":", 1)[0] for line in users]
    gnames = [line.split(":", 1)[0] for line in groups]
    return Content(
        files=(
            text_file("/etc/passwd", "".join(f"{line}\n" for line in users)),
            text_file("/etc/group", "".join(f"{line}\n" for line in groups)),
            text_file("/etc/shadow", "".join(f"{n}:*::0:99999:7:::\n" for n in names), mode=0),
            text_file("/etc/gshadow", "".join(f"{n}:::\n" for n in gnames), mode=0),
            text_file("/etc/shells", "/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n"),
            text_file("/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"),
            text_file(
                "/etc/profile", "# /etc/profile\nfor i in /etc/profile.d/*.sh; do . $i; done\n"
            ),
            text_file("/etc/bashrc", "# /etc/bashrc\n"),
            directory("/etc/profile.d"),
        ),
    )


def basesystem(ctx: Context) -> Content:
    return Content(requires_pre=("setup", "filesystem"))


def glibc(ctx: Context) -> Content:
    libs = host_libraries(HOST_BASH)
    return Content(
        requires=("basesystem", f"glibc-common = {ctx.evra.evr}"),
        provides=("libc.so.6()(64bit)", "ld-linux-x86-64.so.2()(64bit)", "rtld(GNU_HASH)"),
        files=(
            host_copy("/usr/lib64/libc.so.6", str(libs["libc.so.6"])),
            host_copy("/usr/lib64/ld-linux-x86-64.so.2", str(HOST_LDSO.resolve())),
            # The host's ld.so is Debian's: it looks in /usr/lib/x86_64-linux-gnu, where
            # Fedora's looks in /usr/lib64.
            symlink("/usr/lib/x86_64-linux-gnu", "../lib64"),
            text_file("/etc/ld.so.conf", "include ld.so.conf.d/*.conf\n"),
            directory("/etc/ld.so.conf.d"),
            text_file(
                "/etc/nsswitch.conf",
                "passwd: files altfiles systemd\ngroup: files altfiles systemd\nhosts: files dns\n",
            ),
        ),
    )


def glibc_common(ctx: Context) -> Content:
    return Content(requires=("glibc",), files=(script("/usr/bin/getent", scripts.GETENT),))


def bash(ctx: Context) -> Content:
    return Content(
        requires=("libtinfo.so.6()(64bit)", "libc.so.6()(64bit)"),
        provides=("/bin/sh", "/bin/bash"),
        files=(
            host_copy("/usr/bin/bash", str(HOST_BASH)),
            symlink("/usr/bin/sh", "bash"),
            text_file("/etc/skel/.bashrc", "[ -f /etc/bashrc ] && . /etc/bashrc\n"),
        ),
    )


def ncurses_libs(ctx: Context) -> Content:
    libtinfo = host_libraries(HOST_BASH)["libtinfo.so.6"]
    return Content(
        requires=("ncurses-base",),
        provides=("libtinfo.so.6()(64bit)",),
        files=(
            host_copy(f"/usr/lib64/{libtinfo.name}", str(libtinfo)),
            symlink("/usr/lib64/libtinfo.so.6", libtinfo.name),
        ),
    )


def ncurses_base(ctx: Context) -> Content:
    return Content(files=(text_file("/usr/share/terminfo/x/xterm", "xterm|xterm terminal\n"),))


def coreutils_common(ctx: Context) -> Content:
    return Content(files=(host_copy(BUSYBOX, "/bin/busybox"),))


def coreutils(ctx: Context) -> Content:
    return Content(
        requires=("coreutils-common",),
        files=(
            *applet_links("coreutils"),
            *(host_copy(f"/usr/bin/{name}", str(path)) for name, path in HOST_GNU.items()),
            script("/usr/bin/install", scripts.INSTALL),
        ),
    )


def applets(ctx: Context) -> Content:
    return Content(requires=("coreutils-common",), files=applet_links(ctx.name))


def kmod(ctx: Context) -> Content:
    return applets(ctx) + Content(files=(script("/usr/sbin/depmod", scripts.DEPMOD),))


def gawk(ctx: Context) -> Content:
    return applets(ctx) + Content(
        files=(script("/usr/bin/gawk", '#!/usr/bin/sh\nexec awk "$@"\n'),)
    )


def shadow_utils(ctx: Context) -> Content:
    return Content(
        requires=("coreutils", "grep", "setup"),
        files=(
            script("/usr/sbin/useradd", scripts.USERADD),
            script("/usr/sbin/groupadd", scripts.GROUPADD),
            text_file("/etc/login.defs", "SYS_UID_MIN 201\nSYS_UID_MAX 999\n"),
        ),
    )


def alternatives(ctx: Context) -> Content:
    return Content(
        files=(
            script("/usr/sbin/alternatives", scripts.ALTERNATIVES),
            symlink("/usr/sbin/update-alternatives", "alternatives"),
            directory("/etc/alternatives"),
            directory("/var/lib/alternatives"),
        ),
    )


SYSTEM_TARGETS = (
    "basic multi-user graphical sysinit timers sockets getty network-online system-update"
)


def systemd(ctx: Context) -> Content:
    system = "/usr/lib/systemd/system"
    return Content(
        requires=("systemd-libs", "systemd-pam", "dbus", "util-linux-core", "/usr/bin/bash"),
        files=(
            script("/usr/bin/systemctl", scripts.SYSTEMCTL),
            script("/usr/bin/systemd-machine-id-setup", scripts.MACHINE_ID_SETUP),
            command("/usr/bin/systemd-firstboot", ctx.name, ctx.evra.version),
            build_id_link("/usr/bin/systemctl"),
            build_id_link("/usr/bin/systemd-firstboot"),
            *(unit(f"{t}.target") for t in SYSTEM_TARGETS.split()),
            unit("remote-fs.target", install="WantedBy=multi-user.target"),
            unit("getty@.service", install="WantedBy=getty.target\nDefaultInstance=tty1"),
            unit("systemd-firstboot.service"),
            symlink(
                f"{system}/sysinit.target.wants/systemd-firstboot.service",
                "../systemd-firstboot.service",
            ),
            unit("systemd-repart.service"),
            unit("systemd-tmpfiles-setup.service"),
            unit("basic.target", scope="user"),
            unit("timers.target", scope="user"),
            unit("sockets.target", scope="user"),
            unit("systemd-tmpfiles-setup.service", install="WantedBy=basic.target", scope="user"),
            unit("systemd-tmpfiles-clean.timer", install="WantedBy=timers.target", scope="user"),
            preset(
                "/usr/lib/systemd/system-preset/90-systemd.preset",
                [
                    "enable remote-fs.target",
                    "enable getty@.service",
                    "enable systemd-resolved.service",
                ],
            ),
            preset("/usr/lib/systemd/system-preset/99-default.preset", ["disable *"]),
            preset(
                "/usr/lib/systemd/user-preset/90-systemd.preset",
                ["enable systemd-tmpfiles-setup.service", "enable systemd-tmpfiles-clean.timer"],
            ),
            preset("/usr/lib/systemd/user-preset/99-default.preset", ["disable *"]),
            directory("/etc/systemd"),
            directory("/etc/systemd/system"),
            directory("/etc/systemd/user"),
        ),
        # As Fedora's systemd does on a first install: a machine id, and the presets.
        scriptlets=(
            Scriptlet(
                "post",
                "systemd-machine-id-setup\nsystemctl preset-all\nsystemctl --global preset-all\n",
            ),
        ),
    )


def systemd_udev(ctx: Context) -> Content:
    return Content(
        requires=("systemd", "kmod-libs"),
        files=(
            command(
                "/usr/lib/systemd/system-generators/systemd-gpt-auto-generator",
                ctx.name,
                ctx.evra.version,
            ),
            text_file("/usr/lib/udev/rules.d/50-udev-default.rules", "# udev rules\n"),
            unit("systemd-udevd.service"),
        ),
    )


def systemd_resolved(ctx: Context) -> Content:
    return Content(
        requires=("systemd",),
        files=(
            unit(
                "systemd-resolved.service",
                install="WantedBy=sysinit.target\nAlias=dbus-org.freedesktop.resolve1.service",
            ),
        ),
    )


USERLAND: dict[str, Special] = {
    "filesystem": filesystem,
    "setup": setup,
    "basesystem": basesystem,
    "glibc": glibc,
    "glibc-common": glibc_common,
    "bash": bash,
    "ncurses-libs": ncurses_libs,
    "ncurses-base": ncurses_base,
    "coreutils-common": coreutils_common,
    "coreutils": coreutils,
    **{name: applets for name in APPLETS if name != "coreutils"},
    "gawk": gawk,
    "kmod": kmod,
    "shadow-utils": shadow_utils,
    "alternatives": alternatives,
    "systemd": systemd,
    "systemd-udev": systemd_udev,
    "systemd-resolved": systemd_resolved,
}
