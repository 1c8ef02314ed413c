"""What the upstream manifests' postprocess scripts leave in a tree composed from the
stand-ins, as the end-to-end tests (tests/test_upstream_compose.py) check it."""

from __future__ import annotations

import json
import os
from pathlib import Path

ZINCATI_DEV = (
    "# https://github.com/coreos/fedora-coreos-tracker/issues/212\nupdates.enabled = false\n"
)
RPM_OSTREED_TAIL = (
    "[Daemon]\n#AutomaticUpdatePolicy=none\n#IdleExitTimeout=60\n#LockLayering=false\n"
)


def check_fcos_postprocess(tree: Path) -> None:
    """Each FCOS script's edit: in /usr/etc (shown as /etc to the scripts) and /usr."""
    etc = tree / "usr/etc"
    assert (etc / "zincati/config.d/95-disable-on-dev.toml").read_text() == ZINCATI_DEV
    conf = (etc / "rpm-ostreed.conf").read_text()
    assert conf.startswith("# By default, this system has its OS updates managed by\n# `zincati")
    assert conf.endswith(RPM_OSTREED_TAIL)
    booleans = (etc / "selinux/targeted/active/booleans.local").read_text()
    assert booleans == "container_use_cephfs=1\nvirt_use_samba=1\n"
    dropin = tree / "usr/lib/systemd/system/ssh-host-keys-migration.service.d"
    assert (
        "ConditionPathExists=\n"
        in (dropin / "coreos-force-migration-on-every-boot.conf").read_text()
    )
    efi = json.loads((tree / "usr/lib/bootupd/updates/EFI.json").read_text())["files"]
    assert efi == ["EFI/BOOT/BOOTX64.EFI", "EFI/fedora/grubx64.efi", "EFI/fedora/shimx64.efi"]


def check_fcos_links(tree: Path) -> None:
    """iptables-nft made the default; the broken links (to removed man pages and
    binaries) removed by the script with the bash arrays."""
    alternatives = tree / "usr/etc/alternatives"
    assert os.readlink(alternatives / "iptables") == "/usr/sbin/iptables-nft"
    assert os.readlink(alternatives / "ip6tables-save") == "/usr/sbin/ip6tables-nft-save"
    assert not (alternatives / "iptables-man").is_symlink()
    build_ids = {os.readlink(p) for p in (tree / "usr/lib/.build-id").glob("*/*")}
    assert build_ids == {"../../../../usr/bin/systemctl"}


def check_fcos_units(tree: Path) -> None:
    """Presets applied after the RPM scripts' links were removed, then the masks.
    rpm-ostree puts each include's scripts before those of the includes listed before it:
    ignition-and-ostree.yaml's `rm -rf /etc/systemd/system/*` runs before
    system-configuration.yaml masks systemd-repart, so that mask stays."""
    system = tree / "usr/etc/systemd/system"
    assert os.readlink(system / "dnsmasq.service") == "/dev/null"
    assert os.readlink(system / "systemd-repart.service") == "/dev/null"
    wants = system / "multi-user.target.wants"
    assert os.readlink(wants / "sshd.service") == "/usr/lib/systemd/system/sshd.service"
    assert (wants / "zincati.service").is_symlink()
    assert not (wants / "docker.service").is_symlink()  # 40-coreos.preset disables it
    getty = system / "getty.target.wants/getty@tty1.service"
    assert os.readlink(getty) == "/usr/lib/systemd/system/getty@.service"
    user = tree / "usr/etc/systemd/user"
    assert (user / "basic.target.wants/systemd-tmpfiles-setup.service").is_symlink()
    assert not (user / "timers.target.wants/grub-boot-success.timer").is_symlink()


def check_silverblue_postprocess(tree: Path) -> None:
    lib = tree / "usr/lib"
    journald = lib / "systemd/journald.conf.d/10-persistent.conf"
    assert journald.read_text() == "[Journal]\nStorage=persistent\n"
    assert os.readlink(tree / "usr/sbin/glibc_post_upgrade.x86_64") == "../bin/true"
    # Upstream's heredocs end at 'EOF' in quotes, which bash does not take for EOF: the
    # unit file gets the rest of the script, which never runs (as with rpm-ostree).
    unit = (lib / "systemd/system/fedora-silverblue-readonly-sysroot.service").read_text()
    assert unit.startswith("[Unit]\nDescription=Fedora Silverblue Read-Only Sysroot Migration\n")
    assert unit.endswith("systemctl enable fedora-silverblue-readonly-sysroot.service\n")
    assert not (tree / "usr/libexec/fedora-silverblue-readonly-sysroot").exists()
    system = tree / "usr/etc/systemd/system"
    assert not list(system.glob("*/fedora-silverblue-readonly-sysroot.service"))
    sockets = tree / "usr/etc/systemd/user/sockets.target.wants"
    assert os.readlink(sockets / "pipewire.socket") == "/usr/lib/systemd/user/pipewire.socket"
    assert os.readlink(system / "display-manager.service") == "/usr/lib/systemd/system/gdm.service"
