"""What the stand-in universes share beyond the working core: Fedora's dependency web
(shaped after Fedora 40, the FCOS lockfile's release) and the recipe that turns a name and
a version into a stand-in: the table's requires, libc and `filesystem` as rpm's automatic
dependencies would add them, the core's and a universe's specials."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from fedostree.sample.plan import PlannedPackage
from fedostree.sample.shapes import symlink, text_file
from tests.support.standins import Content, Evra, parse_table, standin
from tests.support.standins_boot import BOOT
from tests.support.standins_os import (
    USERLAND,
    Accounts,
    Context,
    Special,
    accounts_scriptlet,
    preset,
)
from tests.support.standins_services import SERVICES

# NAME: what it Requires (package names, provides or file paths), besides `filesystem`
# and, for x86_64 packages, libc. Every package of the FCOS lockfile that its manifests do
# not name is required by one that is.
FEDORA_REQUIRES = parse_table("""
NetworkManager: NetworkManager-libnm dbus glib2 libndp jansson libselinux
NetworkManager-cloud-setup: NetworkManager
NetworkManager-libnm: glib2 libuuid
NetworkManager-team: NetworkManager teamd
NetworkManager-tui: NetworkManager newt
acl: libacl
adcli: cyrus-sasl-gssapi openldap krb5-libs
afterburn-dracut: afterburn dracut
alternatives: /usr/bin/bash
attr: libattr
audit: audit-libs audit-rules
audit-libs: libcap-ng
authselect: authselect-libs
bash: ncurses-libs
bind-libs: fstrm libmaxminddb protobuf-c libuv jemalloc openssl-libs
bind-utils: bind-libs
bootupd: efibootmgr
bsdtar: libarchive
btrfs-progs: lzo libzstd libuuid
bzip2: bzip2-libs
ca-certificates: p11-kit p11-kit-trust
chrony: gnutls libseccomp
cifs-utils: keyutils libwbclient
clevis: clevis-pin-tpm2 jose libjose tpm2-tools
clevis-dracut: clevis-systemd dracut-network
clevis-luks: clevis libluksmeta luksmeta cryptsetup
clevis-systemd: clevis-luks
console-login-helper-messages-issuegen: console-login-helper-messages
console-login-helper-messages-motdgen: console-login-helper-messages
console-login-helper-messages-profile: console-login-helper-messages
containers-common-extra: containers-common
coreos-installer: dosfstools
coreos-installer-bootinfra: coreos-installer dracut-squash
coreutils: coreutils-common gmp libacl libattr libselinux
cryptsetup: cryptsetup-libs
cryptsetup-libs: device-mapper-libs json-c libblkid
crun: yajl libseccomp libcap
curl: libcurl
cyrus-sasl-lib: gdbm gdbm-libs
dbus: dbus-broker dbus-common
dbus-broker: dbus-common audit-libs libcap-ng expat
device-mapper: device-mapper-libs
device-mapper-event: device-mapper
device-mapper-event-libs: device-mapper-event
device-mapper-libs: device-mapper
device-mapper-multipath: device-mapper-multipath-libs kpartx
dnsmasq: nettle
dracut: bash coreutils cpio findutils grep sed gawk procps-ng psmisc diffutils kmod systemd-udev util-linux
dracut-network: dracut iputils
dracut-squash: dracut squashfs-tools
e2fsprogs: e2fsprogs-libs libss libcom_err libblkid libuuid
efibootmgr: efivar-libs
elfutils-libs: elfutils-libelf elfutils-default-yama-scope
fedora-release-common: fedora-repos
fedora-release-coreos: fedora-release-common fedora-release-identity-coreos
fedora-repos: fedora-gpg-keys
fedora-repos-archive: fedora-repos
fedora-repos-ostree: fedora-repos
file: file-libs
fmt: libstdc++
fuse-overlayfs: fuse3 fuse3-libs
fuse-sshfs: fuse3 fuse3-libs
fuse3: fuse-common
fwupd: glib2 json-glib libgudev libgusb libjcat libxmlb passim-libs efivar-libs libusb1
gettext-runtime: gettext-libs gettext-envsubst
gettext-libs: libtextstyle
git-core: openssl-libs zlib-ng-compat libcurl pcre2
glib2: libffi libmount libselinux pcre2 shared-mime-info zlib-ng-compat
glibc: glibc-minimal-langpack
gnupg2: gnutls libassuan libgcrypt libgpg-error libksba npth readline
gnutls: nettle gmp libtasn1 libidn2 libunistring p11-kit crypto-policies
gpgme: libassuan gnupg2
grep: pcre2
grub2-efi-x64: grub2-tools-minimal
grub2-pc: grub2-pc-modules
grub2-tools: file
ignition: dosfstools gdisk dracut
iproute: libbpf libmnl elfutils-libelf
iproute-tc: iproute
iptables-legacy: iptables-legacy-libs
iptables-libs: libnetfilter_conntrack libnftnl
iptables-nft: libnftnl
iptables-services: iptables-utils
iptables-utils: libpcap
iscsi-initiator-utils: iscsi-initiator-utils-iscsiuio isns-utils-libs
irqbalance: numactl-libs
jose: libjose
jq: oniguruma
json-glib: glib2
kbd: kbd-misc kbd-legacy
kdump-utils: kexec-tools makedumpfile ethtool gawk libreport-filesystem
kernel-core: linux-firmware libkcapi-hmaccalc
libkcapi-hmaccalc: libkcapi-hasher
libkcapi-hasher: libkcapi
gawk: mpfr readline
newt: slang
avahi-libs: dbus-libs
kernel-modules-core: kernel-core
keyutils: keyutils-libs
kexec-tools: zlib-ng-compat
kmod: kmod-libs
kmod-libs: xz-libs libzstd
krb5-libs: keyutils-libs libcom_err libverto crypto-policies openssl-libs
libarchive: bzip2-libs lz4-libs xz-libs libzstd libxml2
libblkid: libuuid
libbsd: libmd
libcurl-minimal: libnghttp2 libpsl openssl-libs zlib-ng-compat
libedit: ncurses-libs
libfdisk: libblkid libuuid
libfido2: libcbor
libgcrypt: libgpg-error
libgusb: libusb1
libini_config: libbasicobjects libcollection libpath_utils libref_array
libjcat: gnutls json-glib
libldb: libtalloc libtdb libtevent lmdb-libs
libmodulemd: libyaml
libmount: libblkid
libnetfilter_conntrack: libnfnetlink libmnl
libnftnl: libmnl
libnl3-cli: libnl3
libpcap: libibverbs
libpsl: libidn2 libunistring publicsuffix-list-dafsa
libpwquality: cracklib
librepo: glib2 gpgme libcurl libxml2 zchunk-libs
libselinux: libsepol pcre2
libselinux-utils: libselinux
libsemanage: libselinux audit-libs
libslirp: glib2
libsmbclient: samba-client-libs
libsolv: libxml2 xz-libs
libstdc++: libgcc
libteam: libnl3 libnl3-cli
libtirpc: krb5-libs
libwbclient: samba-common-libs
libxmlb: glib2
logrotate: popt
lsof: libtirpc
luksmeta: libluksmeta
lvm2: lvm2-libs device-mapper-persistent-data libaio
lvm2-libs: device-mapper-event-libs device-mapper-libs
makedumpfile: elfutils-libs lzo snappy
mdadm: libreport-filesystem
moby-engine: containerd runc container-selinux iptables pigz
mokutil: efivar-libs
mpfr: gmp
nano-default-editor: nano
ncurses: ncurses-libs
ncurses-libs: ncurses-base
nettle: gmp
nfs-utils-coreos: keyutils libevent libnfsidmap rpcbind libtirpc sssd-nfs-idmap
nftables: jansson libnftnl readline
nmstate: NetworkManager-libnm
nvme-cli: libnvme
openldap: cyrus-sasl-lib openssl-libs
openssh: openssl-libs libfido2
openssh-clients: openssh libedit libfido2
openssh-server: openssh pam
openssl: openssl-libs
openssl-libs: ca-certificates crypto-policies zlib-ng-compat
ostree: ostree-libs composefs fuse-libs
ostree-libs: glib2 gpgme composefs-libs libcurl
composefs: composefs-libs
p11-kit: libffi libtasn1
p11-kit-trust: p11-kit
pam: pam-libs authselect libpwquality libnsl2
pam-libs: libeconf libxcrypt audit-libs
passt: passt-selinux
pciutils: pciutils-libs hwdata
pcre2: pcre2-syntax
pkgconf: libpkgconf
pkgconf-pkg-config: pkgconf pkgconf-m4
podman: conmon containers-common-extra crun container-selinux gpgme shadow-utils-subid catatonit
polkit: polkit-libs polkit-pkla-compat
polkit-libs: duktape glib2 expat
procps-ng: systemd-libs
readline: ncurses-libs
rpm: rpm-libs
rpm-libs: lua-libs popt rpm-sequoia sqlite-libs libarchive
rpm-ostree: rpm-ostree-libs ostree bubblewrap rpm
rpm-ostree-libs: librepo libsolv libmodulemd json-glib ostree-libs rpm-libs
rsync: xxhash-libs popt libacl lz4-libs libzstd
samba-client-libs: samba-common samba-common-libs libwbclient avahi-libs libbsd libicu glibc-gconv-extra
samba-common-libs: libtalloc libtevent libldb
selinux-policy-targeted: selinux-policy
sg3_utils: sg3_utils-libs
shadow-utils: libsemanage libxcrypt libeconf audit-libs
shared-mime-info: glib2 libxml2 pkgconf-pkg-config
shim-x64: mokutil
skopeo: containers-common gpgme
slirp4netns: libslirp libcap libseccomp
socat: openssl-libs readline
spdlog: fmt
sssd-ad: sssd-common sssd-common-pac sssd-krb5-common libsmbclient libsss_idmap samba-client-libs
sssd-client: libsss_nss_idmap
sssd-common: sssd-client libsss_idmap libsss_certmap libtalloc libtevent libldb c-ares libini_config libdhash sssd-nfs-idmap
sssd-common-pac: sssd-common
sssd-ipa: sssd-common sssd-common-pac sssd-krb5-common libipa_hbac libsss_certmap
sssd-krb5: sssd-common sssd-krb5-common
sssd-krb5-common: sssd-common krb5-libs cyrus-sasl-gssapi libtool-ltdl
sssd-ldap: sssd-common sssd-krb5-common
sudo: pam
systemd: systemd-libs systemd-pam dbus util-linux-core libseccomp cryptsetup-libs elfutils-libs
systemd-container: systemd
systemd-libs: libcap libgcrypt lz4-libs xz-libs libzstd
systemd-pam: pam
systemd-resolved: systemd
systemd-udev: systemd kmod-libs
tar: libacl libselinux
teamd: libteam libdaemon jansson
toolbox: podman flatpak-session-helper
tpm2-tools: tpm2-tss tpm2-tss-fapi libcurl
tpm2-tss: json-c
tpm2-tss-fapi: tpm2-tss
util-linux: util-linux-core libfdisk libsmartcols libutempter libselinux pam
util-linux-core: libmount libblkid libuuid
vim-minimal: vim-data
wasmedge-rt: spdlog fmt llvm-libs lld-libs libstdc++
llvm-libs: libffi libxml2 libstdc++
lld-libs: llvm-libs
xfsprogs: inih userspace-rcu libuuid
xz: xz-libs
zincati: rpm-ostree
zram-generator: systemd
zstd: libzstd
criu: protobuf-c libnet libnl3 gnutls criu-libs snappy
crypto-policies: alternatives
iptables-nft: alternatives
iptables-legacy: alternatives
amd-gpu-firmware: linux-firmware-whence
amd-ucode-firmware: linux-firmware-whence
atheros-firmware: linux-firmware-whence
brcmfmac-firmware: linux-firmware-whence
intel-gpu-firmware: linux-firmware-whence
linux-firmware: linux-firmware-whence
mt7xxx-firmware: linux-firmware-whence
nvidia-gpu-firmware: linux-firmware-whence
nxpwireless-firmware: linux-firmware-whence
qed-firmware: linux-firmware-whence
realtek-firmware: linux-firmware-whence
tiwilink-firmware: linux-firmware-whence
selinux-policy: rpm-plugin-selinux policycoreutils
policycoreutils: libselinux-utils libsemanage
rpm-plugin-selinux: rpm-libs libselinux
container-selinux: selinux-policy-targeted
passt-selinux: selinux-policy-targeted
libnsl2: libtirpc
""")


# Fedora's presets (fedora-release-common's 90-default.preset), for the units the stand-ins have.
FEDORA_PRESETS = [
    "enable sshd.service",
    "enable chronyd.service",
    "enable NetworkManager.service",
    "enable NetworkManager-dispatcher.service",
    "enable NetworkManager-wait-online.service",
    "enable auditd.service",
    "enable dbus-broker.service",
    "enable lvm2-monitor.service",
    "enable mdmonitor.service",
    "enable irqbalance.service",
    "enable sssd.service",
    "enable logrotate.timer",
    "enable fwupd-refresh.timer",
    "enable iscsid.socket",
    "enable rpm-ostree-countme.timer",
    "enable ostree-remount.service",
    "enable kdump.service",
    "enable podman.socket",
]


def make_standin(
    name: str,
    evra: Evra,
    accounts: Accounts,
    *,
    requires: tuple[str, ...] = (),
    recommends: tuple[str, ...] = (),
    specials: Mapping[str, Special],
) -> PlannedPackage:
    """The stand-in: requires (and `filesystem`, and libc for an x86_64 package, as rpm's
    dependency generators would add), the core's content, a service's, a special's."""
    ctx = Context(name, evra, accounts)
    implied: tuple[str, ...] = ("filesystem",) if name not in ("filesystem", "setup") else ()
    if evra.arch != "noarch" and not name.startswith("glibc"):
        implied += ("libc.so.6()(64bit)",)
    content = Content(requires=implied + requires, recommends=recommends) + accounts_scriptlet(ctx)
    for table in (USERLAND, BOOT, SERVICES, specials):
        if name in table:
            content += table[name](ctx)
    return standin(name, evra, content)


def close_over_requires(
    roots: Iterable[str], make: Callable[[str], PlannedPackage]
) -> list[PlannedPackage]:
    """make(name) for the roots and, transitively, for every package name they require
    (file paths and library sonames are left to the packages that ship them)."""
    packages: dict[str, PlannedPackage] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in packages:
            continue
        packages[name] = make(name)
        deps = (d.split()[0] for d in (*packages[name].requires, *packages[name].requires_pre))
        todo.extend(d for d in deps if not d.startswith("/") and "(" not in d)
    return [packages[name] for name in sorted(packages)]


def release_common(
    release: str, codename: str, presets: list[str], user_presets: list[str]
) -> Special:
    """fedora-release-common: /etc/os-release (a link to the variant's /usr/lib/os-release),
    system-release, Fedora's presets."""

    def special(ctx: Context) -> Content:
        return Content(
            provides=("system-release", f"system-release({release})"),
            files=(
                symlink("/etc/os-release", "../usr/lib/os-release"),
                text_file("/etc/fedora-release", f"Fedora release {release} ({codename})\n"),
                symlink("/etc/system-release", "fedora-release"),
                preset("/usr/lib/systemd/system-preset/90-default.preset", presets),
                preset("/usr/lib/systemd/user-preset/90-default-user.preset", user_presets),
            ),
        )

    return special
