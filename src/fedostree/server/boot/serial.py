"""What a boot printed on its serial console, read for the lines the tree's init and the
initramfs print (the sample `systemd` stand-in, and engine/initramfs.py's /init):

    fedostree-booted: version="VERSION" commit=COMMIT ostree=PATH boots=N
    fedostree-probe: LINE                     (the first line of /etc/fedostree/boot-probe)
    fedostree-check: NAME ok | fedostree-check: NAME failed: REASON
    fedostree-boot-done: checks=K failed=F
    fedostree-initramfs: WHAT FAILED"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "fedostree-booted:"
MARKER_RE = re.compile(
    r'fedostree-booted: version="(?P<version>[^"]*)" commit=(?P<commit>\S*) '
    r"ostree=(?P<ostree>\S*) boots=(?P<boots>\d+)"
)
CHECK_RE = re.compile(r"fedostree-check: (?P<name>\S+) (?P<verdict>ok|failed(?::.*)?)\s*$")
DONE_RE = re.compile(r"fedostree-boot-done: checks=(?P<checks>\d+) failed=(?P<failed>\d+)")
PROBE = "fedostree-probe: "
INITRAMFS = "fedostree-initramfs: "
KERNEL_PREFIX = re.compile(r"^\[\s*\d+\.\d+\] ")


@dataclass(frozen=True)
class Marker:
    line: str
    version: str
    commit: str
    ostree: str
    boots: int


@dataclass(frozen=True)
class BootReport:
    marker: Marker | None
    probe: str | None
    checks: tuple[tuple[str, str], ...]  # (name, "ok" or "failed: REASON")
    done: bool
    initramfs_error: str | None

    @property
    def failed_checks(self) -> list[str]:
        return [f"{name} {verdict}" for name, verdict in self.checks if verdict != "ok"]


def parse_serial(text: str) -> BootReport:
    marker = probe = initramfs_error = None
    checks: list[tuple[str, str]] = []
    done = False
    for raw in text.splitlines():
        line = raw.replace("\r", "")
        if (m := MARKER_RE.search(line)) is not None and marker is None:
            marker = Marker(line[m.start():].strip(), m["version"], m["commit"], m["ostree"],
                            int(m["boots"]))  # fmt: skip
        elif (m := CHECK_RE.search(line)) is not None:
            checks.append((m["name"], m["verdict"]))
        elif DONE_RE.search(line):
            done = True
        elif PROBE in line and probe is None:
            probe = line.split(PROBE, 1)[1].strip()
        elif INITRAMFS in line and initramfs_error is None:
            initramfs_error = line.split(INITRAMFS, 1)[1].strip()
    return BootReport(marker, probe, tuple(checks), done, initramfs_error)


def kernel_panic(text: str) -> str | None:
    """The kernel's `Kernel panic - not syncing: REASON` line, without its time stamp."""
    for line in text.splitlines():
        if "Kernel panic - not syncing:" in line:
            return KERNEL_PREFIX.sub("", line.replace("\r", "")).strip()
    return None


def last_lines(text: str, count: int = 12) -> list[str]:
    """The serial log's last non-empty lines, without the kernel's time stamps."""
    lines = [KERNEL_PREFIX.sub("", line.replace("\r", "")).rstrip() for line in text.splitlines()]
    return [line for line in lines if line][-count:]
