"""Stand-ins for Fedora CoreOS (data/treefiles/upstream/fedora-coreos-config): every package
of its lockfile at the locked E:V-R.ARCH, with a dependency web shaped like Fedora 40's, so
that resolving the manifest's package list without recommends (`recommends: false`) and
with its exclude-packages yields exactly the lockfile's packages. A few packages recommend
ones that FCOS excludes or does not want (python3, perl, grubby, ...): only Recommends
lead there, as the manifest's comment on exclude-packages expects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fedostree.sample.plan import PlannedPackage
from fedostree.sample.shapes import text_file
from tests.support.standins import FCOS_CONFIG, Content, Evra, parse_table
from tests.support.standins_fedora import (
    FEDORA_PRESETS,
    FEDORA_REQUIRES,
    make_standin,
    release_common,
)
from tests.support.standins_os import Accounts, Context, Special, preset

# What some stand-ins recommend (`recommends: false` leaves them out): the excluded
# packages are recommended only, never required, and gvisor-tap-vsock is in no lockfile.
RECOMMENDS = {
    "kexec-tools": ("grubby",),
    "NetworkManager": ("NetworkManager-initscripts-ifcfg-rh",),
    "policycoreutils": ("python3",),
    "git-core": ("perl-interpreter",),
    "podman": ("gvisor-tap-vsock",),
    "crun": ("criu", "criu-libs"),
}
# Stand-ins the lockfile does not have, at the versions Fedora 40 had.
EXTRAS = {
    "python3": "3.12.7-1.fc40.x86_64",
    "python3-libs": "3.12.7-1.fc40.x86_64",
    "perl-interpreter": "4:5.38.2-506.fc40.x86_64",
    "perl-libs": "4:5.38.2-506.fc40.x86_64",
    "grubby": "8.40-75.fc40.x86_64",
    "NetworkManager-initscripts-ifcfg-rh": "1:1.46.2-1.fc40.x86_64",
    "gvisor-tap-vsock": "6:0.7.5-1.fc40.x86_64",
}
EXTRA_REQUIRES = parse_table("""
python3: python3-libs
perl-interpreter: perl-libs
grubby: /usr/bin/bash
NetworkManager-initscripts-ifcfg-rh: NetworkManager
""")

OS_RELEASE = """\
NAME="Fedora Linux"
VERSION="40 (CoreOS)"
RELEASE_TYPE=stable
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora CoreOS 40"
ANSI_COLOR="0;38;2;60;110;180"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:40"
HOME_URL="https://getfedora.org/coreos/"
VARIANT="CoreOS"
VARIANT_ID=coreos
"""


def release_coreos(ctx: Context) -> Content:
    return Content(
        provides=("system-release-product",),
        files=(
            text_file("/usr/lib/os-release", OS_RELEASE),
            preset(
                "/usr/lib/systemd/system-preset/40-coreos.preset",
                [
                    "enable zincati.service",
                    "disable docker.service",
                    "enable afterburn-sshkeys@.service",
                ],
            ),
        ),
    )


def release_identity(ctx: Context) -> Content:
    return Content(files=(text_file("/usr/lib/os-release.d/os-release-coreos", OS_RELEASE),))


FCOS_SPECIALS: dict[str, Special] = {
    "fedora-release-common": release_common(
        "40", "Forty", FEDORA_PRESETS, ["enable grub-boot-success.timer"]
    ),
    "fedora-release-coreos": release_coreos,
    "fedora-release-identity-coreos": release_identity,
    "libcurl-minimal": lambda ctx: Content(provides=(f"libcurl = {ctx.evra.evr}",)),
    "bash-color-prompt": lambda ctx: Content(
        files=(text_file("/etc/profile.d/bash-color-prompt.sh", "PS1='\\u@\\h \\w\\$ '\n"),)
    ),
}
REQUIRES = {
    name: FEDORA_REQUIRES.get(name, ()) + EXTRA_REQUIRES.get(name, ())
    for name in {*FEDORA_REQUIRES, *EXTRA_REQUIRES}
}


def fcos_accounts() -> Accounts:
    return Accounts.from_files(FCOS_CONFIG / "manifests/passwd", FCOS_CONFIG / "manifests/group")


def fcos_standins(names: Iterable[str], evras: Mapping[str, Evra]) -> list[PlannedPackage]:
    """A stand-in for every package of evras (a lockfile) at its version, plus the
    extras; every name the manifest asks for must be one of them or provided by one."""
    accounts = fcos_accounts()
    universe = {**{n: Evra.parse(e) for n, e in EXTRAS.items()}, **evras}
    packages = [
        make_standin(
            name,
            evra,
            accounts,
            requires=REQUIRES.get(name, ()),
            recommends=RECOMMENDS.get(name, ()),
            specials=FCOS_SPECIALS,
        )
        for name, evra in sorted(universe.items())
    ]
    provided = {p.name for p in packages} | {dep.split()[0] for p in packages for dep in p.provides}
    unknown = sorted(set(names) - provided)
    if unknown:
        raise ValueError(f"the FCOS stand-ins lack {', '.join(unknown)}")
    return packages
