"""Writing a build's files into its staging tree: directories, symlinks, and regular files
whose bytes come from a PRNG seeded by the package's NEVRA and the path (so the same path
differs between versions, and a rebuild writes the same bytes), drawn from an alphabet of
2**bits symbols so that they compress as well as the real payload did.

Every file of 4 bytes or more starts with "GIF8", a GIF signature: rpmbuild runs libmagic on
each file, and a signature it recognizes at once makes that ten times cheaper (0.05 ms
instead of 0.5 ms per file; the universe has 64,000 files).

The few files the compose itself reads, rewrites or runs (users and groups,
nsswitch.conf, useradd's defaults, the SELinux configuration, depmod) get real content
instead: random bytes there would be a broken package, not a benchmark."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

from fedostree.bench.plan import Build, PlannedFile, PlannedPackage

CHUNK = 1 << 20
SIGNATURE = b"GIF8"
# bits -> a translation table onto 2**bits distinct byte values
ALPHABETS = {
    bits: bytes(0x20 + (b & ((1 << bits) - 1)) for b in range(256)) for bits in range(1, 7)
}
ALPHABETS[7] = bytes(b & 0x7F for b in range(256))
REAL_CONTENT = {
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
    "/etc/group": "root:x:0:\n",
    "/etc/shadow": "root:!locked::0:99999:7:::\n",
    "/etc/gshadow": "root:::\n",
    "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
    "/etc/default/useradd": "GROUP=100\nHOME=/home\nSHELL=/bin/bash\n",
    "/etc/selinux/config": "SELINUX=disabled\n",  # no SELINUXTYPE: nothing to label with
    # depmod, which the compose runs for the kernel, over modules that are random bytes
    "/usr/bin/kmod": "#!/bin/sh\nexit 0\n",
    "/usr/sbin/depmod": "#!/bin/sh\nexit 0\n",
}


def stage_build(build: Build, root: Path) -> None:
    """Create root and write every file of the build's packages below it."""
    root.mkdir(parents=True)
    for package in build.packages:
        for entry in package.files:
            stage_file(package, entry, root / entry.path.lstrip("/"))


def stage_file(package: PlannedPackage, entry: PlannedFile, target: Path) -> None:
    if entry.kind == "ghost":
        return
    if entry.kind == "dir":
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(entry.mode)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.kind == "symlink":
        target.symlink_to(entry.target)
        return
    if entry.path in REAL_CONTENT:
        target.write_text(real_content(entry))
        target.chmod(entry.mode)
        return
    seed = hashlib.sha256(f"{package.real.nevra}\0{entry.path}".encode()).digest()
    write_payload(target, entry.size, seed, package.entropy_bits)
    target.chmod(entry.mode)


def real_content(entry: PlannedFile) -> str:
    """A real file's text, padded with empty lines to the planned size (longer when the
    planned size is smaller than the text)."""
    text = REAL_CONTENT[entry.path]
    return text + "\n" * max(0, entry.size - len(text))


def write_payload(target: Path, size: int, seed: bytes, bits: int) -> None:
    rng = random.Random(seed)
    table = ALPHABETS.get(bits)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        remaining = size
        if size >= len(SIGNATURE):
            write_all(fd, SIGNATURE)
            remaining -= len(SIGNATURE)
        while remaining > 0:
            data = rng.randbytes(min(CHUNK, remaining))
            write_all(fd, data.translate(table) if table else data)
            remaining -= len(data)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
