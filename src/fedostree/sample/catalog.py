"""The sample universe's package catalog: a Fedora 20 shaped, but tiny, distribution.

Group members come from the real F20 comps (comps-f20-extract.xml); every mandatory or
default member becomes a package even when it is not listed here (then it is a default
`app`). The catalog adds versions, contents and dependencies, and the packages that no
group lists but that members pull in (glib2, mutter, 389-ds-base, busybox, ...)."""

from __future__ import annotations

from fedostree.sample.shapes import (
    FileSpec,
    Shape,
    SystemGroup,
    SystemUser,
    command,
    commands,
    directory,
    host_copy,
    rebuild_trigger,
    symlink,
    text_file,
)

SAMPLE_GROUPS = (
    "core", "standard", "freeipa-server", "gnome-desktop", "firefox", "gnome-games",
    "libreoffice", "virtualization", "development-tools",
)  # fmt: skip

# What every fedostree tree installs besides its groups.
BASE_PACKAGES = (
    "kernel", "ostree", "fedora-release", "lvm2", "btrfs-progs", "e2fsprogs", "xfsprogs",
)  # fmt: skip

# Requirements every member of a group gets (so that e.g. each GNOME app pulls in gtk3).
GROUP_REQUIRES: dict[str, tuple[str, ...]] = {
    "gnome-desktop": ("gtk3",),
    "gnome-games": ("gtk3", "librsvg2"),
    "libreoffice": ("libreoffice-core = {evr:libreoffice-core}",),
}

# Busybox applets that coreutils installs as /usr/bin symlinks ("[" would be a glob in %files).
COREUTILS_APPLETS = (
    "basename", "cat", "chgrp", "chmod", "chown", "cp", "cut", "date", "dd", "df", "dirname",
    "du", "echo", "egrep", "env", "expr", "false", "fgrep", "grep", "groups", "head", "id",
    "ln", "ls", "md5sum", "mkdir", "mknod", "mktemp", "mv", "nproc", "printf", "pwd",
    "readlink", "realpath", "rm", "rmdir", "sed", "seq", "sha1sum", "sha256sum", "sleep",
    "sort", "stat", "sync", "tail", "tee", "test", "timeout", "touch", "tr", "true", "tty",
    "uname", "uniq", "wc", "whoami", "xargs", "yes",
)  # fmt: skip

LICENSE_TEXTS = {
    "GPLv2+": "This program is free software; you can redistribute it and/or modify it under\n"
    "the terms of the GNU General Public License as published by the Free Software\n"
    "Foundation; either version 2 of the License, or (at your option) any later version.\n",
    "LGPLv2+": "This library is free software; you can redistribute it and/or modify it under\n"
    "the terms of the GNU Lesser General Public License as published by the Free Software\n"
    "Foundation; either version 2.1 of the License, or (at your option) any later version.\n",
    "MIT": "Permission is hereby granted, free of charge, to any person obtaining a copy of\n"
    "this software, to deal in the Software without restriction, subject to the\n"
    "condition that this notice is included in all copies.\n",
    "Public Domain": "This software is in the public domain.\n",
}

# The sample trees' init (/sbin/init -> /usr/lib/systemd/systemd), the tree's part of the
# boot protocol that fedostree's boot check follows. The lines starting `fedostree-` are a
# contract with the server's boot check: keep their format.
SAMPLE_INIT = """\
# Stands in for systemd as PID 1 of a booted sample tree: mounts the API file systems and
# the stateroot's /var (as ostree-system-generator's var.mount would), counts the boots
# in /var, prints the markers the boot check reads, runs the boot-time checks (each
# executable in /usr/lib/fedostree/boot-checks.d/ too) and powers the machine off.
# Busybox applets are called as `$bb APPLET`: PID 1 relies on no PATH and no symlinks.
bb=/usr/sbin/busybox
export PATH=/usr/sbin:/usr/bin
if [ "$$" != 1 ]; then
    echo "systemd (systemd) 208: the fedostree sample init runs as PID 1 only" >&2
    exit 1
fi

fail() {  # a step the boot cannot go on without: say which, then power off
    echo "fedostree-init: $*"
    $bb sync
    $bb poweroff -f
    exit 1
}

mounted() {  # DIR: whether /proc/mounts lists it (Debian's busybox has no `mountpoint`)
    [ -r /proc/mounts ] || return 1
    while read -r _ dir _; do
        if [ "$dir" = "$1" ]; then return 0; fi
    done < /proc/mounts
    return 1
}

mount_api() {  # TYPE DIR OPTIONS, unless DIR is a mount point already
    mounted "$2" || $bb mount -t "$1" -o "$3" "$1" "$2" || fail "cannot mount $1 on $2"
}

mount_api proc /proc nosuid,nodev,noexec
mount_api sysfs /sys nosuid,nodev,noexec
mount_api devtmpfs /dev mode=0755,nosuid
mount_api tmpfs /run mode=0755,nosuid,nodev

# ostree=/ostree/boot.N/STATEROOT/BOOTCSUM/SERIAL links to
# ../../../deploy/STATEROOT/deploy/COMMIT.SERIAL
ostree=
cmdline=
read -r cmdline < /proc/cmdline
set -f
for arg in $cmdline; do
    case $arg in ostree=*) ostree=${arg#ostree=} ;; esac
done
set +f
[ -n "$ostree" ] || fail "no ostree= on the kernel command line"
deployment=$($bb readlink "/sysroot$ostree") || fail "cannot read the link /sysroot$ostree"
case $deployment in
    */deploy/*/deploy/*) ;;
    *) fail "/sysroot$ostree links to $deployment, not to a deployment" ;;
esac
checkout=${deployment##*/}
commit=${checkout%.*}
stateroot=${deployment%/deploy/*}
stateroot=${stateroot##*/}
var=/sysroot/ostree/deploy/$stateroot/var
mounted /var || $bb mount --bind "$var" /var || fail "cannot bind-mount $var on /var"

boots=/var/lib/fedostree/boots
n=0
if [ -f "$boots" ]; then read -r n < "$boots"; fi
case $n in ''|*[!0-9]*) n=0 ;; esac
n=$((n + 1))
{ $bb mkdir -p "${boots%/*}" && echo "$n" > "$boots"; } || fail "cannot write $boots"

release=/etc/os-release
[ -f "$release" ] || release=/usr/lib/os-release
version=$(. "$release"; echo "$VERSION")
echo "fedostree-booted: version=\\"$version\\" commit=$commit ostree=$ostree boots=$n"
if [ -f /etc/fedostree/boot-probe ]; then
    probe=
    read -r probe < /etc/fedostree/boot-probe
    echo "fedostree-probe: $probe"
fi

checks=0
failed=0
report() {  # NAME [REASON]: one check's result, a pass without a reason
    checks=$((checks + 1))
    if [ "$#" = 1 ]; then
        echo "fedostree-check: $1 ok"
    else
        failed=$((failed + 1))
        echo "fedostree-check: $1 failed: $2"
    fi
}

file=/etc/.fedostree-boot-check
if ! error=$($bb touch "$file" 2>&1); then
    report etc-writable "${error:-cannot create $file}"
elif ! error=$($bb rm "$file" 2>&1); then
    report etc-writable "${error:-cannot remove $file}"
else
    report etc-writable
fi
file=/usr/.fedostree-boot-check
if $bb touch "$file" 2>/dev/null; then
    $bb rm -f "$file"
    report usr-readonly "created $file"
else
    report usr-readonly
fi
for check in /usr/lib/fedostree/boot-checks.d/*; do
    if [ -f "$check" ] && [ -x "$check" ]; then
        "$check" < /dev/null
        status=$?
        if [ "$status" = 0 ]; then
            report "${check##*/}"
        else
            report "${check##*/}" "exit $status"
        fi
    fi
done

echo "fedostree-boot-done: checks=$checks failed=$failed"
$bb sync
$bb poweroff -f
"""
# The busybox applets that SAMPLE_INIT runs (the build checks that the host's busybox has them).
INIT_APPLETS = ("mount", "sync", "poweroff", "readlink", "mkdir", "touch", "rm")

# Scripts of commands that do more than print their name and version.
COMMAND_BODIES = {
    "/usr/bin/bash": 'exec /usr/sbin/busybox sh "$@"\n',
    "/usr/sbin/nologin": 'echo "This account is currently not available."\nexit 1\n',
    "/usr/bin/gio-querymodules-64": (
        'mkdir -p "$1" && echo "# GIO module cache (fedostree sample)" > "$1/giomodule.cache"\n'
    ),
    # Stand-ins for the cache builders that the file triggers below run: each writes a
    # sorted text list where the real tool writes a binary cache. Shell builtins only.
    "/usr/bin/gtk-update-icon-cache": """\
# Stands in for gtk-update-icon-cache: THEMEDIR/icon-theme.cache becomes the sorted list
# of the theme's icons (SIZE/CONTEXT/FILE) instead of GTK's binary cache.
theme=
for arg; do theme=$arg; done  # the last argument; options such as --force are ignored
if [ -z "$theme" ] || [ ! -d "$theme" ]; then
    echo "gtk-update-icon-cache: not a theme directory: '$theme'" >&2
    exit 1
fi
{
    echo "# icon-theme.cache of $theme (fedostree sample)"
    for icon in "$theme"/*/*/*; do
        if [ -f "$icon" ]; then echo "${icon#"$theme"/}"; fi
    done
} > "$theme/icon-theme.cache"
""",
    "/usr/bin/glib-compile-schemas": """\
# Stands in for glib-compile-schemas: DIR/gschemas.compiled becomes the sorted list of the
# ids of the schemas (DIR/ID.gschema.xml) instead of GLib's binary GVariant database.
dir=
for arg; do dir=$arg; done  # the last argument; options such as --strict are ignored
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "glib-compile-schemas: not a schema directory: '$dir'" >&2
    exit 1
fi
{
    echo "# gschemas.compiled of $dir (fedostree sample)"
    for schema in "$dir"/*.gschema.xml; do
        if [ -f "$schema" ]; then name=${schema##*/}; echo "${name%.gschema.xml}"; fi
    done
} > "$dir/gschemas.compiled"
""",
    "/usr/lib/systemd/systemd": SAMPLE_INIT,
}

OS_RELEASE = """\
NAME=Fedora
VERSION="20 (Heisenbug)"
ID=fedora
VERSION_ID=20
PRETTY_NAME="Fedora 20 (Heisenbug)"
ANSI_COLOR="0;34"
CPE_NAME="cpe:/o:fedoraproject:fedora:20"
HOME_URL="https://fedoraproject.org/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
"""

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
adm:x:3:4:adm:/var/adm:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/spool/mail:/sbin/nologin
operator:x:11:0:operator:/root:/sbin/nologin
games:x:12:100:games:/usr/games:/sbin/nologin
ftp:x:14:50:FTP User:/var/ftp:/sbin/nologin
nobody:x:99:99:Nobody:/:/sbin/nologin
"""

GROUP = """\
root:x:0:
bin:x:1:
daemon:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mem:x:8:
kmem:x:9:
wheel:x:10:
mail:x:12:
man:x:15:
dialout:x:18:
floppy:x:19:
games:x:20:
tape:x:33:
video:x:39:
ftp:x:50:
lock:x:54:
audio:x:63:
nobody:x:99:
users:x:100:
"""

WORDS = (
    "atomic", "bash", "boot", "commit", "compose", "deploy", "fedora", "filesystem", "gnome",
    "kernel", "linux", "ostree", "package", "release", "repository", "root", "tree", "upgrade",
    "version",
)  # fmt: skip

# The rpm-md repository that the sample trees layer packages from (`fedostree install`):
# `fedostree serve --rpm-repo DIR` serves DIR there, beside the OSTree repository, and
# `make demo` serves the sample repository so.
SAMPLE_REPO_URL = "http://127.0.0.1:8080/rpms/"
SAMPLE_REPO_FILE = f"""\
# The fedostree sample universe, to layer packages from: `fedostree serve --rpm-repo DIR`
# serves it here, beside the OSTree repository (as `make demo` does).
[fedostree-sample]
name=fedostree sample universe (Fedora 20)
baseurl={SAMPLE_REPO_URL}
enabled=1
gpgcheck=0
"""

HICOLOR = "/usr/share/icons/hicolor"
SCHEMAS = "/usr/share/glib-2.0/schemas"
HICOLOR_INDEX = """\
[Icon Theme]
Name=Hicolor
Comment=Fallback icon theme
Hidden=true
Directories=48x48/apps,scalable/apps

[48x48/apps]
Size=48
Context=Applications
Type=Threshold

[scalable/apps]
MinSize=1
Size=128
MaxSize=256
Context=Applications
Type=Scalable
"""

SHADOW = "".join(f"{line.split(':')[0]}:*:16057:0:99999:7:::\n" for line in PASSWD.splitlines())
GSHADOW = "".join(f"{line.split(':')[0]}:::\n" for line in GROUP.splitlines())


def _libs(*sonames: str) -> tuple[str, ...]:
    return sonames


def icon(name: str) -> FileSpec:
    """An application's scalable icon in the hicolor theme (hicolor-icon-theme's trigger
    rebuilds the theme's cache when one comes or goes)."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48">'
        f'<title>{name}</title><rect width="48" height="48" rx="8" fill="#3c6eb4"/></svg>\n'
    )
    return text_file(f"{HICOLOR}/scalable/apps/{name}.svg", svg)


def schema(schema_id: str, key: str, kind: str, default: str) -> FileSpec:
    """A GSettings schema with one key (glib2's trigger compiles the schemas)."""
    path = "/" + schema_id.lower().replace(".", "/") + "/"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<schemalist>\n'
        f'  <schema id="{schema_id}" path="{path}">\n'
        f'    <key name="{key}" type="{kind}">\n      <default>{default}</default>\n    </key>\n'
        "  </schema>\n</schemalist>\n"
    )
    return text_file(f"{SCHEMAS}/{schema_id}.gschema.xml", xml)


def _so(soname: str) -> str:
    """The rpm capability of a 64-bit shared library, as find-provides spells it."""
    return f"{soname}()(64bit)"


# fmt: off
CATALOG: dict[str, Shape] = {
    # --- the base system: filesystem, setup, the shell and the C library ---------------
    "filesystem": Shape(
        "3.2", "19.fc20", "The basic directory layout for a Linux system", "Public Domain",
        kind="plain", noarch=False,
        files=(
            symlink("/bin", "usr/bin"), symlink("/sbin", "usr/sbin"),
            symlink("/lib", "usr/lib"), symlink("/lib64", "usr/lib64"),
            directory("/boot", mode=0o555), directory("/dev"), directory("/etc"),
            directory("/etc/opt"), directory("/etc/skel"), directory("/etc/sysconfig"),
            directory("/home"), directory("/media"), directory("/mnt"), directory("/opt"),
            directory("/proc", mode=0o555), directory("/root", mode=0o550), directory("/run"),
            directory("/srv"), directory("/sys", mode=0o555), directory("/tmp", mode=0o1777),
            directory("/usr"), directory("/usr/bin"), directory("/usr/sbin"),
            directory("/usr/lib"), directory("/usr/lib64"), directory("/usr/libexec"),
            directory("/usr/include"), directory("/usr/local"), directory("/usr/share"),
            directory("/usr/share/doc"), directory("/usr/share/licenses"),
            directory("/usr/share/man"), directory("/var"), directory("/var/lib"),
            directory("/var/log"), directory("/var/cache"), directory("/var/spool"),
            directory("/var/tmp", mode=0o1777),
        ),
    ),
    "setup": Shape(
        "2.8.71", "2.fc20", "A set of system configuration and setup files", "Public Domain",
        kind="plain", noarch=True, requires=("filesystem",),
        files=(
            text_file("/etc/passwd", PASSWD), text_file("/etc/group", GROUP),
            text_file("/etc/shadow", SHADOW, mode=0o000),
            text_file("/etc/gshadow", GSHADOW, mode=0o000),
            text_file("/etc/shells", "/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n"),
            text_file("/etc/hosts", "127.0.0.1   localhost localhost.localdomain\n"
                      "::1         localhost localhost.localdomain\n"),
            text_file("/etc/profile", "# /etc/profile\nPATH=/usr/local/bin:/usr/bin:/usr/sbin\n"
                      "export PATH\n"
                      'for i in /etc/profile.d/*.sh; do [ -r "$i" ] && . "$i"; done\n'),
            directory("/etc/profile.d"),
        ),
    ),
    "basesystem": Shape(
        "10.0", "9.fc20", "The skeleton package which defines a simple Fedora system",
        "Public Domain", kind="plain", noarch=True, requires_pre=("setup", "filesystem"),
    ),
    "fedora-release": Shape(
        "20", "1", "Fedora release files", "MIT", kind="plain", noarch=True,
        requires=("filesystem",),
        provides=("redhat-release", "system-release", "system-release(releasever) = 20"),
        files=(
            text_file("/usr/lib/os-release", OS_RELEASE),
            symlink("/etc/os-release", "../usr/lib/os-release"),
            text_file("/etc/fedora-release", "Fedora release 20 (Heisenbug)\n"),
            symlink("/etc/redhat-release", "fedora-release"),
            symlink("/etc/system-release", "fedora-release"),
            text_file("/etc/issue",
                      "Fedora release 20 (Heisenbug)\nKernel \\r on an \\m (\\l)\n\n"),
            directory("/etc/yum.repos.d"),
            text_file("/etc/yum.repos.d/fedostree-sample.repo", SAMPLE_REPO_FILE),
        ),
    ),
    "fedora-logos": Shape(
        "21.0.1", kind="data", license="MIT", provides=("system-logos = {evr}",),
        files=(text_file("/usr/share/pixmaps/fedora-logo.txt", "( f )  Fedora\n"),),
    ),
    "busybox": Shape(
        "1.19.4", "11.fc20", "Statically linked binary providing simplified versions of "
        "system commands", kind="plain", requires=("filesystem",),
        files=(host_copy("/usr/sbin/busybox", "/bin/busybox"),),
    ),
    "bash": Shape(
        "4.2.45", "4.fc20", "The GNU Bourne Again shell (here: busybox sh)", kind="plain",
        requires=("busybox", "filesystem"), provides=("/bin/sh", "/bin/bash"),
        files=(
            command("/usr/bin/bash"), symlink("/usr/bin/sh", "../sbin/busybox"),
            text_file("/etc/skel/.bashrc", "# .bashrc\n[ -f /etc/bashrc ] && . /etc/bashrc\n"),
        ),
    ),
    "coreutils": Shape(
        "8.21", "21.fc20", "A set of basic GNU tools (here: busybox applets)", kind="plain",
        requires=("busybox", "ncurses"),
        files=tuple(symlink(f"/usr/bin/{name}", "../sbin/busybox") for name in COREUTILS_APPLETS),
    ),
    "glibc": Shape(
        "2.18", "11.fc20", "The GNU libc libraries", "LGPLv2+", kind="plain",
        requires=("glibc-common = {evr}", "basesystem"),
        provides=("/sbin/ldconfig", "rtld(GNU_HASH)"),
        files=(
            host_copy("/usr/sbin/ldconfig", "/sbin/ldconfig"),
            text_file("/etc/ld.so.conf", "include ld.so.conf.d/*.conf\n"),
            directory("/etc/ld.so.conf.d"),
            # Debian's ldconfig, shipped here, does not search /usr/lib64 by itself.
            text_file("/etc/ld.so.conf.d/lib64.conf", "/usr/lib64\n"),
            text_file("/etc/nsswitch.conf", "passwd: files\nshadow: files\ngroup: files\n"
                      "hosts: files dns\n"),
            directory("/usr/lib64/gconv"),
        ),
        # The real ldconfig (Debian's static one) rebuilds /etc/ld.so.cache after any
        # transaction that adds or removes libraries.
        file_triggers=rebuild_trigger("/usr/lib64", "/sbin/ldconfig\n"),
    ),
    "glibc-common": Shape(
        "2.18", "11.fc20", "Common binaries and locale data for glibc", "LGPLv2+", kind="plain",
        requires=("glibc = {evr}", "tzdata"),
        files=(*commands("/usr/bin/locale", "/usr/bin/getconf"), directory("/usr/share/i18n")),
    ),
    "tzdata": Shape(
        "2013h", "1.fc20", "Timezone data", "Public Domain", kind="plain", noarch=True,
        files=(directory("/usr/share/zoneinfo"),
               text_file("/usr/share/zoneinfo/UTC", "TZif2 UTC0\n")),
    ),
    "nss-altfiles": Shape(
        "2.18.1", "1.fc20", "NSS module to look up users in /usr/lib/passwd", "LGPLv2+",
        kind="plain", libraries=_libs("libnss_altfiles.so.2"),
    ),
    # --- libraries that the groups pull in -------------------------------------------
    "ncurses": Shape("5.9", "12.20130511.fc20", requires=("ncurses-libs = {evr}",),
                     kind="plain", files=commands("/usr/bin/clear", "/usr/bin/tput")),
    "ncurses-libs": Shape(
        "5.9", "12.20130511.fc20", "Ncurses libraries", "MIT", kind="plain",
        requires=("ncurses-base = {evr}",), libraries=_libs("libncursesw.so.5", "libtinfo.so.5"),
    ),
    "ncurses-base": Shape(
        "5.9", "12.20130511.fc20", "Descriptions of common terminals", "MIT", kind="plain",
        noarch=True,
        files=(directory("/usr/share/terminfo"), directory("/usr/share/terminfo/l"),
               directory("/usr/share/terminfo/x"),
               text_file("/usr/share/terminfo/l/linux", "linux|linux console\n"),
               text_file("/usr/share/terminfo/x/xterm", "xterm|xterm terminal emulator\n")),
    ),
    "glib2": Shape(
        "2.38.2", "2.fc20", "A library of handy utility functions", "LGPLv2+", kind="plain",
        requires=(_so("libselinux.so.1"), _so("libpcre.so.1"), _so("libz.so.1"), "coreutils"),
        libraries=_libs("libglib-2.0.so.0", "libgio-2.0.so.0", "libgobject-2.0.so.0"),
        files=(command("/usr/bin/gio-querymodules-64"), directory("/usr/lib64/gio"),
               directory("/usr/lib64/gio/modules"), command("/usr/bin/glib-compile-schemas"),
               directory("/usr/share/glib-2.0"), directory(SCHEMAS)),
        posttrans="/usr/bin/gio-querymodules-64 /usr/lib64/gio/modules || :\n",
        file_triggers=rebuild_trigger(SCHEMAS, f"/usr/bin/glib-compile-schemas {SCHEMAS}\n"),
    ),
    "libselinux": Shape("2.2.1", "6.fc20", "SELinux library", "Public Domain", kind="plain",
                        requires=(_so("libpcre.so.1"), _so("libsepol.so.1")),
                        libraries=_libs("libselinux.so.1")),
    "libsepol": Shape("2.2", "1.fc20", "SELinux binary policy library", "LGPLv2+",
                      kind="plain", libraries=_libs("libsepol.so.1")),
    "pcre": Shape("8.33", "2.fc20", "Perl-compatible regular expression library", "MIT",
                  kind="plain", libraries=_libs("libpcre.so.1")),
    "zlib": Shape("1.2.8", "3.fc20", "The compression library", "MIT", kind="plain",
                  libraries=_libs("libz.so.1")),
    "xz-libs": Shape("5.1.2", "8alpha.fc20", "Libraries for decoding LZMA", "Public Domain",
                     kind="plain", libraries=_libs("liblzma.so.5")),
    "xz": Shape("5.1.2", "8alpha.fc20", requires=(_so("liblzma.so.5"),)),
    "bzip2-libs": Shape("1.0.6", "9.fc20", kind="plain", libraries=_libs("libbz2.so.1")),
    "bzip2": Shape("1.0.6", "9.fc20", requires=("bzip2-libs = {evr}",)),
    "openssl-libs": Shape(
        "1.0.1e", "30.fc20", "A general purpose cryptography library with TLS implementation",
        "MIT", kind="plain", requires=(_so("libz.so.1"), "ca-certificates"),
        libraries=_libs("libssl.so.10", "libcrypto.so.10"),
    ),
    "ca-certificates": Shape(
        "2013.1.95", kind="plain", noarch=True, license="Public Domain",
        files=(directory("/etc/pki"), directory("/etc/pki/tls"),
               text_file("/etc/pki/tls/cert.pem", "# fedostree sample CA bundle\n")),
    ),
    "krb5-libs": Shape("1.11.3", "31.fc20", "The non-admin shared libraries used by Kerberos 5",
                       "MIT", kind="plain", requires=(_so("libcom_err.so.2"), "keyutils-libs"),
                       libraries=_libs("libkrb5.so.3", "libgssapi_krb5.so.2"),
                       files=(text_file("/etc/krb5.conf",
                                        "[libdefaults]\n dns_lookup_realm = false\n"),)),
    "libcom_err": Shape("1.42.8", "3.fc20", kind="plain", libraries=_libs("libcom_err.so.2")),
    "keyutils-libs": Shape("1.5.8", "1.fc20", kind="plain", libraries=_libs("libkeyutils.so.1")),
    "libcurl": Shape("7.32.0", "3.fc20", "A library for getting files from web servers", "MIT",
                     kind="plain", requires=(_so("libssl.so.10"), _so("libz.so.1"),
                                             _so("libgssapi_krb5.so.2")),
                     libraries=_libs("libcurl.so.4")),
    "curl": Shape("7.32.0", "3.fc20", license="MIT", requires=("libcurl = {evr}",)),
    "popt": Shape("1.16", "1.fc20", kind="plain", license="MIT", libraries=_libs("libpopt.so.0")),
    "libuuid": Shape("2.24", "2.fc20", kind="plain", license="LGPLv2+",
                     libraries=_libs("libuuid.so.1")),
    "libblkid": Shape("2.24", "2.fc20", kind="plain", license="LGPLv2+",
                      requires=("libuuid = {evr}",), libraries=_libs("libblkid.so.1")),
    "libmount": Shape("2.24", "2.fc20", kind="plain", license="LGPLv2+",
                      requires=("libblkid = {evr}",), libraries=_libs("libmount.so.1")),
    "pam": Shape(
        "1.1.8", "1.fc20", "An extensible library which provides authentication", kind="plain",
        requires=(_so("libselinux.so.1"), "audit-libs"), libraries=_libs("libpam.so.0"),
        files=(directory("/etc/pam.d"), text_file("/etc/pam.d/system-auth",
               "auth required pam_unix.so\naccount required pam_unix.so\n"),
               directory("/etc/security"), text_file("/etc/security/limits.conf", "# limits\n")),
    ),
    "audit-libs": Shape("2.3.2", "1.fc20", kind="plain", license="LGPLv2+",
                        libraries=_libs("libaudit.so.1")),
    "readline": Shape("6.2", "8.fc20", kind="plain", requires=(_so("libtinfo.so.5"),),
                      libraries=_libs("libreadline.so.6")),
    "device-mapper-libs": Shape("1.02.82", "2.fc20", "Device-mapper shared library", "LGPLv2+",
                                kind="plain", requires=(_so("libselinux.so.1"), "device-mapper"),
                                libraries=_libs("libdevmapper.so.1.02")),
    "device-mapper": Shape(
        "1.02.82", "2.fc20", "Device mapper utility", kind="plain",
        requires=("device-mapper-libs = {evr}", "util-linux >= 2.15", "systemd"),
        files=(command("/usr/sbin/dmsetup"), directory("/etc/lvm")),
    ),
    "lvm2-libs": Shape("2.02.103", "3.fc20", kind="plain", license="LGPLv2+",
                       requires=(_so("libdevmapper.so.1.02"),),
                       libraries=_libs("liblvm2app.so.2.2")),
    "systemd-libs": Shape("208", "9.fc20", "systemd libraries", "LGPLv2+", kind="plain",
                          requires=(_so("libselinux.so.1"), _so("liblzma.so.5")),
                          libraries=_libs("libsystemd-journal.so.0", "libsystemd-daemon.so.0")),
    "dbus-libs": Shape("1.6.12", "1.fc20", kind="plain", libraries=_libs("libdbus-1.so.3")),
    "libgcrypt": Shape("1.5.3", "2.fc20", kind="plain", license="LGPLv2+",
                       requires=(_so("libgpg-error.so.0"),), libraries=_libs("libgcrypt.so.11")),
    "libgpg-error": Shape("1.12", "1.fc20", kind="plain", license="LGPLv2+",
                          libraries=_libs("libgpg-error.so.0")),
    "nspr": Shape("4.10.2", "1.fc20", kind="plain", license="MPLv2.0",
                  libraries=_libs("libnspr4.so")),
    "nss": Shape("3.15.3", "1.fc20", "Network Security Services", "MPLv2.0", kind="plain",
                 requires=(_so("libnspr4.so"), "ca-certificates"),
                 libraries=_libs("libnss3.so", "libssl3.so"),
                 files=(directory("/etc/pki/nssdb"),
                        text_file("/etc/pki/nssdb/pkcs11.txt", "library=\nname=NSS Internal\n")),
                 ),
    "nss-tools": Shape("3.15.3", "1.fc20", license="MPLv2.0", requires=("nss = {evr}",)),
    "libidn": Shape("1.28", "1.fc20", kind="plain", license="LGPLv2+",
                    libraries=_libs("libidn.so.11")),
    "libpng": Shape("1.5.13", "3.fc20", kind="plain", license="MIT", requires=(_so("libz.so.1"),),
                    libraries=_libs("libpng15.so.15")),
    "freetype": Shape("2.5.0", "5.fc20", kind="plain", license="MIT",
                      requires=(_so("libpng15.so.15"),), libraries=_libs("libfreetype.so.6")),
    "fontpackages-filesystem": Shape("1.44", "8.fc20", kind="plain", noarch=True,
                                     license="Public Domain",
                                     files=(directory("/usr/share/fonts"),)),
    "dejavu-fonts-common": Shape("2.33", "6.fc20", kind="plain", noarch=True, license="MIT",
                                 requires=("fontpackages-filesystem",),
                                 files=(directory("/usr/share/fonts/dejavu"),)),
    "dejavu-sans-fonts": Shape(
        "2.33", "6.fc20", "Variable-width sans-serif font faces", "MIT", kind="plain",
        noarch=True, requires=("dejavu-fonts-common = {evr}",),
        provides=("font(dejavusans)", "font(:lang=en)"),
        files=(text_file("/usr/share/fonts/dejavu/DejaVuSans.ttf",
                         "fake TrueType: DejaVu Sans\n"),),
    ),
    "fontconfig": Shape(
        "2.11.0", "1.fc20", "Font configuration and customization library", "MIT", kind="plain",
        requires=(_so("libfreetype.so.6"), "fontpackages-filesystem", "font(:lang=en)"),
        libraries=_libs("libfontconfig.so.1"),
        files=(directory("/etc/fonts"), text_file("/etc/fonts/fonts.conf", "<fontconfig/>\n")),
    ),
    "pixman": Shape("0.30.0", "5.fc20", kind="plain", license="MIT",
                    libraries=_libs("libpixman-1.so.0")),
    "cairo": Shape("1.13.1", "0.1.git337ab1f.fc20", kind="plain", license="LGPLv2+",
                   requires=(_so("libpixman-1.so.0"), _so("libfontconfig.so.1"),
                             _so("libpng15.so.15")),
                   libraries=_libs("libcairo.so.2", "libcairo-gobject.so.2")),
    "pango": Shape("1.36.1", "1.fc20", kind="plain", license="LGPLv2+",
                   requires=(_so("libcairo.so.2"), "glib2 >= 2.33.12"),
                   libraries=_libs("libpango-1.0.so.0")),
    "atk": Shape("2.10.0", "1.fc20", kind="plain", license="LGPLv2+", requires=("glib2",),
                 libraries=_libs("libatk-1.0.so.0")),
    "gdk-pixbuf2": Shape("2.30.1", "1.fc20", kind="plain", license="LGPLv2+",
                         requires=("glib2 >= 2.37.6", _so("libpng15.so.15")),
                         libraries=_libs("libgdk_pixbuf-2.0.so.0")),
    "hicolor-icon-theme": Shape(
        "0.12", "7.fc20", "Basic requirement for icon themes", kind="plain", noarch=True,
        files=(directory("/usr/share/icons"), directory(HICOLOR),
               text_file(f"{HICOLOR}/index.theme", HICOLOR_INDEX),
               directory(f"{HICOLOR}/48x48"), directory(f"{HICOLOR}/48x48/apps"),
               directory(f"{HICOLOR}/scalable"), directory(f"{HICOLOR}/scalable/apps")),
        # gtk3 ships the cache builder: without it, there is no cache to rebuild.
        file_triggers=rebuild_trigger(
            HICOLOR,
            "if [ -x /usr/bin/gtk-update-icon-cache ]; then\n"
            f"    /usr/bin/gtk-update-icon-cache --force {HICOLOR}\nfi\n",
        ),
    ),
    "gtk3": Shape(
        "3.10.6", "1.fc20", "The GIMP ToolKit (GTK+), a library for creating GUIs", "LGPLv2+",
        kind="plain",
        requires=("glib2 >= 2.38", "atk >= 2.7.5", "pango >= 1.32.4", "cairo",
                  "gdk-pixbuf2 >= 2.27.1", "hicolor-icon-theme", "at-spi2-atk",
                  "gsettings-desktop-schemas"),
        libraries=_libs("libgtk-3.so.0", "libgdk-3.so.0"),
        files=(command("/usr/bin/gtk-query-immodules-3.0-64"), directory("/etc/gtk-3.0"),
               command("/usr/bin/gtk-update-icon-cache"),
               schema("org.gtk.Settings.FileChooser", "show-hidden", "b", "false")),
    ),
    "gsettings-desktop-schemas": Shape(
        "3.10.1", "1.fc20", kind="data", license="LGPLv2+", requires=("glib2 >= 2.31.0",),
        files=(schema("org.gnome.desktop.interface", "gtk-theme", "s", "'Adwaita'"),),
    ),
    "json-glib": Shape("0.16.2", "1.fc20", kind="plain", license="LGPLv2+",
                       requires=("glib2",), libraries=_libs("libjson-glib-1.0.so.0")),
    "libdrm": Shape("2.4.49", "1.fc20", kind="plain", license="MIT",
                    libraries=_libs("libdrm.so.2")),
    "mesa-libGL": Shape("9.2.4", "1.fc20", kind="plain", license="MIT",
                        requires=(_so("libdrm.so.2"),), libraries=_libs("libGL.so.1")),
    "cogl": Shape("1.16.0", "2.fc20", kind="plain", license="LGPLv2+",
                  requires=("glib2", _so("libGL.so.1")), libraries=_libs("libcogl.so.12")),
    "clutter": Shape(
        "1.16.2", "2.fc20", "Open Source software library for creating rich graphical UIs",
        "LGPLv2+", kind="plain",
        requires=("glib2 >= 2.38", "cogl >= 1.15.9", "json-glib >= 0.12.0",
                  _so("libselinux.so.1")),
        libraries=_libs("libclutter-1.0.so.0"),
    ),
    "mutter": Shape(
        "3.10.2", "1.fc20", "Window and compositing manager based on Clutter", kind="app",
        requires=("clutter >= 1.15.90", "gtk3 >= 3.9.11", "zenity",
                  "gsettings-desktop-schemas", _so("libcanberra-gtk3.so.0")),
        libraries=_libs("libmutter.so.0"),
    ),
    "zenity": Shape("3.10.2", "1.fc20", license="LGPLv2+", requires=("gtk3",)),
    "mozjs17": Shape("17.0.0", "8.fc20", kind="plain", license="MPLv2.0",
                     requires=(_so("libnspr4.so"),), libraries=_libs("libmozjs-17.0.so")),
    "gjs": Shape("1.38.1", "1.fc20", license="MIT", requires=("mozjs17", "glib2 >= 2.38"),
                 libraries=_libs("libgjs.so.0")),
    "gnome-desktop3": Shape("3.10.2", "1.fc20", kind="plain", license="LGPLv2+",
                            requires=("gtk3", "gsettings-desktop-schemas"),
                            libraries=_libs("libgnome-desktop-3.so.7")),
    "gnome-session": Shape("3.10.1", "1.fc20", requires=("gnome-desktop3", "dconf", "dbus")),
    "libcanberra": Shape("0.30", "4.fc20", kind="plain", license="LGPLv2+",
                         libraries=_libs("libcanberra.so.0")),
    "libcanberra-gtk3": Shape("0.30", "4.fc20", kind="plain", license="LGPLv2+",
                              requires=("libcanberra = {evr}", "gtk3"),
                              libraries=_libs("libcanberra-gtk3.so.0")),
    "libcanberra-gtk2": Shape("0.30", "4.fc20", kind="plain", license="LGPLv2+",
                              requires=("libcanberra = {evr}", "gtk2"),
                              libraries=_libs("libcanberra-gtk.so.0")),
    "gtk2": Shape("2.24.22", "1.fc20", kind="plain", license="LGPLv2+",
                  requires=("glib2", "pango", "atk", "gdk-pixbuf2", "hicolor-icon-theme"),
                  libraries=_libs("libgtk-x11-2.0.so.0")),
    "at-spi2-core": Shape("2.10.2", "1.fc20", license="LGPLv2+", kind="plain",
                          requires=("dbus", "glib2"),
                          libraries=_libs("libatspi.so.0"),
                          files=commands("/usr/libexec/at-spi-bus-launcher")),
    "at-spi2-atk": Shape("2.10.2", "1.fc20", kind="plain", license="LGPLv2+",
                         requires=("at-spi2-core", "atk"),
                         libraries=_libs("libatk-bridge-2.0.so.0")),
    "librsvg2": Shape("2.40.1", "1.fc20", kind="plain", license="LGPLv2+",
                      requires=("gdk-pixbuf2", "cairo", "pango"),
                      libraries=_libs("librsvg-2.so.2")),
    "dconf": Shape(
        "0.18.0", "2.fc20", "A configuration system", "LGPLv2+",
        requires=("glib2 >= 2.38", "dbus"), libraries=_libs("libdconf.so.1"),
        files=(command("/usr/bin/dconf"), directory("/etc/dconf"), directory("/etc/dconf/db")),
        posttrans="dconf update\n",
    ),
    # --- core --------------------------------------------------------------------------
    "systemd": Shape(
        "208", "9.fc20", "A System and Service Manager", "LGPLv2+", kind="plain",
        requires=("systemd-libs = {evr}", "dbus", "kmod >= 14", "util-linux >= 2.21",
                  _so("libselinux.so.1"), "pam", "busybox"),
        provides=("/bin/systemctl", "/sbin/init"),
        groups=(SystemGroup("systemd-journal", 190),),
        files=(
            *commands("/usr/bin/systemctl", "/usr/bin/journalctl", "/usr/lib/systemd/systemd"),
            symlink("/usr/sbin/init", "../lib/systemd/systemd"),
            directory("/usr/lib/systemd"), directory("/usr/lib/systemd/system"),
            directory("/etc/systemd"), directory("/etc/systemd/system"),
            directory("/usr/lib/tmpfiles.d"),
            text_file("/etc/systemd/system.conf", "[Manager]\n"),
            text_file("/etc/systemd/journald.conf", "[Journal]\n"),
            text_file("/usr/lib/systemd/system/multi-user.target",
                      "[Unit]\nDescription=Multi-User System\nRequires=basic.target\n"),
            text_file("/usr/lib/systemd/system/graphical.target",
                      "[Unit]\nDescription=Graphical Interface\nRequires=multi-user.target\n"),
            text_file("/usr/lib/systemd/system/basic.target", "[Unit]\nDescription=Basic System\n"),
            symlink("/usr/lib/systemd/system/default.target", "graphical.target"),
            directory("/var/log/journal", mode=0o2755, owner="root:systemd-journal"),
        ),
    ),
    "kmod": Shape("15", "1.fc20", license="LGPLv2+",
                  files=(*commands("/usr/bin/kmod"), directory("/usr/lib/modules"),
                         directory("/usr/lib/modprobe.d"), directory("/etc/modprobe.d"))),
    "dbus": Shape(
        "1.6.12", "1.fc20", "D-BUS message bus", "GPLv2+", kind="plain",
        requires=("dbus-libs = {evr}", "systemd", _so("libselinux.so.1")),
        users=(SystemUser("dbus", 81, "System message bus", "/"),),
        units=("dbus.service",),
        files=(
            *commands("/usr/bin/dbus-daemon", "/usr/bin/dbus-uuidgen"),
            command("/usr/libexec/dbus-daemon-launch-helper", mode=0o4750, owner="root:dbus"),
            directory("/etc/dbus-1"), directory("/etc/dbus-1/system.d"),
            text_file("/etc/dbus-1/system.conf", "<busconfig><type>system</type></busconfig>\n"),
            directory("/var/lib/dbus", owner="dbus:dbus"),
        ),
    ),
    "util-linux": Shape(
        "2.24", "2.fc20", "A collection of basic system utilities", kind="plain",
        requires=("libuuid = {evr}", "libblkid = {evr}", "libmount = {evr}", "pam",
                  _so("libtinfo.so.5")),
        provides=("/sbin/nologin", "/bin/more"),
        files=(
            *commands("/usr/sbin/nologin", "/usr/bin/more", "/usr/sbin/agetty", "/usr/bin/lsblk",
                      "/usr/bin/findmnt"),
            text_file("/etc/pam.d/login", "auth include system-auth\n"),
        ),
    ),
    "audit": Shape(
        "2.3.2", "1.fc20", "User space tools for kernel auditing", kind="plain",
        requires=("audit-libs = {evr}", "systemd"), units=("auditd.service",),
        files=(
            command("/usr/sbin/auditd"), directory("/etc/audit", mode=0o750),
            text_file("/etc/audit/auditd.conf", "log_file = /var/log/audit/audit.log\n",
                      mode=0o640),
            directory("/var/log/audit", mode=0o700),
            text_file("/var/log/audit/audit.log", "", mode=0o600),
        ),
    ),
    "cronie": Shape(
        "1.4.11", "4.fc20", "Cron daemon for executing programs at set times", "MIT",
        kind="plain", requires=("dailyjobs", "pam", "systemd"), units=("crond.service",),
        files=(command("/usr/sbin/crond"), text_file("/etc/sysconfig/crond", "CRONDARGS=\n"),
               directory("/var/spool/cron", mode=0o700)),
    ),
    "cronie-anacron": Shape(
        "1.4.11", "4.fc20", "Utility for running regular jobs", "MIT", kind="plain",
        requires=("cronie = {evr}", "crontabs"), provides=("dailyjobs",),
        files=(command("/usr/sbin/anacron"),
               text_file("/etc/anacrontab", "1 5 cron.daily run-parts /etc/cron.daily\n")),
    ),
    "crontabs": Shape(
        "1.11", "7.20121102git.fc20", "Root crontab files used to schedule jobs",
        "Public Domain", kind="plain", noarch=True,
        files=(text_file("/etc/crontab", "SHELL=/bin/bash\nPATH=/sbin:/bin:/usr/sbin:/usr/bin\n"),
               directory("/etc/cron.daily"), directory("/etc/cron.hourly"),
               command("/usr/bin/run-parts")),
    ),
    "dhclient": Shape("4.2.5", "27.fc20", requires=("dhcp-common",),
                      files=(text_file("/etc/dhcp/dhclient.conf", "# dhclient.conf\n"),)),
    "dhcp-common": Shape("4.2.5", "27.fc20", kind="data", files=(directory("/etc/dhcp"),)),
    "e2fsprogs": Shape(
        "1.42.8", "3.fc20", "Utilities for managing ext2, ext3, and ext4 filesystems",
        kind="plain", requires=("e2fsprogs-libs = {evr}", "libcom_err = {evr}", "libuuid",
                                "libblkid"),
        files=(*commands("/usr/sbin/mke2fs", "/usr/sbin/e2fsck", "/usr/sbin/tune2fs"),
               text_file("/etc/mke2fs.conf", "[defaults]\n base_features = sparse_super\n")),
    ),
    "e2fsprogs-libs": Shape("1.42.8", "3.fc20", kind="plain", license="LGPLv2+",
                            libraries=_libs("libext2fs.so.2")),
    "grubby": Shape("8.28", "1.fc20", "Command line tool for updating bootloader configs",
                    kind="plain", files=commands("/usr/sbin/grubby", "/usr/sbin/new-kernel-pkg")),
    "initscripts": Shape(
        "9.51", "1.fc20", "The inittab file and the /etc/init.d scripts", kind="plain",
        requires=("systemd", "iproute", "procps-ng", "util-linux", "coreutils"),
        files=(command("/usr/sbin/service"), directory("/etc/rc.d"),
               directory("/etc/rc.d/init.d"),
               text_file("/etc/rc.d/init.d/functions", "# -*-Shell-script-*-\n", config=False),
               text_file("/etc/sysconfig/init", "BOOTUP=color\n")),
        post="[ -e /etc/sysconfig/network ] || echo 'NETWORKING=yes' > /etc/sysconfig/network\n",
    ),
    "iproute": Shape("3.11.0", "1.fc20", kind="plain",
                     files=(command("/usr/sbin/ip"), directory("/etc/iproute2"),
                            text_file("/etc/iproute2/rt_tables", "255\tlocal\n254\tmain\n"))),
    "kbd": Shape("1.15.5", "10.fc20", requires=("kbd-misc = {evr}",)),
    "kbd-misc": Shape("1.15.5", "10.fc20", kind="data"),
    "less": Shape("458", "8.fc20", requires=(_so("libtinfo.so.5"),)),
    "man-db": Shape("2.6.5", "2.fc20", requires=("less", "groff-base"),
                    files=(command("/usr/bin/man"),
                           text_file("/etc/man_db.conf", "MANDATORY_MANPATH /usr/man\n"),
                           directory("/var/cache/man"))),
    "groff-base": Shape("1.22.2", "6.fc20"),
    "openssh": Shape("6.4p1", "2.fc20", "An open source implementation of SSH", "BSD",
                     kind="plain", requires=(_so("libcrypto.so.10"),),
                     files=(directory("/etc/ssh"), command("/usr/bin/ssh-keygen"))),
    "openssh-clients": Shape(
        "6.4p1", "2.fc20", "An open source SSH client applications", "BSD", kind="plain",
        requires=("openssh = {evr}",),
        files=(*commands("/usr/bin/ssh", "/usr/bin/scp"),
               text_file("/etc/ssh/ssh_config", "Host *\n  GSSAPIAuthentication yes\n")),
    ),
    "openssh-server": Shape(
        "6.4p1", "2.fc20", "An open source SSH server daemon", "BSD", kind="plain",
        requires=("openssh = {evr}", "pam", _so("libcrypto.so.10")),
        users=(SystemUser("sshd", 74, "Privilege-separated SSH", "/var/empty/sshd"),),
        units=("sshd.service",),
        files=(command("/usr/sbin/sshd"),
               text_file("/etc/ssh/sshd_config", "Protocol 2\nUsePrivilegeSeparation sandbox\n",
                         mode=0o600),
               text_file("/etc/pam.d/sshd", "auth include system-auth\n"),
               directory("/var/empty"), directory("/var/empty/sshd", mode=0o711)),
    ),
    "parted": Shape("3.1", "14.fc20", requires=(_so("libdevmapper.so.1.02"), _so("libblkid.so.1"),
                                                _so("libreadline.so.6")),
                    libraries=_libs("libparted.so.1")),
    "passwd": Shape("0.79", "2.fc20", requires=("pam", "libuser"),
                    files=(command("/usr/bin/passwd", mode=0o4755),
                           text_file("/etc/pam.d/passwd", "auth include system-auth\n"))),
    "libuser": Shape("0.60", "3.fc20", kind="plain", license="LGPLv2+", requires=("glib2",),
                     libraries=_libs("libuser.so.1"),
                     files=(text_file("/etc/libuser.conf", "[defaults]\ncrypt_style = sha512\n"),)),
    "plymouth": Shape("0.8.9", "0.2013.08.14.fc20", requires=("plymouth-core-libs = {evr}",
                                                              "system-logos"),
                      files=(directory("/etc/plymouth"),
                             text_file("/etc/plymouth/plymouthd.conf",
                                       "[Daemon]\nTheme=charge\n"))),
    "plymouth-core-libs": Shape("0.8.9", "0.2013.08.14.fc20", kind="plain",
                                libraries=_libs("libply.so.2")),
    "policycoreutils": Shape(
        "2.2.5", "1.fc20", "SELinux policy core utilities", kind="plain",
        requires=(_so("libselinux.so.1"), "libsemanage", "coreutils"),
        files=commands("/usr/sbin/restorecon", "/usr/sbin/setfiles", "/usr/sbin/load_policy"),
    ),
    "libsemanage": Shape("2.2", "1.fc20", kind="plain", license="LGPLv2+",
                         requires=(_so("libselinux.so.1"),), libraries=_libs("libsemanage.so.1")),
    "procps-ng": Shape("3.3.8", "17.fc20", "System and process monitoring utilities",
                       kind="plain", requires=(_so("libtinfo.so.5"),),
                       libraries=_libs("libprocps.so.1"),
                       files=commands("/usr/bin/ps", "/usr/bin/free", "/usr/bin/top")),
    "rootfiles": Shape(
        "8.1", "16.fc20", "The basic required files for the root user's directory",
        "Public Domain", kind="plain", noarch=True,
        files=(text_file("/root/.bashrc", "# .bashrc\nalias rm='rm -i'\n", config=True),
               text_file("/root/.bash_profile", "# .bash_profile\n. ~/.bashrc\n", config=True)),
    ),
    "rpm": Shape(
        "4.11.1", "7.fc20", "The RPM package management system", kind="plain",
        requires=("rpm-libs = {evr}", "curl", "coreutils"),
        files=(*commands("/usr/bin/rpm", "/usr/bin/rpmkeys"), directory("/usr/lib/rpm"),
               text_file("/usr/lib/rpm/macros", "%_dbpath\t\t%{_var}/lib/rpm\n"),
               directory("/etc/rpm")),
    ),
    "rpm-libs": Shape("4.11.1", "7.fc20", kind="plain", license="LGPLv2+",
                      requires=(_so("libpopt.so.0"), _so("libnss3.so"), _so("liblzma.so.5"),
                                _so("libbz2.so.1")),
                      libraries=_libs("librpm.so.3", "librpmio.so.3")),
    "rpm-python": Shape("4.11.1", "7.fc20", kind="data", noarch=False,
                        requires=("rpm = {evr}", "python")),
    "selinux-policy": Shape(
        "3.12.1", "116.fc20", "SELinux policy configuration", kind="plain", noarch=True,
        requires=("policycoreutils >= 2.1.14",),
        # No /etc/selinux/config: with SELINUXTYPE set, libostree would label and rebuild
        # the (fake) policy at every deployment.
        files=(directory("/etc/selinux"), directory("/usr/share/selinux")),
    ),
    "selinux-policy-targeted": Shape(
        "3.12.1", "116.fc20", "SELinux targeted base policy", kind="plain", noarch=True,
        requires=("selinux-policy = {evr}", "policycoreutils"),
        files=(directory("/etc/selinux/targeted"), directory("/etc/selinux/targeted/contexts"),
               directory("/etc/selinux/targeted/contexts/files"),
               text_file("/etc/selinux/targeted/contexts/files/file_contexts",
                         "/.*\tsystem_u:object_r:default_t:s0\n"
                         "/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0\n", config=False)),
    ),
    "shadow-utils": Shape(
        "4.1.5.1", "8.fc20", "Utilities for managing accounts and shadow password files",
        "BSD", kind="plain", requires=("setup", _so("libselinux.so.1"), "audit-libs"),
        files=(*commands("/usr/bin/chage", "/usr/sbin/pwck", "/usr/sbin/grpck"),
               text_file("/etc/login.defs", "MAIL_DIR\t/var/spool/mail\nUID_MIN\t1000\n"),
               directory("/etc/default"),
               text_file("/etc/default/useradd", "GROUP=100\nHOME=/home\nSHELL=/bin/bash\n",
                         mode=0o600)),
    ),
    "sudo": Shape(
        "1.8.8", "1.fc20", "Allows restricted root access for specified users", "ISC",
        kind="plain", requires=("pam",),
        files=(command("/usr/bin/sudo", mode=0o4111),
               text_file("/etc/sudoers", "root\tALL=(ALL)\tALL\n%wheel\tALL=(ALL)\tALL\n",
                         mode=0o440),
               directory("/etc/sudoers.d", mode=0o750),
               text_file("/etc/pam.d/sudo", "auth include system-auth\n")),
    ),
    "vim-minimal": Shape("7.4.027", "2.fc20", "A minimal version of the VIM editor", "Vim",
                         kind="plain", requires=(_so("libtinfo.so.5"),),
                         files=(command("/usr/bin/vi"),
                                text_file("/etc/virc", "set nocompatible\n"))),
    "yum": Shape(
        "3.4.3", "111.fc20", "RPM package installer/updater/manager", kind="plain", noarch=True,
        requires=("/usr/bin/python", "rpm-python", "python-urlgrabber", "yum-metadata-parser",
                  "pygpgme"),
        files=(command("/usr/bin/yum"),
               text_file("/etc/yum.conf",
                         "[main]\ncachedir=/var/cache/yum/$basearch/$releasever\n"),
               directory("/etc/yum.repos.d"), directory("/var/lib/yum"),
               directory("/var/cache/yum")),
    ),
    "python": Shape("2.7.5", "9.fc20", "An interpreted, object-oriented programming language",
                    "Python", kind="plain", requires=("python-libs = {evr}",),
                    files=(command("/usr/bin/python"), symlink("/usr/bin/python2", "python"))),
    "python-libs": Shape("2.7.5", "9.fc20", kind="plain", license="Python",
                         requires=(_so("libz.so.1"), _so("libssl.so.10")),
                         libraries=_libs("libpython2.7.so.1.0")),
    "python3": Shape("3.3.2", "8.fc20", license="Python", kind="plain",
                     files=(command("/usr/bin/python3"),)),
    "python-urlgrabber": Shape("3.10", "1.fc20", kind="data", license="LGPLv2+",
                               requires=("python", "python-pycurl")),
    "python-pycurl": Shape("7.19.0", "17.fc20", kind="data", noarch=False, license="LGPLv2+",
                           requires=("python", _so("libcurl.so.4"))),
    "yum-metadata-parser": Shape("1.1.4", "9.fc20", kind="data", noarch=False,
                                 requires=("python", "glib2")),
    "pygpgme": Shape("0.3", "8.fc20", kind="data", noarch=False, license="LGPLv2+",
                     requires=("python", "gpgme")),
    "gpgme": Shape("1.3.2", "4.fc20", kind="plain", license="LGPLv2+",
                   requires=("gnupg2", _so("libgpg-error.so.0")),
                   libraries=_libs("libgpgme.so.11")),
    "authconfig": Shape("6.2.6", "4.fc20", requires=("python", "pam")),
    "firewalld": Shape(
        "0.3.8", "1.fc20", "A firewall daemon with D-BUS interface", kind="plain", noarch=True,
        requires=("python", "iptables", "ebtables", "dbus-python"), units=("firewalld.service",),
        files=(command("/usr/sbin/firewalld"), directory("/etc/firewalld"),
               text_file("/etc/firewalld/firewalld.conf", "DefaultZone=public\n")),
    ),
    "dbus-python": Shape("1.1.1", "5.fc20", kind="data", noarch=False, license="MIT",
                         requires=("python", _so("libdbus-1.so.3"))),
    "iptables": Shape("1.4.19.1", "1.fc20", kind="plain",
                      files=(*commands("/usr/sbin/iptables", "/usr/sbin/ip6tables"),
                             text_file("/etc/sysconfig/iptables-config", "IPTABLES_MODULES=\"\"\n",
                                       mode=0o600))),
    "ebtables": Shape("2.0.10", "9.fc20", files=(text_file("/etc/sysconfig/ebtables-config",
                                                           "EBTABLES_SAVE_ON_STOP=\"no\"\n"),)),
    "NetworkManager": Shape(
        "0.9.9.0", "20.git20131003.fc20", "Network connection manager and user applications",
        kind="plain",
        requires=("NetworkManager-glib = {evr}", "dbus", "iproute", "dhclient", "wpa_supplicant",
                  "systemd", "glib2 >= 2.32"),
        units=("NetworkManager.service",),
        files=(command("/usr/sbin/NetworkManager"), directory("/etc/NetworkManager"),
               text_file("/etc/NetworkManager/NetworkManager.conf", "[main]\nplugins=ifcfg-rh\n"),
               directory("/var/lib/NetworkManager")),
    ),
    "NetworkManager-glib": Shape("0.9.9.0", "20.git20131003.fc20", kind="plain",
                                 license="LGPLv2+", requires=("glib2", "dbus-glib"),
                                 libraries=_libs("libnm-glib.so.4", "libnm-util.so.2")),
    "NetworkManager-config-server": Shape(
        "0.9.9.0", "20.git20131003.fc20", "NetworkManager config file for server-like defaults",
        kind="plain", noarch=True, requires=("NetworkManager = {evr:NetworkManager}",),
        files=(directory("/etc/NetworkManager/conf.d"),
               text_file("/etc/NetworkManager/conf.d/00-server.conf",
                         "[main]\nno-auto-default=*\nignore-carrier=*\n")),
    ),
    "dbus-glib": Shape("0.100", "5.fc20", kind="plain", requires=(_so("libdbus-1.so.3"), "glib2"),
                       libraries=_libs("libdbus-glib-1.so.2")),
    "wpa_supplicant": Shape("2.0", "8.fc20", license="BSD", units=("wpa_supplicant.service",),
                            requires=(_so("libssl.so.10"), _so("libdbus-1.so.3")),
                            files=(directory("/etc/wpa_supplicant"),
                                   text_file("/etc/wpa_supplicant/wpa_supplicant.conf",
                                             "ctrl_interface=/var/run/wpa_supplicant\n",
                                             mode=0o600))),
    "dracut": Shape(
        "034", "64.git20131205.fc20", "Initramfs generator using udev", kind="plain",
        requires=("kmod >= 15", "systemd >= 199", "util-linux >= 2.21", "bash", "coreutils",
                  "cpio", "xz", "grubby"),
        files=(command("/usr/bin/dracut"), text_file("/etc/dracut.conf", "# dracut.conf\n"),
               directory("/etc/dracut.conf.d"), directory("/usr/lib/dracut"),
               directory("/usr/lib/dracut/dracut.conf.d")),
    ),
    "dracut-config-rescue": Shape(
        "034", "64.git20131205.fc20", "Dracut configuration to turn on rescue image generation",
        kind="plain", noarch=True, requires=("dracut = {evr:dracut}",),
        files=(text_file("/usr/lib/dracut/dracut.conf.d/02-rescue.conf",
                         'dracut_rescue_image="yes"\n'),),
    ),
    "linux-firmware": Shape(
        "20131106", "1.git7d0c7a8.fc20", "Firmware files used by the Linux kernel",
        "Redistributable", kind="plain", noarch=True,
        files=(directory("/usr/lib/firmware"),
               text_file("/usr/lib/firmware/fake-wifi.bin", "fake firmware blob\n" * 64)),
    ),
    "kernel": Shape(
        "3.11.10", "301.fc20", "The Linux kernel", kind="plain",
        requires=("linux-firmware >= 20130724", "grubby >= 8.3", "dracut >= 033",
                  "systemd >= 203"),
        provides=("kernel-x86_64 = {evr}", "kernel-drm = 4.3.0", "kernel-modeset = 1"),
    ),
    "ostree": Shape(
        "2013.7", "2.fc20", "Git for operating system binaries", "LGPLv2+", kind="plain",
        requires=("glib2 >= 2.38", "libgsystem", "gpgme", "libsoup", "libarchive", "dracut",
                  _so("libselinux.so.1")),
        libraries=_libs("libostree-1.so.1"),
        files=(command("/usr/bin/ostree"), directory("/usr/lib/ostree"),
               directory("/etc/ostree"), directory("/etc/ostree/remotes.d"),
               directory("/usr/lib/dracut/modules.d"),
               text_file("/usr/lib/dracut/modules.d/98ostree.conf", "add_dracutmodules+=ostree\n")),
    ),
    "libgsystem": Shape("2013.1", "1.fc20", kind="plain", license="LGPLv2+",
                        requires=("glib2",), libraries=_libs("libgsystem.so.0")),
    "libsoup": Shape("2.44.2", "1.fc20", kind="plain", license="LGPLv2",
                     requires=("glib2 >= 2.38", "glib-networking"),
                     libraries=_libs("libsoup-2.4.so.1")),
    "libarchive": Shape("3.1.2", "5.fc20", kind="plain", license="BSD",
                        requires=(_so("liblzma.so.5"), _so("libbz2.so.1"), _so("libz.so.1")),
                        libraries=_libs("libarchive.so.13")),
    "lvm2": Shape(
        "2.02.103", "3.fc20", "Userland logical volume management tools", kind="plain",
        requires=("lvm2-libs = {evr}", "device-mapper >= 1.02.82", "systemd",
                  "device-mapper-persistent-data"),
        units=("lvm2-lvmetad.service",),
        files=(command("/usr/sbin/lvm"), text_file("/etc/lvm/lvm.conf", "global {\n}\n"),
               directory("/etc/lvm/archive", mode=0o700), directory("/etc/lvm/backup", mode=0o700)),
    ),
    "device-mapper-persistent-data": Shape("0.2.8", "2.fc20",
                                           files=commands("/usr/sbin/thin_check")),
    "btrfs-progs": Shape("3.12", "1.fc20", "Userspace programs for btrfs", kind="plain",
                         requires=("e2fsprogs-libs", "libuuid", "libblkid", "lzo",
                                   _so("libz.so.1")),
                         files=commands("/usr/sbin/btrfs", "/usr/sbin/mkfs.btrfs")),
    "lzo": Shape("2.06", "5.fc20", kind="plain", libraries=_libs("liblzo2.so.2")),
    "xfsprogs": Shape("3.1.11", "2.fc20", "Utilities for managing the XFS filesystem",
                      kind="plain", requires=("util-linux", "libuuid", _so("libreadline.so.6")),
                      files=commands("/usr/sbin/mkfs.xfs", "/usr/sbin/xfs_repair")),
    # --- standard ----------------------------------------------------------------------
    "acl": Shape("2.2.51", "11.fc20", requires=("libacl = {evr}",)),
    "libacl": Shape("2.2.51", "11.fc20", kind="plain", license="LGPLv2+",
                    requires=("libattr",), libraries=_libs("libacl.so.1")),
    "attr": Shape("2.4.46", "11.fc20", requires=("libattr = {evr}",)),
    "libattr": Shape("2.4.46", "11.fc20", kind="plain", license="LGPLv2+",
                     libraries=_libs("libattr.so.1")),
    "at": Shape("3.1.13", "14.fc20", requires=("pam",), units=("atd.service",),
                files=(text_file("/etc/at.deny", "", mode=0o640),
                       directory("/var/spool/at", mode=0o700, owner="daemon:daemon"))),
    "bind-utils": Shape("9.9.4", "10.fc20", license="ISC",
                        requires=("bind-libs = {evr:bind-libs}",),
                        files=commands("/usr/bin/dig", "/usr/bin/host", "/usr/bin/nslookup")),
    "bind-libs": Shape("9.9.4", "10.fc20", kind="plain", license="ISC",
                       requires=("bind-license", _so("libcrypto.so.10")),
                       libraries=_libs("libdns.so.100", "libisc.so.95")),
    "bind-license": Shape("9.9.4", "10.fc20", kind="data", license="ISC"),
    "bind": Shape(
        "9.9.4", "10.fc20", "The Berkeley Internet Name Domain (BIND) DNS server", "ISC",
        kind="plain", requires=("bind-libs = {evr}", "systemd"),
        users=(SystemUser("named", 25, "Named", "/var/named"),), units=("named.service",),
        files=(command("/usr/sbin/named"),
               text_file("/etc/named.conf", "options {\n\tdirectory \"/var/named\";\n};\n",
                         mode=0o640, owner="root:named"),
               directory("/var/named", mode=0o750, owner="root:named")),
    ),
    "cyrus-sasl-lib": Shape("2.1.26", "14.fc20", kind="plain", license="BSD",
                            libraries=_libs("libsasl2.so.3")),
    "cyrus-sasl-plain": Shape("2.1.26", "14.fc20", kind="data", noarch=False, license="BSD",
                              requires=("cyrus-sasl-lib = {evr}",)),
    "cyrus-sasl-gssapi": Shape("2.1.26", "14.fc20", kind="data", noarch=False, license="BSD",
                               requires=("cyrus-sasl-lib = {evr}", _so("libgssapi_krb5.so.2"))),
    "file": Shape("5.14", "14.fc20", license="BSD", requires=("file-libs = {evr}",)),
    "file-libs": Shape("5.14", "14.fc20", kind="plain", license="BSD",
                       libraries=_libs("libmagic.so.1")),
    "logrotate": Shape(
        "3.8.6", "1.fc20", "Rotates, compresses, removes and mails system log files",
        kind="plain", requires=("coreutils >= 5.92", "popt", _so("libselinux.so.1")),
        files=(command("/usr/sbin/logrotate"),
               text_file("/etc/logrotate.conf", "weekly\nrotate 4\ninclude /etc/logrotate.d\n"),
               directory("/etc/logrotate.d"), directory("/var/lib/logrotate"),
               text_file("/var/lib/logrotate/logrotate.status", "logrotate state -- version 2\n")),
    ),
    "mailcap": Shape("2.1.42", "1.fc20", "Helper application and MIME type associations",
                     "Public Domain", kind="plain", noarch=True,
                     files=(text_file("/etc/mime.types", "text/plain\t\t\t\t\ttxt asc text\n"),
                            text_file("/etc/mailcap", "audio/*; /usr/bin/xdg-open %s\n"))),
    "mlocate": Shape(
        "0.26", "4.fc20", "An utility for finding files by name", kind="plain",
        groups=(SystemGroup("slocate", 21),),
        files=(command("/usr/bin/locate", mode=0o2711, owner="root:slocate"),
               command("/usr/bin/updatedb"),
               text_file("/etc/updatedb.conf", 'PRUNE_BIND_MOUNTS = "yes"\n'),
               directory("/var/lib/mlocate", mode=0o750, owner="root:slocate")),
    ),
    "pciutils": Shape("3.2.1", "1.fc20", requires=("pciutils-libs = {evr}", "hwdata"),
                      files=commands("/usr/sbin/lspci")),
    "pciutils-libs": Shape("3.2.1", "1.fc20", kind="plain", libraries=_libs("libpci.so.3")),
    "hwdata": Shape("0.256", "1.fc20", kind="plain", noarch=True,
                    files=(directory("/usr/share/hwdata"),
                           text_file("/usr/share/hwdata/pci.ids", "8086  Intel Corporation\n"),
                           text_file("/usr/share/hwdata/usb.ids", "1d6b  Linux Foundation\n"))),
    "usbutils": Shape("007", "1.fc20", requires=("hwdata", "libusbx"),
                      files=commands("/usr/bin/lsusb")),
    "libusbx": Shape("1.0.17", "1.fc20", kind="plain", license="LGPLv2+",
                     libraries=_libs("libusb-1.0.so.0")),
    "rsyslog": Shape(
        "7.4.7", "1.fc20", "Enhanced system logging and kernel message trapping daemon",
        kind="plain", requires=("logrotate >= 3.5.2", _so("libz.so.1"), "systemd"),
        provides=("syslog",), units=("rsyslog.service",),
        files=(command("/usr/sbin/rsyslogd"),
               text_file("/etc/rsyslog.conf", "*.info;mail.none /var/log/messages\n"),
               directory("/etc/rsyslog.d"), directory("/var/lib/rsyslog", mode=0o700)),
    ),
    "bash-completion": Shape("2.1", "3.fc20", kind="data", requires=("bash >= 4.1",)),
    "cifs-utils": Shape("6.2", "5.fc20", requires=("keyutils-libs", _so("libtalloc.so.2"))),
    "libtalloc": Shape("2.0.8", "3.fc20", kind="plain", license="LGPLv2+",
                       libraries=_libs("libtalloc.so.2")),
    "coolkey": Shape("1.1.0", "24.fc20", license="LGPLv2", requires=("pcsc-lite", "nss")),
    "pcsc-lite": Shape("1.8.10", "1.fc20", license="BSD", requires=("pcsc-lite-libs = {evr}",),
                       units=("pcscd.service",)),
    "pcsc-lite-libs": Shape("1.8.10", "1.fc20", kind="plain", license="BSD",
                            libraries=_libs("libpcsclite.so.1")),
    "cryptsetup": Shape("1.6.3", "1.fc20", requires=("cryptsetup-libs = {evr}",)),
    "cryptsetup-libs": Shape("1.6.3", "1.fc20", kind="plain", license="LGPLv2+",
                             requires=(_so("libdevmapper.so.1.02"), "libgcrypt"),
                             libraries=_libs("libcryptsetup.so.4")),
    "deltarpm": Shape("3.6", "3.fc20", license="BSD", requires=(_so("liblzma.so.5"), "rpm-libs")),
    "fedora-release-notes": Shape("20.0.0", "1.fc20", kind="data", license="OPL"),
    "fprintd-pam": Shape("0.5.1", "1.fc20", kind="data", noarch=False,
                         requires=("fprintd = {evr:fprintd}", "pam")),
    "fprintd": Shape("0.5.1", "1.fc20", requires=("libfprint", "dbus-glib", "polkit"),
                     units=("fprintd.service",)),
    "libfprint": Shape("0.5.1", "1.fc20", kind="plain", license="LGPLv2+",
                       requires=("libusbx",), libraries=_libs("libfprint.so.0")),
    "polkit": Shape(
        "0.112", "2.fc20", "An authorization framework", "LGPLv2+", kind="plain",
        requires=("dbus", "mozjs17", "glib2"), libraries=_libs("libpolkit-gobject-1.so.0"),
        users=(SystemUser("polkitd", 999, "User for polkitd", "/"),),
        units=("polkit.service",),
        files=(command("/usr/lib/polkit-1/polkitd"), directory("/usr/lib/polkit-1"),
               directory("/etc/polkit-1"),
               directory("/etc/polkit-1/rules.d", mode=0o700, owner="polkitd:root")),
    ),
    "gnupg2": Shape("2.0.22", "1.fc20", requires=("libgcrypt >= 1.4", "libgpg-error", "pinentry"),
                    files=commands("/usr/bin/gpg2", "/usr/bin/gpg-agent")),
    "pinentry": Shape("0.8.1", "12.fc20"),
    "hunspell": Shape("1.3.2", "15.fc20", license="LGPLv2+", requires=("hunspell-en-US",)),
    "hunspell-en-US": Shape("0.20121024", "6.fc20", kind="data", license="LGPLv2+",
                            files=(directory("/usr/share/myspell"),
                                   text_file("/usr/share/myspell/en_US.dic",
                                             "3\nhello\nworld\nfedora\n"))),
    "man-pages": Shape("3.53", "2.fc20", kind="data", license="GPL+"),
    "mdadm": Shape("3.3", "4.fc20", units=("mdmonitor.service",),
                   files=(text_file("/etc/mdadm.conf", "# mdadm.conf\n"),)),
    "nfs-utils": Shape(
        "1.2.9", "2.0.fc20", "NFS utilities and supporting clients and daemons", kind="plain",
        requires=("rpcbind", "libtirpc", "keyutils-libs", "libevent"),
        units=("nfs-server.service",),
        files=(command("/usr/sbin/rpc.nfsd"), text_file("/etc/exports", ""),
               directory("/var/lib/nfs")),
    ),
    "rpcbind": Shape(
        "0.2.1", "0.1.fc20", "Universal Addresses to RPC Program Number Converter", "BSD",
        kind="plain", requires=("libtirpc", "systemd"),
        users=(SystemUser("rpc", 32, "Rpcbind Daemon", "/var/lib/rpcbind"),),
        units=("rpcbind.service",),
        files=(command("/usr/sbin/rpcbind"),
               directory("/var/lib/rpcbind", mode=0o700, owner="rpc:rpc")),
    ),
    "libtirpc": Shape("0.2.4", "1.fc20", kind="plain", license="BSD",
                      libraries=_libs("libtirpc.so.1"),
                      files=(text_file("/etc/netconfig", "udp tpi_clts v inet udp - -\n"),)),
    "libevent": Shape("2.0.21", "3.fc20", kind="plain", license="BSD",
                      libraries=_libs("libevent-2.0.so.5")),
    "ntfs-3g": Shape("2013.1.13", "6.fc20", libraries=_libs("libntfs-3g.so.84")),
    "ntfsprogs": Shape("2013.1.13", "6.fc20", requires=(_so("libntfs-3g.so.84"),)),
    "PackageKit-yum-plugin": Shape("0.8.14", "1.fc20", kind="data", requires=("yum >= 3.0",)),
    "pam_krb5": Shape("2.4.8", "1.fc20", kind="data", noarch=False, license="BSD",
                      requires=("pam", _so("libkrb5.so.3"))),
    "pam_pkcs11": Shape("0.6.2", "14.fc20", kind="data", noarch=False, license="LGPLv2+",
                        requires=("pam", "nss")),
    "passwdqc": Shape("1.2.2", "5.fc20", kind="data", noarch=False, license="BSD",
                      requires=("pam",)),
    "prelink": Shape("0.5.0", "1.fc20",
                     files=(text_file("/etc/prelink.conf", "-b /usr/lib/locale\n"),
                            text_file("/etc/sysconfig/prelink", "PRELINKING=no\n"))),
    "realmd": Shape("0.14.6", "1.fc20", license="LGPLv2+",
                    requires=("dbus", "polkit", "authconfig")),
    "setuptool": Shape("1.19.11", "8.fc20", requires=("newt",)),
    "newt": Shape("0.52.16", "2.fc20", kind="plain", license="LGPLv2",
                  requires=("slang",), libraries=_libs("libnewt.so.0.52")),
    "slang": Shape("2.2.4", "9.fc20", kind="plain", libraries=_libs("libslang.so.2")),
    "smartmontools": Shape("6.2", "1.fc20", units=("smartd.service",),
                           files=(directory("/etc/smartmontools"),
                                  text_file("/etc/smartmontools/smartd.conf", "DEVICESCAN\n"))),
    "sos": Shape("3.0", "3.fc20", kind="data", requires=("python",)),
    "fpaste": Shape("0.3.7.2", "1.fc20", requires=("python",)),
    "sssd": Shape(
        "1.11.3", "1.fc20", "System Security Services Daemon", kind="plain",
        requires=("sssd-common = {evr}", "sssd-ldap = {evr}", "sssd-krb5 = {evr}",
                  "sssd-ipa = {evr}", "sssd-ad = {evr}", "sssd-proxy = {evr}"),
    ),
    "sssd-common": Shape(
        "1.11.3", "1.fc20", "Common files for the SSSD", kind="plain",
        requires=("libsss_idmap = {evr}", "systemd", "pam", "libtalloc"), units=("sssd.service",),
        files=(command("/usr/sbin/sssd"), directory("/etc/sssd", mode=0o700),
               directory("/var/lib/sss"), directory("/var/log/sssd", mode=0o750)),
    ),
    "sssd-krb5-common": Shape("1.11.3", "1.fc20", kind="data", noarch=False,
                              requires=("sssd-common = {evr}", _so("libkrb5.so.3"))),
    "sssd-ldap": Shape("1.11.3", "1.fc20", kind="data", noarch=False,
                       requires=("sssd-krb5-common = {evr}", "openldap")),
    "sssd-krb5": Shape("1.11.3", "1.fc20", kind="data", noarch=False,
                       requires=("sssd-krb5-common = {evr}",)),
    "sssd-ipa": Shape("1.11.3", "1.fc20", kind="data", noarch=False,
                      requires=("sssd-krb5-common = {evr}", "libipa_hbac = {evr}")),
    "sssd-ad": Shape("1.11.3", "1.fc20", kind="data", noarch=False,
                     requires=("sssd-krb5-common = {evr}", "samba-libs")),
    "sssd-proxy": Shape("1.11.3", "1.fc20", kind="data", noarch=False,
                        requires=("sssd-common = {evr}",)),
    "libsss_idmap": Shape("1.11.3", "1.fc20", kind="plain", license="LGPLv3+",
                          libraries=_libs("libsss_idmap.so.0")),
    "libipa_hbac": Shape("1.11.3", "1.fc20", kind="plain", license="LGPLv3+",
                         libraries=_libs("libipa_hbac.so.0")),
    "openldap": Shape("2.4.38", "1.fc20", kind="plain", license="OpenLDAP",
                      requires=("nss", "cyrus-sasl-lib"),
                      libraries=_libs("libldap-2.4.so.2", "liblber-2.4.so.2"),
                      files=(directory("/etc/openldap"),
                             text_file("/etc/openldap/ldap.conf",
                                       "TLS_CACERTDIR /etc/openldap/certs\n"))),
    "samba-libs": Shape("4.1.3", "2.fc20", kind="plain", license="GPLv3+",
                        requires=("libtalloc", "krb5-libs"), libraries=_libs("libsmbclient.so.0")),
    "samba": Shape("4.1.3", "2.fc20", license="GPLv3+",
                   requires=("samba-libs = {evr}", "samba-common"),
                   units=("smb.service",), files=(command("/usr/sbin/smbd"),)),
    "samba-common": Shape("4.1.3", "2.fc20", kind="plain", noarch=True, license="GPLv3+",
                          files=(directory("/etc/samba"),
                                 text_file("/etc/samba/smb.conf",
                                           "[global]\n\tworkgroup = MYGROUP\n"))),
    "samba-python": Shape("4.1.3", "2.fc20", kind="data", noarch=False, license="GPLv3+",
                          requires=("samba-libs = {evr}", "python")),
    "stunnel": Shape("4.56", "3.fc20", requires=(_so("libssl.so.10"),),
                     files=(directory("/etc/stunnel"),)),
    "tcp_wrappers": Shape("7.6", "76.fc20", license="BSD", requires=("tcp_wrappers-libs = {evr}",)),
    "tcp_wrappers-libs": Shape("7.6", "76.fc20", kind="plain", license="BSD",
                               libraries=_libs("libwrap.so.0"),
                               files=(text_file("/etc/hosts.allow", "# hosts.allow\n"),
                                      text_file("/etc/hosts.deny", "# hosts.deny\n"))),
    "tcpdump": Shape("4.5.1", "1.fc20", license="BSD", requires=("libpcap",),
                     users=(SystemUser("tcpdump", 72, "tcpdump", "/"),)),
    "libpcap": Shape("1.5.2", "1.fc20", kind="plain", license="BSD",
                     libraries=_libs("libpcap.so.1")),
    "wget": Shape("1.14", "10.fc20", license="GPLv3+", requires=(_so("libssl.so.10"), "libidn"),
                  files=(text_file("/etc/wgetrc", "# wgetrc\n"),)),
    "wireless-tools": Shape("29", "10.1.fc20", libraries=_libs("libiw.so.29")),
    "words": Shape(
        "3.0", "22.fc20", "A dictionary of English words for the /usr/share/dict directory",
        "Public Domain", kind="plain", noarch=True,
        files=(directory("/usr/share/dict"),
               text_file("/usr/share/dict/linux.words", "".join(f"{w}\n" for w in WORDS)),
               symlink("/usr/share/dict/words", "linux.words")),
    ),
    "yum-langpacks": Shape("0.4.2", "1.fc20", kind="data", requires=("yum",)),
    "yum-utils": Shape("1.1.31", "18.fc20", kind="plain", noarch=True,
                       requires=("yum >= 3.2.29", "python"),
                       files=commands("/usr/bin/yumdownloader", "/usr/bin/repoquery")),
    "nano": Shape("2.3.2", "4.fc20", license="GPLv3+", requires=(_so("libncursesw.so.5"),),
                  files=(text_file("/etc/nanorc", "set nowrap\n"),)),
    "jwhois": Shape("4.0", "33.fc20", license="GPLv3",
                    files=(text_file("/etc/jwhois.conf", "# jwhois\n"),)),
    "lftp": Shape("4.4.10", "1.fc20", license="GPLv3+", requires=(_so("libreadline.so.6"),),
                  files=(text_file("/etc/lftp.conf", "set ssl:verify-certificate no\n"),)),
    "irqbalance": Shape("1.0.7", "1.fc20", units=("irqbalance.service",),
                        files=(text_file("/etc/sysconfig/irqbalance", "IRQBALANCE_ONESHOT=\n"),)),
    "biosdevname": Shape("0.5.0", "2.fc20", requires=("pciutils-libs",)),
    # --- freeipa-server and what it pulls in --------------------------------------------
    "freeipa-server": Shape(
        "3.3.3", "2.fc20", "The IPA authentication server", kind="plain",
        requires=("freeipa-python = {evr}", "freeipa-client = {evr}", "389-ds-base >= 1.3.2.8",
                  "krb5-server >= 1.11", "httpd", "mod_nss", "mod_auth_kerb", "pki-ca >= 10.1.0",
                  "certmonger", "ntp", "slapi-nis", "python-ldap", "sssd"),
        units=("ipa.service",),
        files=(*commands("/usr/sbin/ipa-server-install", "/usr/sbin/ipactl"),
               directory("/etc/ipa"), directory("/var/lib/ipa", mode=0o700)),
    ),
    "freeipa-server-strict": Shape("3.3.3", "2.fc20", kind="plain",
                                   requires=("freeipa-server = {evr:freeipa-server}",
                                             "389-ds-base = {evr:389-ds-base}")),
    "freeipa-server-trust-ad": Shape("3.3.3", "2.fc20", kind="plain",
                                     requires=("freeipa-server = {evr:freeipa-server}",
                                               "samba-python", "samba"),
                                     files=commands("/usr/sbin/ipa-adtrust-install")),
    "freeipa-client": Shape("3.3.3", "2.fc20", requires=("freeipa-python = {evr}", "sssd",
                                                         "certmonger", "ntp", "krb5-workstation"),
                            files=commands("/usr/sbin/ipa-client-install")),
    "freeipa-python": Shape("3.3.3", "2.fc20", kind="data", requires=("python", "python-ldap",
                                                                      "python-krbV")),
    "python-ldap": Shape("2.4.13", "2.fc20", kind="data", noarch=False, license="Python",
                         requires=("python", "openldap")),
    "python-krbV": Shape("1.0.90", "7.fc20", kind="data", noarch=False, license="LGPLv2",
                         requires=("python", _so("libkrb5.so.3"))),
    "389-ds-base": Shape(
        "1.3.2.8", "1.fc20", "389 Directory Server (base)", kind="plain",
        requires=("389-ds-base-libs = {evr}", "nss-tools", "cyrus-sasl-gssapi",
                  "perl-Mozilla-LDAP", "openldap", "systemd"),
        units=("dirsrv.target",),
        files=(command("/usr/sbin/ns-slapd"), directory("/etc/dirsrv"),
               directory("/var/lib/dirsrv"), directory("/var/log/dirsrv")),
    ),
    "389-ds-base-libs": Shape("1.3.2.8", "1.fc20", kind="plain", requires=("nss", "openldap"),
                              libraries=_libs("libslapd.so.0")),
    "perl-Mozilla-LDAP": Shape("1.5.3", "10.fc20", kind="data", license="MPLv1.1",
                               requires=("perl", "nss")),
    "perl": Shape("5.18.1", "289.fc20", license="GPL+", requires=("perl-libs = {evr}",)),
    "perl-libs": Shape("5.18.1", "289.fc20", kind="plain", license="GPL+",
                       libraries=_libs("libperl.so")),
    "krb5-server": Shape(
        "1.11.3", "31.fc20", "The KDC and related programs for Kerberos 5", "MIT", kind="plain",
        requires=("krb5-libs = {evr}", "words", "systemd"), units=("krb5kdc.service",),
        files=(command("/usr/sbin/krb5kdc"), directory("/var/kerberos"),
               directory("/var/kerberos/krb5kdc"),
               text_file("/var/kerberos/krb5kdc/kdc.conf", "[kdcdefaults]\n kdc_ports = 88\n",
                         mode=0o600, config=True)),
    ),
    "krb5-workstation": Shape("1.11.3", "31.fc20", license="MIT", requires=("krb5-libs = {evr}",),
                              files=commands("/usr/bin/kinit", "/usr/bin/klist")),
    "httpd": Shape(
        "2.4.6", "6.fc20", "Apache HTTP Server", "ASL 2.0", kind="plain",
        requires=("httpd-tools = {evr}", "apr", "system-logos >= 7.92.1", "systemd"),
        users=(SystemUser("apache", 48, "Apache", "/usr/share/httpd"),),
        units=("httpd.service",),
        files=(command("/usr/sbin/httpd"), directory("/etc/httpd"), directory("/etc/httpd/conf"),
               directory("/etc/httpd/conf.d"),
               text_file("/etc/httpd/conf/httpd.conf", "ServerRoot \"/etc/httpd\"\nListen 80\n"),
               directory("/var/log/httpd", mode=0o700), directory("/var/www"),
               directory("/var/www/html"), directory("/usr/share/httpd")),
    ),
    "httpd-tools": Shape("2.4.6", "6.fc20", license="ASL 2.0", requires=("apr",),
                         files=commands("/usr/bin/htpasswd")),
    "apr": Shape("1.4.8", "2.fc20", kind="plain", license="ASL 2.0",
                 libraries=_libs("libapr-1.so.0")),
    "mod_nss": Shape("1.0.8", "27.fc20", kind="plain", license="ASL 2.0",
                     requires=("httpd", "nss-tools"),
                     files=(text_file("/etc/httpd/conf.d/nss.conf", "Listen 8443\n"),)),
    "mod_auth_kerb": Shape("5.4", "28.fc20", kind="plain", license="BSD",
                           requires=("httpd", _so("libgssapi_krb5.so.2")),
                           files=(text_file("/etc/httpd/conf.d/auth_kerb.conf", "# auth_kerb\n"),)),
    "pki-ca": Shape("10.1.0", "1.fc20", kind="data", requires=("pki-server = {evr}",)),
    "pki-server": Shape("10.1.0", "1.fc20", kind="plain", noarch=True,
                        requires=("java-headless", "nss-tools"),
                        files=commands("/usr/sbin/pkispawn")),
    "java-1.7.0-openjdk-headless": Shape(
        "1.7.0.60", "2.4.3.0.fc20", "The OpenJDK runtime environment without audio and video",
        "ASL 1.1 and GPL+", kind="plain",
        requires=("tzdata-java", "nss", "ca-certificates"),
        provides=("java-headless = 1:1.7.0", "jre-headless = 1:1.7.0"),
        files=(directory("/usr/lib/jvm"), directory("/usr/lib/jvm/jre-1.7.0-openjdk"),
               text_file("/usr/lib/jvm/jre-1.7.0-openjdk/release", 'JAVA_VERSION="1.7.0"\n')),
    ),
    "java-1.7.0-openjdk": Shape("1.7.0.60", "2.4.3.0.fc20", kind="plain",
                                license="ASL 1.1 and GPL+",
                                requires=("java-1.7.0-openjdk-headless = {evr}",),
                                provides=("java = 1:1.7.0", "jre = 1:1.7.0"),
                                files=commands("/usr/lib/jvm/jre-1.7.0-openjdk/bin/java")),
    "tzdata-java": Shape("2013h", "1.fc20", kind="data", license="Public Domain"),
    "certmonger": Shape("0.70", "1.fc20", requires=("dbus", "nss"), units=("certmonger.service",)),
    "ntp": Shape("4.2.6p5", "15.fc20", license="MIT", units=("ntpd.service",),
                 files=(text_file("/etc/ntp.conf", "server 0.fedora.pool.ntp.org iburst\n"),
                        directory("/var/lib/ntp"))),
    "slapi-nis": Shape("0.50", "1.fc20", kind="data", noarch=False, requires=("389-ds-base",)),
    "bind-dyndb-ldap": Shape("3.5", "2.fc20", kind="plain",
                             requires=("bind >= 9.9.4", _so("libldap-2.4.so.2")),
                             files=(directory("/usr/lib64/bind"),
                                    text_file("/usr/lib64/bind/ldap.so.txt",
                                              "bind ldap plugin\n"))),
    # --- docker-io --------------------------------------------------------------------
    "docker-io": Shape(
        "0.7.0", "14.fc20", "Automates deployment of containerized applications", "ASL 2.0",
        kind="plain",
        requires=("device-mapper-libs >= 1.02.82", "systemd", "iptables", "lxc", "tar", "xz",
                  _so("libsqlite3.so.0")),
        provides=("lxc-docker = {evr}",), units=("docker.service",),
        files=(command("/usr/bin/docker"),
               text_file("/etc/sysconfig/docker", "OPTIONS=--selinux-enabled\n"),
               directory("/var/lib/docker", mode=0o700)),
    ),
    "lxc": Shape("0.9.0", "3.fc20", license="LGPLv2+", requires=("lxc-libs = {evr}",),
                 files=commands("/usr/bin/lxc-start", "/usr/bin/lxc-ls")),
    "lxc-libs": Shape("0.9.0", "3.fc20", kind="plain", license="LGPLv2+",
                      libraries=_libs("liblxc.so.0")),
    "sqlite": Shape("3.8.3", "1.fc20", kind="plain", license="Public Domain",
                    libraries=_libs("libsqlite3.so.0"), files=commands("/usr/bin/sqlite3")),
    # --- GNOME --------------------------------------------------------------------------
    "gnome-shell": Shape(
        "3.10.2.1", "3.fc20", "Window management and application launching for GNOME",
        requires=("mutter >= 3.10.1", "gjs >= 1.38.1", "glib2 >= 2.38", "gtk3 >= 3.7.9",
                  "gnome-session", "gnome-settings-daemon", "gnome-desktop3",
                  "at-spi2-atk", "NetworkManager-glib", "polkit >= 0.100",
                  "gsettings-desktop-schemas >= 3.7.4", "dconf"),
    ),
    "gnome-session-xsession": Shape("3.10.1", "1.fc20", kind="data",
                                    requires=("gnome-session = {evr:gnome-session}",)),
    "gnome-settings-daemon": Shape("3.10.2", "1.fc20", license="GPLv2+",
                                   requires=("gnome-desktop3", "libcanberra-gtk3", "upower",
                                             "dconf")),
    "upower": Shape("0.9.23", "1.fc20", requires=("dbus", "polkit"),
                    units=("upower.service",), libraries=_libs("libupower-glib.so.1")),
    "control-center": Shape("3.10.2", "1.fc20", requires=("gnome-settings-daemon >= 3.9.91",
                                                          "gnome-online-accounts")),
    "gnome-online-accounts": Shape("3.10.2", "1.fc20", kind="plain", license="LGPLv2+",
                                   requires=("libsoup", "json-glib"),
                                   libraries=_libs("libgoa-1.0.so.0")),
    "gdm": Shape(
        "3.10.0.1", "1.fc20", "The GNOME Display Manager", kind="plain",
        requires=("gnome-session", "gnome-shell", "accountsservice", "pam", "systemd",
                  "system-logos"),
        users=(SystemUser("gdm", 42, "GNOME Display Manager", "/var/lib/gdm"),),
        units=("gdm.service",),
        files=(command("/usr/sbin/gdm"), directory("/etc/gdm"),
               text_file("/etc/gdm/custom.conf", "[daemon]\n"),
               text_file("/etc/pam.d/gdm-password", "auth include system-auth\n"),
               directory("/var/lib/gdm", mode=0o1770, owner="gdm:gdm")),
    ),
    "accountsservice": Shape("0.6.35", "1.fc20", requires=("polkit", "shadow-utils"),
                             libraries=_libs("libaccountsservice.so.0"),
                             units=("accounts-daemon.service",)),
    "nautilus": Shape("3.10.1", "1.fc20", requires=("nautilus-extensions = {evr}", "gvfs",
                                                    "gsettings-desktop-schemas", "tracker"),
                      files=(icon("nautilus"),
                             schema("org.gnome.nautilus.preferences", "show-hidden-files", "b",
                                    "false"))),
    "nautilus-extensions": Shape("3.10.1", "1.fc20", kind="plain", license="LGPLv2+",
                                 requires=("glib2",),
                                 libraries=_libs("libnautilus-extension.so.1")),
    "tracker": Shape("0.16.4", "1.fc20", requires=("sqlite", "glib2"),
                     libraries=_libs("libtracker-sparql-0.16.so.0")),
    "gvfs": Shape("1.18.3", "1.fc20", license="LGPLv2+", requires=("glib2 >= 2.38", "udisks2"),
                  files=commands("/usr/libexec/gvfsd")),
    "udisks2": Shape("2.1.1", "1.fc20", requires=("dbus", "polkit", "util-linux"),
                     units=("udisks2.service",)),
    "evince": Shape("3.10.3", "1.fc20", requires=("evince-libs = {evr}",)),
    "evince-libs": Shape("3.10.3", "1.fc20", kind="plain", requires=("gtk3",),
                         libraries=_libs("libevdocument3.so.4", "libevview3.so.3")),
    "evince-nautilus": Shape("3.10.3", "1.fc20", kind="data", noarch=False,
                             requires=("evince = {evr:evince}", "nautilus-extensions")),
    "brasero": Shape("3.10.0", "1.fc20", requires=("gstreamer1",)),
    "brasero-nautilus": Shape("3.10.0", "1.fc20", kind="data", noarch=False,
                              requires=("brasero = {evr:brasero}", "nautilus-extensions")),
    "file-roller": Shape("3.10.2.1", "1.fc20", requires=("libarchive",)),
    "file-roller-nautilus": Shape("3.10.2.1", "1.fc20", kind="data", noarch=False,
                                  requires=("file-roller = {evr:file-roller}",
                                            "nautilus-extensions")),
    "totem": Shape("3.10.1", "1.fc20", requires=("gstreamer1-plugins-base", "clutter-gst2")),
    "totem-nautilus": Shape("3.10.1", "1.fc20", kind="data", noarch=False,
                            requires=("totem = {evr:totem}", "nautilus-extensions")),
    "totem-mozplugin": Shape("3.10.1", "1.fc20", kind="data", noarch=False,
                             requires=("totem = {evr:totem}", "mozilla-filesystem")),
    "gstreamer1": Shape("1.2.1", "1.fc20", kind="plain", license="LGPLv2+",
                        requires=("glib2",), libraries=_libs("libgstreamer-1.0.so.0")),
    "gstreamer1-plugins-base": Shape("1.2.1", "1.fc20", kind="plain", license="LGPLv2+",
                                     requires=("gstreamer1",),
                                     libraries=_libs("libgstvideo-1.0.so.0")),
    "clutter-gst2": Shape("2.0.8", "1.fc20", kind="plain", license="LGPLv2+",
                          requires=("clutter", "gstreamer1-plugins-base"),
                          libraries=_libs("libclutter-gst-2.0.so.0")),
    "cheese": Shape("3.10.2", "1.fc20", requires=("clutter-gst2", "gnome-desktop3")),
    "rhythmbox": Shape("3.0.1", "1.fc20", requires=("gstreamer1-plugins-base", "libsoup")),
    "caribou": Shape("0.4.12", "1.fc20", license="LGPLv2+", requires=("python3", "clutter")),
    "caribou-gtk2-module": Shape("0.4.12", "1.fc20", kind="data", noarch=False,
                                 requires=("caribou = {evr:caribou}", "gtk2")),
    "caribou-gtk3-module": Shape("0.4.12", "1.fc20", kind="data", noarch=False,
                                 requires=("caribou = {evr:caribou}",)),
    "gvfs-afc": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                      requires=("gvfs = {evr:gvfs}",)),
    "gvfs-afp": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                      requires=("gvfs = {evr:gvfs}",)),
    "gvfs-archive": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                          requires=("gvfs = {evr:gvfs}", "libarchive")),
    "gvfs-fuse": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                      requires=("gvfs = {evr:gvfs}",)),
    "gvfs-goa": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                      requires=("gvfs = {evr:gvfs}", "gnome-online-accounts")),
    "gvfs-gphoto2": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                          requires=("gvfs = {evr:gvfs}",)),
    "gvfs-mtp": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                      requires=("gvfs = {evr:gvfs}",)),
    "gvfs-smb": Shape("1.18.3", "1.fc20", kind="data", noarch=False,
                      requires=("gvfs = {evr:gvfs}", "samba-libs")),
    "evolution": Shape("3.10.3", "1.fc20", requires=("evolution-data-server", "gtkhtml3")),
    "evolution-data-server": Shape("3.10.3", "1.fc20", kind="plain", license="LGPLv2+",
                                   requires=("libsoup", "nss", "sqlite"),
                                   libraries=_libs("libcamel-1.2.so.45", "libebook-1.2.so.14")),
    "gtkhtml3": Shape("4.6.6", "2.fc20", kind="plain", license="LGPLv2+", requires=("gtk3",),
                      libraries=_libs("libgtkhtml-4.0.so.0")),
    "evolution-ews": Shape("3.10.3", "1.fc20", kind="data", noarch=False,
                           requires=("evolution = {evr:evolution}",)),
    "evolution-help": Shape("3.10.3", "1.fc20", kind="data", license="GFDL",
                            requires=("evolution = {evr:evolution}",)),
    "empathy": Shape("3.10.2", "1.fc20", requires=("telepathy-mission-control", "telepathy-glib")),
    "telepathy-mission-control": Shape("5.16.0", "1.fc20", license="LGPLv2",
                                       requires=("telepathy-glib",)),
    "telepathy-glib": Shape("0.22.0", "1.fc20", kind="plain", license="LGPLv2+",
                            requires=("dbus-glib",), libraries=_libs("libtelepathy-glib.so.0")),
    "NetworkManager-l2tp": Shape("0.9.8", "1.fc20", kind="data", noarch=False,
                                 requires=("NetworkManager",)),
    "NetworkManager-openconnect": Shape("0.9.8.4", "1.fc20", kind="data", noarch=False,
                                        requires=("NetworkManager",)),
    "NetworkManager-openvpn-gnome": Shape("0.9.8.2", "3.fc20", kind="data", noarch=False,
                                          requires=("NetworkManager",)),
    "NetworkManager-pptp-gnome": Shape("0.9.8.2", "3.fc20", kind="data", noarch=False,
                                       requires=("NetworkManager",)),
    "NetworkManager-vpnc-gnome": Shape("0.9.8.2", "3.fc20", kind="data", noarch=False,
                                       requires=("NetworkManager",)),
    "nm-connection-editor": Shape("0.9.9.0", "4.git20131003.fc20",
                                  requires=("NetworkManager-glib",)),
    "PackageKit": Shape("0.8.14", "1.fc20", requires=("PackageKit-backend", "dbus", "polkit"),
                        units=("packagekit.service",),
                        files=(directory("/etc/PackageKit"),
                               text_file("/etc/PackageKit/PackageKit.conf", "[Daemon]\n"))),
    "PackageKit-yum": Shape("0.8.14", "1.fc20", kind="data", noarch=False,
                            requires=("PackageKit = {evr}", "yum >= 3.4.3"),
                            provides=("PackageKit-backend",)),
    "PackageKit-command-not-found": Shape("0.8.14", "1.fc20", kind="data", noarch=False,
                                          requires=("PackageKit = {evr:PackageKit}", "bash")),
    "PackageKit-gtk3-module": Shape("0.8.14", "1.fc20", kind="data", noarch=False,
                                    requires=("PackageKit = {evr:PackageKit}",)),
    "gnome-packagekit": Shape("3.10.1", "1.fc20", requires=("PackageKit",)),
    "gnome-software": Shape("3.10.4", "1.fc20", requires=("PackageKit", "gnome-desktop3")),
    "polkit-js-engine": Shape("0.112", "2.fc20", kind="data", noarch=False,
                              requires=("polkit = {evr:polkit}", "mozjs17")),
    "libproxy-mozjs": Shape("0.4.11", "8.fc20", kind="data", noarch=False, license="LGPLv2+",
                            requires=("libproxy = {evr:libproxy}", "mozjs17")),
    "libproxy": Shape("0.4.11", "8.fc20", kind="plain", license="LGPLv2+",
                      libraries=_libs("libproxy.so.1")),
    "libsane-hpaio": Shape("3.13.11", "1.fc20", kind="data", noarch=False,
                           requires=("sane-backends", "hplip-libs")),
    "hplip-libs": Shape("3.13.11", "1.fc20", kind="plain", libraries=_libs("libhpmud.so.0")),
    "sane-backends": Shape("1.0.24", "5.fc20", kind="plain", requires=("libusbx",),
                           libraries=_libs("libsane.so.1"),
                           files=(directory("/etc/sane.d"),
                                  text_file("/etc/sane.d/saned.conf", "# saned.conf\n"))),
    "sane-backends-drivers-scanners": Shape("1.0.24", "5.fc20", kind="data", noarch=False,
                                            requires=("sane-backends = {evr:sane-backends}",)),
    "setroubleshoot": Shape("3.2.14", "1.fc20", requires=("setroubleshoot-server",)),
    "setroubleshoot-server": Shape("3.2.14", "1.fc20", requires=("audit", "python", "dbus-python"),
                                   files=(directory("/var/lib/setroubleshoot", mode=0o700),
                                          text_file("/etc/setroubleshoot/setroubleshoot.conf",
                                                    "[base]\n"),
                                          directory("/etc/setroubleshoot"))),
    "abrt-desktop": Shape("2.1.10", "1.fc20", kind="data", requires=("abrt", "abrt-gui")),
    "abrt": Shape("2.1.10", "1.fc20", requires=("abrt-libs = {evr}", "dbus", "systemd"),
                  units=("abrtd.service",),
                  files=(directory("/etc/abrt"), text_file("/etc/abrt/abrt.conf", "# abrt\n"),
                         directory("/var/spool/abrt", mode=0o755))),
    "abrt-libs": Shape("2.1.10", "1.fc20", kind="plain", requires=("glib2",),
                       libraries=_libs("libabrt.so.0")),
    "abrt-gui": Shape("2.1.10", "1.fc20", requires=("abrt = {evr:abrt}", "gtk3")),
    "abrt-java-connector": Shape("1.0.6", "1.fc20", kind="data", noarch=False,
                                 requires=("abrt", "java-headless")),
    "orca": Shape("3.10.1", "1.fc20", license="LGPLv2+", requires=("python3", "at-spi2-core",
                                                                   "speech-dispatcher")),
    "speech-dispatcher": Shape("0.8", "4.fc20", requires=("glib2",),
                               libraries=_libs("libspeechd.so.2")),
    "transmission-gtk": Shape("2.82", "1.fc20", requires=("transmission-common = {evr}",
                                                          _so("libcurl.so.4"))),
    "transmission-common": Shape("2.82", "1.fc20", kind="data"),
    "glib-networking": Shape("2.38.2", "1.fc20", kind="data", noarch=False, license="LGPLv2+",
                             requires=("glib2 >= 2.38", "gnutls", "ca-certificates")),
    "gnutls": Shape("3.1.17", "1.fc20", kind="plain", license="LGPLv2+", requires=("nettle",),
                    libraries=_libs("libgnutls.so.28")),
    "nettle": Shape("2.7.1", "2.fc20", kind="plain", license="LGPLv2+",
                    libraries=_libs("libnettle.so.4")),
    "gnome-boxes": Shape("3.10.2", "1.fc20", license="LGPLv2+",
                         requires=("libvirt-client", "spice-gtk3", "gnome-online-accounts")),
    "spice-gtk3": Shape("0.22", "1.fc20", kind="plain", license="LGPLv2+", requires=("gtk3",),
                        libraries=_libs("libspice-client-gtk-3.0.so.4")),
    "gnome-documents": Shape("3.10.1", "1.fc20", requires=("gjs", "evince-libs", "tracker")),
    "gnome-photos": Shape("3.10.2", "1.fc20", requires=("tracker", "gnome-online-accounts")),
    "gnome-maps": Shape("3.10.2", "1.fc20", requires=("gjs", "geoclue2")),
    "geoclue2": Shape("2.1.2", "1.fc20", requires=("dbus",), units=("geoclue.service",)),
    "gnome-weather": Shape("3.10.1", "1.fc20", requires=("gjs",)),
    "gnome-contacts": Shape("3.10.1", "1.fc20", requires=("evolution-data-server",)),
    "gnome-initial-setup": Shape("0.12", "8.fc20", requires=("gdm", "gnome-online-accounts")),
    "gnome-terminal": Shape("3.10.2", "1.fc20", requires=("vte3", "gsettings-desktop-schemas"),
                            files=(icon("gnome-terminal"),
                                   schema("org.gnome.Terminal.Legacy.Settings", "confirm-close",
                                          "b", "true"))),
    "vte3": Shape("0.34.9", "1.fc20", kind="plain", license="LGPLv2+", requires=("gtk3",),
                  libraries=_libs("libvte2_90.so.9")),
    "yelp": Shape("3.10.1", "1.fc20", requires=("yelp-libs = {evr}", "yelp-xsl")),
    "yelp-libs": Shape("3.10.1", "1.fc20", kind="plain", requires=("gtk3",),
                       libraries=_libs("libyelp.so.0")),
    "yelp-xsl": Shape("3.10.1", "1.fc20", kind="data"),
    "seahorse": Shape("3.10.2", "1.fc20", requires=("gnupg2", "gpgme")),
    "deja-dup": Shape("29.1", "1.fc20", license="GPLv3+", requires=("duplicity",)),
    "duplicity": Shape("0.6.22", "1.fc20", requires=("python", "gnupg2")),
    "gnome-icon-theme": Shape("3.10.0", "1.fc20", kind="data", requires=("hicolor-icon-theme",)),
    "gnome-icon-theme-extras": Shape("3.6.2", "3.fc20", kind="data",
                                     requires=("gnome-icon-theme",)),
    "gnome-icon-theme-symbolic": Shape("3.10.1", "1.fc20", kind="data",
                                       requires=("gnome-icon-theme",)),
    "gnome-themes-standard": Shape("3.10.0", "1.fc20", kind="data", license="LGPLv2+"),
    "gnome-backgrounds": Shape("3.10.0", "1.fc20", kind="data"),
    "desktop-backgrounds-basic": Shape("20.0.0", "1.fc20", kind="data", license="LGPLv2"),
    "gnome-getting-started-docs": Shape("3.10.2", "1.fc20", kind="data", license="CC-BY-SA"),
    "gnome-user-docs": Shape("3.10.2", "1.fc20", kind="data", license="CC-BY-SA"),
    "xdg-user-dirs-gtk": Shape("0.10", "2.fc20", requires=("xdg-user-dirs",)),
    "xdg-user-dirs": Shape("0.15", "2.fc20",
                           files=(directory("/etc/xdg"),
                                  text_file("/etc/xdg/user-dirs.conf", "enabled=True\n"))),
    # --- firefox, LibreOffice, games ----------------------------------------------------
    "firefox": Shape(
        "26.0", "2.fc20", "Mozilla Firefox Web browser", "MPLv1.1 or GPLv2+ or LGPLv2+",
        requires=("nss >= 3.15.3", "nspr >= 4.10.2", "mozilla-filesystem", "gtk2",
                  "dbus-glib", "sqlite"),
        provides=("webclient",), files=(icon("firefox"),),
    ),
    "mozilla-filesystem": Shape("1.9", "10.fc20", kind="plain", license="MPLv1.1",
                                files=(directory("/usr/lib64/mozilla"),
                                       directory("/usr/lib64/mozilla/plugins"))),
    "icedtea-web": Shape("1.4.1", "1.fc20", requires=("java = 1:1.7.0", "mozilla-filesystem")),
    "libreoffice-core": Shape(
        "4.1.4.2", "2.fc20", "Core modules for LibreOffice", "(MPLv1.1 or LGPLv3+)",
        kind="plain",
        requires=("libreoffice-ure = {evr}", "libreoffice-opensymbol-fonts = {evr}", "gtk2",
                  "nss", "cairo", "dejavu-sans-fonts"),
        libraries=_libs("libmergedlo.so"),
        files=commands("/usr/bin/libreoffice", "/usr/bin/soffice"),
    ),
    "libreoffice-ure": Shape("4.1.4.2", "2.fc20", kind="plain", license="(MPLv1.1 or LGPLv3+)",
                             libraries=_libs("libuno_sal.so.3")),
    "libreoffice-opensymbol-fonts": Shape("4.1.4.2", "2.fc20", kind="data",
                                          license="(MPLv1.1 or LGPLv3+)",
                                          requires=("fontpackages-filesystem",),
                                          provides=("font(opensymbol)",)),
    "virt-install": Shape("0.10.0", "8.fc20", kind="plain", noarch=True,
                          requires=("virt-manager-common = {evr}", "python"),
                          files=commands("/usr/bin/virt-install", "/usr/bin/virt-clone")),
    "virt-manager-common": Shape("0.10.0", "8.fc20", kind="data",
                                 requires=("libvirt-python", "python")),
    "virt-manager": Shape("0.10.0", "8.fc20", noarch=True,
                          requires=("virt-manager-common = {evr}", "gtk3", "libvirt-client")),
    "virt-viewer": Shape("0.5.7", "1.fc20", requires=("spice-gtk3", "libvirt-client")),
    "libvirt-python": Shape("1.1.3.1", "2.fc20", kind="data", noarch=False, license="LGPLv2+",
                            requires=("libvirt-client", "python")),
    "libvirt-client": Shape("1.1.3.1", "2.fc20", kind="plain", license="LGPLv2+",
                            requires=(_so("libdevmapper.so.1.02"), "gnutls", "cyrus-sasl-lib"),
                            libraries=_libs("libvirt.so.0"),
                            files=(command("/usr/bin/virsh"), directory("/etc/libvirt"),
                                   text_file("/etc/libvirt/libvirt.conf", "# libvirt.conf\n"))),
    "libvirt-daemon": Shape(
        "1.1.3.1", "2.fc20", "Server side daemon and supporting files for libvirt", "LGPLv2+",
        kind="plain", requires=("libvirt-client = {evr}", "systemd", "iptables", "dnsmasq",
                                "bridge-utils"),
        units=("libvirtd.service",),
        files=(command("/usr/sbin/libvirtd"),
               text_file("/etc/libvirt/libvirtd.conf", "# libvirtd.conf\n"),
               directory("/var/lib/libvirt"), directory("/var/log/libvirt", mode=0o700)),
    ),
    "libvirt-daemon-kvm": Shape("1.1.3.1", "2.fc20", kind="plain", license="LGPLv2+",
                                requires=("libvirt-daemon = {evr:libvirt-daemon}", "qemu-kvm")),
    "libvirt-daemon-config-network": Shape(
        "1.1.3.1", "2.fc20", kind="plain", license="LGPLv2+",
        requires=("libvirt-daemon = {evr:libvirt-daemon}",),
        files=(directory("/etc/libvirt/qemu"), directory("/etc/libvirt/qemu/networks"),
               text_file("/etc/libvirt/qemu/networks/default.xml",
                         "<network>\n  <name>default</name>\n</network>\n", mode=0o600)),
    ),
    "dnsmasq": Shape("2.68", "1.fc20", users=(SystemUser("dnsmasq", 986, "dnsmasq", "/"),),
                     files=(text_file("/etc/dnsmasq.conf", "# dnsmasq.conf\n"),)),
    "qemu-kvm": Shape("1.6.1", "2.fc20", requires=("qemu-system-x86 = {evr}",)),
    "qemu-system-x86": Shape("1.6.1", "2.fc20", requires=("qemu-common = {evr}", "glib2",
                                                          _so("libz.so.1")),
                             files=commands("/usr/bin/qemu-system-x86_64")),
    "qemu-common": Shape("1.6.1", "2.fc20", kind="data", noarch=False,
                         users=(SystemUser("qemu", 107, "qemu user", "/"),),
                         groups=(SystemGroup("kvm", 36),)),
    # --- development-tools ----------------------------------------------------------------
    "git": Shape("1.8.4.2", "1.fc20", "Fast Version Control System", "GPLv2",
                 requires=("perl-Git = {evr}", "less", "openssh-clients", _so("libcurl.so.4")),
                 files=(symlink("/usr/bin/git-receive-pack", "git"),
                        directory("/usr/libexec/git-core"))),
    "perl-Git": Shape("1.8.4.2", "1.fc20", kind="data", license="GPLv2", requires=("perl",)),
    "subversion": Shape("1.8.5", "1.fc20", license="ASL 2.0",
                        requires=("subversion-libs = {evr}",)),
    "subversion-libs": Shape("1.8.5", "1.fc20", kind="plain", license="ASL 2.0",
                             requires=("apr", "sqlite"), libraries=_libs("libsvn_client-1.so.0")),
    "systemtap": Shape("2.4", "1.fc20",
                       requires=("systemtap-devel = {evr}", "systemtap-runtime = {evr}")),
    "systemtap-devel": Shape("2.4", "1.fc20", requires=("gcc",)),
    "systemtap-runtime": Shape("2.4", "1.fc20",
                               users=(SystemUser("stap-server", 155, "Systemtap Compile Server",
                                                 "/var/lib/stap-server"),)),
    "gcc": Shape("4.8.2", "7.fc20", requires=("cpp = {evr}", "binutils >= 2.20.51"),
                 files=commands("/usr/bin/gcc", "/usr/bin/cc")),
    "cpp": Shape("4.8.2", "7.fc20"),
    "binutils": Shape("2.23.88.0.1", "13.fc20", license="GPLv3+",
                      files=commands("/usr/bin/ld", "/usr/bin/as", "/usr/bin/objdump")),
    "doxygen": Shape("1.8.5", "1.fc20"),
    "gettext": Shape("0.18.3.1", "1.fc20", license="GPLv3+", requires=("gettext-libs = {evr}",),
                     files=commands("/usr/bin/msgfmt", "/usr/bin/xgettext")),
    "gettext-libs": Shape("0.18.3.1", "1.fc20", kind="plain", license="LGPLv2+",
                          libraries=_libs("libgettextlib-0.18.3.so")),
    "cvs": Shape("1.11.23", "35.fc20"),
    "rcs": Shape("5.9.1", "1.fc20", license="GPLv3+"),
    "patchutils": Shape("0.3.3", "2.fc20", requires=("patch",)),
    "patch": Shape("2.7.1", "6.fc20", license="GPLv3+"),
    "diffstat": Shape("1.57", "3.fc20", license="MIT"),
    # --- layerable: in no tree; `fedostree install sample-editor` layers it with its two
    # dependencies, whose library, icon and schema fire glibc's, hicolor-icon-theme's and
    # glib2's file triggers ------------------------------------------------------------------
    "sample-editor": Shape(
        "3.10.0", "1.fc20", "A small GTK+ text editor to layer onto a fedostree tree",
        requires=(_so("libsample-widgets-1.0.so.0"), "sample-editor-data = {evr}", "gtk3"),
    ),
    "sample-editor-data": Shape(
        "3.10.0", "1.fc20", "The icon, settings schema and data of sample-editor", kind="data",
        requires=("hicolor-icon-theme", "glib2"),
        files=(icon("sample-editor"),
               schema("org.fedostree.SampleEditor", "wrap-lines", "b", "true")),
    ),
    "libsample-widgets": Shape(
        "1.2.0", "1.fc20", "Editor widgets for GTK+ 3", "LGPLv2+", kind="plain",
        requires=("gtk3 >= 3.10",), libraries=_libs("libsample-widgets-1.0.so.0"),
    ),
    # --- deliberately broken: its tree fails the build server's checks --------------------
    # The packager forgot the program its command links to (a dangling symlink in /usr).
    "brokenapp": Shape("0.1", "1.fc20", "An application whose package misses its program",
                       "MIT", kind="plain", requires=("filesystem",),
                       files=(symlink("/usr/bin/brokenapp", "../libexec/brokenapp/brokenapp"),)),
    # Deliberately unbootable: the tree passes every static check, but at boot the
    # package's boot-time check (run by the init from /usr/lib/fedostree/boot-checks.d)
    # finds its state missing, so the tree fails the `boot` check and stays unpublished.
    "brokenboot": Shape(
        "0.1", "1.fc20", "A service whose boot-time check fails", "MIT", kind="plain",
        requires=("systemd",),
        files=(directory("/usr/lib/fedostree"), directory("/usr/lib/fedostree/boot-checks.d"),
               text_file("/usr/lib/fedostree/boot-checks.d/brokenboot",
                         "#!/usr/bin/sh\necho 'brokenboot: /var/lib/brokenboot/state is missing'"
                         "\nexit 1\n", mode=0o755)),
    ),
}
# fmt: on
