"""Stand-ins for Fedora Silverblue (data/treefiles/upstream/workstation-ostree-config,
fedora-silverblue.yaml): every package the manifest names, and what their dependencies
pull in, at rawhide-like (Fedora 38) versions, as there is no lockfile. Silverblue keeps
Recommends, so the packages it excludes (PackageKit, openh264) are recommended by some,
and a few others (gnome-tour, p11-kit-server) come in only as Recommends."""

from __future__ import annotations

import re
from collections.abc import Iterable

from fedostree.sample.plan import PlannedPackage
from fedostree.sample.shapes import text_file
from tests.support.standins import WORKSTATION_CONFIG, Content, Evra, parse_table
from tests.support.standins_fedora import (
    FEDORA_PRESETS,
    FEDORA_REQUIRES,
    close_over_requires,
    make_standin,
    release_common,
)
from tests.support.standins_os import Accounts, Context, Special, script
from tests.support.standins_scripts import GLIBC_POST_UPGRADE
from tests.support.standins_services import MULTI_USER, service

RELEASE = "fc38"
# Versions of rawhide in January 2023 for the packages that matter; the rest are 1.0.
VERSIONS = {
    "bash": "5.2.15-1",
    "glibc": "2.36.9000-22",
    "glibc-common": "2.36.9000-22",
    "glibc-all-langpacks": "2.36.9000-22",
    "systemd": "252.4-598",
    "systemd-udev": "252.4-598",
    "systemd-resolved": "252.4-598",
    "systemd-libs": "252.4-598",
    "systemd-pam": "252.4-598",
    "systemd-oomd-defaults": "252.4-598",
    "kernel": "6.2.0-0.rc4.31",
    "kernel-core": "6.2.0-0.rc4.31",
    "kernel-modules": "6.2.0-0.rc4.31",
    "kernel-modules-core": "6.2.0-0.rc4.31",
    "kernel-modules-extra": "6.2.0-0.rc4.31",
    "gnome-shell": "44~alpha-1",
    "mutter": "44~alpha-1",
    "gdm": "1:43.0-5",
    "firefox": "108.0.2-1",
    "NetworkManager": "1:1.41.7-1",
    "NetworkManager-libnm": "1:1.41.7-1",
    "rpm-ostree": "2023.1-1",
    "rpm-ostree-libs": "2023.1-1",
    "ostree": "2022.7-2",
    "ostree-libs": "2022.7-2",
    "podman": "5:4.3.1-3",
    "flatpak": "1.15.1-1",
    "fedora-release-silverblue": "38-0.16",
    "fedora-release-common": "38-0.16",
    "fedora-release-identity-silverblue": "38-0.16",
    "coreutils": "9.1-10",
    "coreutils-common": "9.1-10",
    "filesystem": "3.18-3",
    "setup": "2.14.3-1",
    "glib2": "2.75.2-1",
    "gtk3": "3.24.36-1",
    "gtk4": "4.9.2-1",
    "pipewire": "0.3.64-1",
    "selinux-policy": "38.3-1",
    "selinux-policy-targeted": "38.3-1",
    "grub2-pc": "1:2.06-76",
    "grub2-efi-x64": "1:2.06-76",
    "grub2-tools": "1:2.06-76",
    "shim-x64": "15.6-2",
}
NOARCH = re.compile(
    r".*(-fonts|-firmware|-fonts-common|backgrounds.*|-docs|-filesystem|-data|-common-data)$"
    r"|fedora-(release|repos|bookmarks|chromium-config|gpg-keys).*|setup|basesystem|words"
    r"|man-pages|alsa-ucm|b43-openfwwf|fpaste|sos|rootfiles|bash-completion|ncurses-base"
    r"|tzdata|ca-certificates|crypto-policies|hwdata|selinux-policy.*|yelp-xsl|adwaita-.*-theme"
    r"|default-editor|linux-firmware-whence|publicsuffix-list-dafsa|pcre2-syntax|vim-data"
)

# Silverblue's own dependency web, on top of Fedora's (standins_fedora.FEDORA_REQUIRES).
SILVERBLUE_REQUIRES = parse_table("""
glibc: glibc-common
gnome-shell: mutter gtk4 glib2 gjs gnome-session gnome-settings-daemon gsettings-desktop-schemas polkit
gnome-shell-extension-background-logo: gnome-shell
gnome-classic-session: gnome-shell
gnome-session-wayland-session: gnome-session
gnome-session-xsession: gnome-session xorg-x11-server-Xorg
gnome-session: gnome-settings-daemon dconf
gdm: gnome-session gnome-shell dconf pam accountsservice
mutter: gtk4 libadwaita mesa-libEGL pipewire-libs
gnome-control-center: gtk4 libadwaita colord accountsservice
gnome-settings-daemon: glib2 colord geoclue2 gsettings-desktop-schemas
gnome-initial-setup: gtk4 libadwaita accountsservice
gnome-software: gtk4 libadwaita flatpak
gnome-terminal: gtk3 vte291
gnome-terminal-nautilus: gnome-terminal nautilus
gnome-disk-utility: gtk3 udisks2
gnome-system-monitor: gtk4
gnome-color-manager: colord gtk3
gnome-bluetooth: gtk4 bluez
gnome-remote-desktop: pipewire-libs
gnome-user-share: gtk4
gnome-backgrounds:
nautilus: gtk4 libadwaita tracker gvfs
evince-previewer: evince-libs gtk3
evince-thumbnailer: evince-libs
totem-video-thumbnailer: gstreamer1 gstreamer1-plugins-base
yelp: gtk3 yelp-xsl
orca: at-spi2-core gtk3
gtk3: glib2 at-spi2-atk adwaita-icon-theme libepoxy
gtk4: glib2 libepoxy mesa-libEGL
libadwaita: gtk4
at-spi2-atk: at-spi2-core
at-spi2-core: dbus glib2
accountsservice: polkit
colord: glib2
geoclue2: glib2
udisks2: glib2 polkit
vte291: gtk3
evince-libs: gtk3
tracker: glib2
tracker-miners: tracker gstreamer1
gvfs: glib2 udisks2
gvfs-afc: gvfs
gvfs-afp: gvfs
gvfs-archive: gvfs
gvfs-fuse: gvfs fuse3
gvfs-goa: gvfs
gvfs-gphoto2: gvfs
gvfs-mtp: gvfs
gvfs-smb: gvfs samba-client-libs
firefox: gtk3 nss
nss: nspr
xdg-desktop-portal: pipewire-libs flatpak-session-helper
xdg-desktop-portal-gnome: xdg-desktop-portal gtk4
xdg-desktop-portal-gtk: xdg-desktop-portal gtk3
xdg-user-dirs-gtk: gtk3
flatpak: ostree-libs bubblewrap flatpak-session-helper
buildah: containers-common
pipewire: pipewire-libs
pipewire-alsa: pipewire-libs
pipewire-gstreamer: pipewire-libs gstreamer1
pipewire-pulseaudio: pipewire
pipewire-utils: pipewire-libs
wireplumber: pipewire-libs
gstreamer1-plugins-base: gstreamer1
gstreamer1-plugins-good: gstreamer1-plugins-base
gstreamer1-plugins-bad-free: gstreamer1-plugins-base
gstreamer1-plugins-ugly-free: gstreamer1-plugins-base
mozilla-openh264: openh264
gstreamer1-plugin-openh264: openh264 gstreamer1
qt5-qtbase: qt5-qtbase-common
qt5-qtbase-gui: qt5-qtbase mesa-libEGL
qt5-qtdeclarative: qt5-qtbase
qt5-qtxmlpatterns: qt5-qtbase
qgnomeplatform: qgnomeplatform-qt5
qgnomeplatform-qt5: qt5-qtbase-gui adwaita-qt5
adwaita-qt5: qt5-qtbase-gui
ibus-anthy: ibus
ibus-gtk3: ibus gtk3
ibus-gtk4: ibus gtk4
ibus-hangul: ibus
ibus-libpinyin: ibus
ibus-libzhuyin: ibus
ibus-m17n: ibus
ibus-typing-booster: ibus
ibus: glib2 dconf
mesa-dri-drivers: mesa-filesystem
mesa-vulkan-drivers: mesa-filesystem
mesa-libEGL: mesa-dri-drivers
libglvnd-gles: mesa-libEGL
glx-utils: mesa-libEGL
cups: cups-filesystem cups-libs
cups-filters: cups
bluez-cups: cups bluez
gutenprint-cups: gutenprint cups
hplip: cups libsane-hpaio
system-config-printer-udev: cups-libs
avahi: avahi-libs dbus
nss-mdns: avahi
firewalld: iptables-nft
ModemManager: glib2
NetworkManager-adsl: NetworkManager NetworkManager-ppp
NetworkManager-bluetooth: NetworkManager bluez
NetworkManager-config-connectivity-fedora: NetworkManager
NetworkManager-openconnect-gnome: NetworkManager
NetworkManager-openvpn-gnome: NetworkManager
NetworkManager-ppp: NetworkManager
NetworkManager-pptp-gnome: NetworkManager NetworkManager-ppp
NetworkManager-ssh-gnome: NetworkManager
NetworkManager-vpnc-gnome: NetworkManager
NetworkManager-wifi: NetworkManager wpa_supplicant
NetworkManager-wwan: NetworkManager ModemManager
fedora-release-silverblue: fedora-release-common fedora-release-identity-silverblue
default-editor: nano-default-editor
nano-default-editor: nano
grub2-efi-ia32: efi-filesystem grub2-common
shim-ia32: efi-filesystem mokutil
ostree-grub2: ostree grub2-tools
open-vm-tools-desktop: open-vm-tools gtk3
virtualbox-guest-additions: glib2
spice-vdagent: glib2
spice-webdavd: glib2 avahi
policycoreutils-python-utils: policycoreutils
sssd: sssd-common sssd-kcm
sssd-kcm: sssd-common
realmd: adcli
samba-client: samba-client-libs
man-db: less groff-base
plymouth-system-theme: plymouth
alsa-utils: alsa-lib
alsa-ucm: alsa-lib
alsa-sof-firmware: linux-firmware-whence
fonts-filesystem:
google-noto-fonts-common: fonts-filesystem
""")
# Whatever the tables leave out: by name.
PATTERN_REQUIRES = (
    (re.compile(r"google-noto-.*-fonts"), ("google-noto-fonts-common",)),
    (re.compile(r".*-fonts"), ("fonts-filesystem",)),
    (re.compile(r"iwl.*-firmware|libertas-.*|.*-firmware"), ("linux-firmware-whence",)),
    (re.compile(r"xorg-x11-drv-.*"), ("xorg-x11-server-Xorg",)),
)
RECOMMENDS = {
    "gnome-software": ("PackageKit",),
    "gstreamer1-plugins-bad-free": ("gstreamer1-plugin-openh264",),
    "firefox": ("mozilla-openh264",),
    "gnome-initial-setup": ("gnome-tour",),
    "flatpak": ("p11-kit-server",),
}
EXTRA_REQUIRES = parse_table("""
PackageKit: glib2
gnome-tour: gtk4 libadwaita
p11-kit-server: p11-kit
""")

OS_RELEASE = """\
NAME="Fedora Linux"
VERSION="38 (Silverblue Prerelease)"
ID=fedora
VERSION_ID=38
VERSION_CODENAME=""
PLATFORM_ID="platform:f38"
PRETTY_NAME="Fedora Linux 38 (Silverblue Prerelease)"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:38"
HOME_URL="https://fedoraproject.org/"
VARIANT="Silverblue"
VARIANT_ID=silverblue
"""
DESKTOP_PRESETS = [
    "enable gdm.service",
    "enable cups.socket",
    "enable avahi-daemon.socket",
    "enable bluetooth.service",
    "enable firewalld.service",
    "enable ModemManager.service",
    "enable thermald.service",
    "enable switcheroo-control.service",
    "enable uresourced.service",
]
USER_PRESETS = [
    "enable grub-boot-success.timer",
    "enable pipewire.socket",
    "enable pipewire-pulse.socket",
    "enable wireplumber.service",
]


def release_silverblue(ctx: Context) -> Content:
    return Content(files=(text_file("/usr/lib/os-release", OS_RELEASE),))


def glibc_silverblue(ctx: Context) -> Content:
    """The old mid-transaction helper that the manifest's postprocess replaces."""
    return Content(
        files=(script(f"/usr/sbin/glibc_post_upgrade.{ctx.evra.arch}", GLIBC_POST_UPGRADE),)
    )


SILVERBLUE_SPECIALS: dict[str, Special] = {
    "fedora-release-common": release_common(
        "38", "Thirty Eight", [*FEDORA_PRESETS, *DESKTOP_PRESETS], USER_PRESETS
    ),
    "fedora-release-silverblue": release_silverblue,
    "glibc": glibc_silverblue,
    "gdm": service(["/usr/sbin/gdm"], [("gdm.service", "Alias=display-manager.service")]),
    "cups": service(["/usr/sbin/cupsd"], [("cups.socket", "WantedBy=sockets.target")]),
    "avahi": service(
        ["/usr/sbin/avahi-daemon"], [("avahi-daemon.socket", "WantedBy=sockets.target")]
    ),
    "bluez": service(
        ["/usr/libexec/bluetooth/bluetoothd"],
        [("bluetooth.service", "WantedBy=bluetooth.target\nAlias=dbus-org.bluez.service")],
    ),
    "firewalld": service(["/usr/sbin/firewalld"], [("firewalld.service", MULTI_USER)]),
    "ModemManager": service(["/usr/sbin/ModemManager"], [("ModemManager.service", MULTI_USER)]),
    "thermald": service(["/usr/sbin/thermald"], [("thermald.service", MULTI_USER)]),
    "uresourced": service(
        ["/usr/libexec/uresourced"], [("uresourced.service", "WantedBy=graphical.target")]
    ),
    "pipewire": service(
        ["/usr/bin/pipewire"], user_units=[("pipewire.socket", "WantedBy=sockets.target")]
    ),
    "pipewire-pulseaudio": service(
        user_units=[("pipewire-pulse.socket", "WantedBy=sockets.target")]
    ),
    "wireplumber": service(
        ["/usr/bin/wireplumber"],
        user_units=[
            (
                "wireplumber.service",
                "WantedBy=pipewire.service\nAlias=pipewire-session-manager.service",
            )
        ],
    ),
    "gnome-shell": service(["/usr/bin/gnome-shell"]),
    "flatpak": service(["/usr/bin/flatpak"]),
}


def silverblue_accounts() -> Accounts:
    return Accounts.from_files(WORKSTATION_CONFIG / "passwd", WORKSTATION_CONFIG / "group")


def silverblue_evra(name: str) -> Evra:
    evr = VERSIONS.get(name, "1.0-1")
    arch = "noarch" if NOARCH.fullmatch(name) else "x86_64"
    return Evra.parse(f"{evr}.{RELEASE}.{arch}")


def requires_of(name: str) -> tuple[str, ...]:
    explicit = SILVERBLUE_REQUIRES.get(name, ()) + EXTRA_REQUIRES.get(name, ())
    explicit += FEDORA_REQUIRES.get(name, ()) if name not in SILVERBLUE_REQUIRES else ()
    by_pattern = next((deps for pattern, deps in PATTERN_REQUIRES if pattern.fullmatch(name)), ())
    return explicit + tuple(dep for dep in by_pattern if dep != name)


def silverblue_standins(names: Iterable[str]) -> list[PlannedPackage]:
    """A stand-in for every name, for what they require and for what they recommend."""
    accounts = silverblue_accounts()

    def make(name: str) -> PlannedPackage:
        return make_standin(
            name,
            silverblue_evra(name),
            accounts,
            requires=requires_of(name),
            recommends=RECOMMENDS.get(name, ()),
            specials=SILVERBLUE_SPECIALS,
        )

    recommended = (dep for deps in RECOMMENDS.values() for dep in deps)
    return close_over_requires([*names, *recommended], make)
