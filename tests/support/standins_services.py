"""Stand-ins for daemons and tools: their unit files (with the [Install] sections that
`systemctl preset-all` acts on), configuration in /etc, state directories in /var owned
by their users, and programs that only say what they stand in for."""

from __future__ import annotations

from collections.abc import Sequence

from fedostree.sample.shapes import directory, text_file
from tests.support.standins import Content
from tests.support.standins_os import Context, Special, command, unit

MULTI_USER = "WantedBy=multi-user.target"
RPM_OSTREED_CONF = """\
# Entries in this file show the compile time defaults.
# You can change settings by editing this file.
# For option meanings, see rpm-ostreed.conf(5).

[Daemon]
#AutomaticUpdatePolicy=none
#IdleExitTimeout=60
#LockLayering=false
"""


def service(
    programs: Sequence[str] = (),
    units: Sequence[tuple[str, str]] = (),
    *,
    configs: Sequence[tuple[str, str]] = (),
    state: Sequence[tuple[str, int, str]] = (),
    user_units: Sequence[tuple[str, str]] = (),
    requires: Sequence[str] = (),
) -> Special:
    """programs: paths; units: (name, [Install] lines); configs: (path, text) in /etc;
    state: (directory, mode, "user:group") under /var."""

    def special(ctx: Context) -> Content:
        return Content(
            requires=tuple(requires),
            files=(
                *(command(path, ctx.name, ctx.evra.version) for path in programs),
                *(unit(name, install=install) for name, install in units),
                *(unit(name, install=install, scope="user") for name, install in user_units),
                *(text_file(path, text) for path, text in configs),
                *(directory(path, mode=mode, owner=owner) for path, mode, owner in state),
            ),
        )

    return special


SERVICES: dict[str, Special] = {
    "NetworkManager": service(
        ["/usr/sbin/NetworkManager", "/usr/bin/nmcli"],
        [
            (
                "NetworkManager.service",
                f"{MULTI_USER}\nAlias=dbus-org.freedesktop.NetworkManager.service\n"
                "Also=NetworkManager-dispatcher.service NetworkManager-wait-online.service",
            ),
            ("NetworkManager-wait-online.service", "WantedBy=network-online.target"),
            (
                "NetworkManager-dispatcher.service",
                "Alias=dbus-org.freedesktop.nm-dispatcher.service",
            ),
        ],
        configs=[("/etc/NetworkManager/NetworkManager.conf", "[main]\n")],
    ),
    "chrony": service(
        ["/usr/sbin/chronyd", "/usr/bin/chronyc"],
        [("chronyd.service", MULTI_USER)],
        configs=[("/etc/chrony.conf", "pool 2.fedora.pool.ntp.org iburst\n")],
        state=[("/var/lib/chrony", 0o750, "chrony:chrony")],
    ),
    "openssh": service(["/usr/bin/ssh-keygen"], configs=[("/etc/ssh/moduli", "# moduli\n")]),
    "openssh-clients": service(["/usr/bin/ssh", "/usr/bin/scp"]),
    "openssh-server": service(
        ["/usr/sbin/sshd"],
        [("sshd.service", MULTI_USER), ("ssh-host-keys-migration.service", "")],
        configs=[("/etc/ssh/sshd_config", "PermitRootLogin prohibit-password\n")],
        state=[("/var/empty/sshd", 0o711, "root:root")],
    ),
    "dbus-broker": service(
        ["/usr/bin/dbus-broker"], [("dbus-broker.service", "Alias=dbus.service")]
    ),
    "dbus-common": service(configs=[("/etc/dbus-1/system.conf", "<busconfig/>\n")]),
    "polkit": service(
        ["/usr/lib/polkit-1/polkitd", "/usr/bin/pkexec"],
        [("polkit.service", "")],
        state=[("/var/lib/polkit-1", 0o700, "polkitd:polkitd")],
    ),
    "rpm-ostree": service(
        ["/usr/bin/rpm-ostree"],
        [
            ("rpm-ostreed.service", ""),
            ("rpm-ostreed-automatic.timer", "WantedBy=timers.target"),
            ("rpm-ostree-countme.timer", "WantedBy=timers.target"),
        ],
        configs=[("/etc/rpm-ostreed.conf", RPM_OSTREED_CONF)],
    ),
    "ostree": service(
        ["/usr/bin/ostree", "/usr/bin/rofiles-fuse"],
        [("ostree-remount.service", "WantedBy=local-fs.target")],
    ),
    "zincati": service(
        ["/usr/libexec/zincati"], [("zincati.service", MULTI_USER)], requires=["rpm-ostree"]
    ),
    "dnsmasq": service(
        ["/usr/sbin/dnsmasq"],
        [("dnsmasq.service", MULTI_USER)],
        configs=[("/etc/dnsmasq.conf", "# dnsmasq\n")],
    ),
    "moby-engine": service(
        ["/usr/bin/docker", "/usr/bin/dockerd"],
        [("docker.service", MULTI_USER), ("docker.socket", "WantedBy=sockets.target")],
    ),
    "containerd": service(["/usr/bin/containerd"], [("containerd.service", MULTI_USER)]),
    "podman": service(
        ["/usr/bin/podman"],
        [("podman.socket", "WantedBy=sockets.target")],
        user_units=[("podman.socket", "WantedBy=sockets.target")],
    ),
    "audit": service(
        ["/usr/sbin/auditd", "/usr/sbin/auditctl"],
        [("auditd.service", MULTI_USER)],
        configs=[("/etc/audit/auditd.conf", "log_file = /var/log/audit/audit.log\n")],
    ),
    "sssd-common": service(["/usr/sbin/sssd"], [("sssd.service", MULTI_USER)]),
    "rpcbind": service(
        ["/usr/sbin/rpcbind"],
        [
            ("rpcbind.service", f"{MULTI_USER}\nAlso=rpcbind.socket"),
            ("rpcbind.socket", "WantedBy=sockets.target"),
        ],
    ),
    "nfs-utils-coreos": service(
        ["/usr/sbin/mount.nfs"], state=[("/var/lib/nfs", 0o755, "rpcuser:rpcuser")]
    ),
    "logrotate": service(
        ["/usr/sbin/logrotate"],
        [("logrotate.timer", "WantedBy=timers.target")],
        configs=[("/etc/logrotate.conf", "weekly\n")],
    ),
    "fwupd": service(
        ["/usr/libexec/fwupd/fwupd"], [("fwupd-refresh.timer", "WantedBy=timers.target")]
    ),
    "irqbalance": service(["/usr/sbin/irqbalance"], [("irqbalance.service", MULTI_USER)]),
    "lvm2": service(["/usr/sbin/lvm"], [("lvm2-monitor.service", "WantedBy=sysinit.target")]),
    "mdadm": service(["/usr/sbin/mdadm"], [("mdmonitor.service", MULTI_USER)]),
    "iscsi-initiator-utils": service(
        ["/usr/sbin/iscsid"], [("iscsid.socket", "WantedBy=sockets.target")]
    ),
    "iptables-services": service(units=[("iptables.service", MULTI_USER)]),
    "nftables": service(["/usr/sbin/nft"], [("nftables.service", MULTI_USER)]),
    "stalld": service(["/usr/bin/stalld"], [("stalld.service", MULTI_USER)]),
    "afterburn": service(["/usr/bin/afterburn"], [("afterburn-sshkeys@.service", MULTI_USER)]),
    "kdump-utils": service(["/usr/bin/kdumpctl"], [("kdump.service", MULTI_USER)]),
    "ignition": service(["/usr/lib/dracut/modules.d/30ignition/ignition"]),
    "coreos-installer": service(["/usr/bin/coreos-installer"]),
    "jq": service(["/usr/bin/jq"]),
    "nano": service(["/usr/bin/nano"]),
    "vim-minimal": service(["/usr/bin/vi"]),
    "sudo": service(
        ["/usr/bin/sudo"], configs=[("/etc/sudoers", "root ALL=(ALL) ALL\n%wheel ALL=(ALL) ALL\n")]
    ),
    "curl": service(["/usr/bin/curl"]),
    "rsync": service(["/usr/bin/rsync"]),
    "git-core": service(["/usr/bin/git"]),
    "toolbox": service(["/usr/bin/toolbox"]),
    "skopeo": service(["/usr/bin/skopeo"]),
    "crun": service(["/usr/bin/crun"]),
    "runc": service(["/usr/bin/runc"]),
    "wireguard-tools": service(["/usr/bin/wg"]),
    "tpm2-tss": service(),
}
