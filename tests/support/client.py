"""Client fixtures: trees composed by our own compose server from real RPMs, served over
real HTTP on 127.0.0.1, and fake sysroots in temp dirs (the way ostree's own tests make
them), read back the way a user checks them: boot entries, `status --json`, the stock
`ostree admin status`, the deployment directories."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from fedostree.engine import ostree as ot
from fedostree.server.serve import make_server
from tests.support.cli import Result, compose, ostree, run
from tests.support.rpms import (
    Pkg,
    base_packages,
    build_rpms,
    createrepo,
    demo_packages,
    write_treefile,
)

OSNAME = "fedostree"
REF = "test/x86_64/base"
OTHER_REF = "test/x86_64/other"
REMOTE = "srv"
KVER = "5.14.0-1.fc20.x86_64"

RELEASE = Pkg(
    "fedora-release",
    files={
        "/etc/os-release": ("symlink", "../usr/lib/os-release"),
        "/etc/fedora-release": "Fedora release 20 (Heisenbug)\n",
    },
)
OLDTOOL = Pkg("oldtool", files={"/usr/bin/oldtool": "#!/bin/sh\necho old\n"})
# The second version: hello upgraded, newtool added (with a new /etc file), oldtool gone.
HELLO_2_11 = replace(next(p for p in demo_packages() if p.name == "hello"), version="2.11")
NEWTOOL = Pkg(
    "newtool",
    files={"/usr/bin/newtool": "#!/bin/sh\necho new\n", "/etc/newtool.conf": "mode=new\n"},
    config=["/etc/newtool.conf"],
)

TREE = """\
ref: {ref}
repos: [test-repo]
packages: [{packages}]
automatic-version-prefix: "{prefix}"
"""
V1_PACKAGES = ["hello", "kernel", "fedora-release", "oldtool"]
V2_PACKAGES = ["hello", "kernel", "fedora-release", "newtool"]
OTHER_PACKAGES = ["hello", "kernel", "fedora-release"]


@dataclass(frozen=True)
class Trees:
    """The composed archive repository: REF at v2 (version 20.1, parent v1 = version 20)
    and OTHER_REF (version 30), as the compose server published them."""

    repo: Path
    v1: str
    v2: str
    other: str


@pytest.fixture(scope="session")
def client_rpm_repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two rpm-md repositories: the first release of the OS, and one with updates."""
    root = tmp_path_factory.mktemp("client-rpms")
    v1, v2 = root / "v1", root / "v2"
    build_rpms([*base_packages(), *demo_packages(), RELEASE, OLDTOOL], v1, root / "work")
    createrepo(v1)
    shutil.copytree(v1, v2, ignore=shutil.ignore_patterns("repodata"))
    build_rpms([HELLO_2_11, NEWTOOL], v2, root / "work")
    createrepo(v2)
    return v1, v2


def _compose(
    config: Path, rpms: Path, workdir: Path, ref: str, pkgs: list[str], prefix: str
) -> str:
    text = TREE.format(ref=ref, packages=", ".join(pkgs), prefix=prefix)
    r = compose(write_treefile(config, rpms.as_uri(), text), workdir)
    assert r.exit_code == 0, r.stderr
    return ot.resolve_rev(ot.open_repo(workdir / "repo"), ref) or ""


@pytest.fixture(scope="session")
def trees(tmp_path_factory: pytest.TempPathFactory, client_rpm_repos: tuple[Path, Path]) -> Trees:
    """Three composes: REF twice (v1, then v2 a second later), and OTHER_REF."""
    rpms_v1, rpms_v2 = client_rpm_repos
    work = tmp_path_factory.mktemp("client-trees")
    v1 = _compose(work / "v1", rpms_v1, work, REF, V1_PACKAGES, "20")
    repo = ot.open_repo(work / "repo")
    while int(time.time()) <= ot.commit_timestamp(repo, v1):  # v2 must be strictly newer
        time.sleep(0.05)
    v2 = _compose(work / "v2", rpms_v2, work, REF, V2_PACKAGES, "20")
    other = _compose(work / "other", rpms_v1, work, OTHER_REF, OTHER_PACKAGES, "30")
    assert len({v1, v2, other}) == 3
    return Trees(work / "repo", v1, v2, other)


class Server:
    """A private copy of the composed repository served by `fedostree.server.serve` in a thread;
    REF starts at v1, so a test publishes v2 (or anything else) when it wants to."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._httpd = make_server(repo, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self._running = True

    def publish(self, ref: str, commit: str) -> None:
        """Move ref on the server with the stock tools, as an admin would."""
        ostree(self.repo, "reset", ref, commit)
        ostree(self.repo, "summary", "-u")

    def stop(self) -> None:
        if self._running:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._running = False


def copy_repo(trees: Trees, dest: Path) -> Path:
    shutil.copytree(trees.repo, dest, symlinks=True)
    ostree(dest, "reset", REF, trees.v1)
    ostree(dest, "summary", "-u")
    return dest


@pytest.fixture
def server(trees: Trees, tmp_path: Path) -> Iterator[Server]:
    s = Server(copy_repo(trees, tmp_path / "served"))
    yield s
    s.stop()


@pytest.fixture
def sysroot(tmp_path: Path) -> Iterator[Path]:
    """A fresh sysroot with the stateroot OSNAME; nothing deployed yet."""
    path = tmp_path / "sysroot"
    r = run("admin", "init", "--sysroot", path, "--os", OSNAME)
    assert r.exit_code == 0, r.stderr
    yield path
    unfreeze(path)


def unfreeze(path: Path) -> None:
    """libostree makes deployment roots immutable; undo that so the tree can be deleted."""
    subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True, check=False)


@pytest.fixture
def deployed(sysroot: Path, server: Server) -> Path:
    """The sysroot with remote REMOTE at the server and REF (v1) deployed by `rebase`."""
    add_remote(sysroot, server.url)
    r = client(sysroot, "rebase", f"{REMOTE}:{REF}")
    assert r.exit_code == 0, r.stderr
    return sysroot


def client(sysroot: Path, *args: str) -> Result:
    """`fedostree VERB [SUBVERB] --sysroot SYSROOT ARGS...`."""
    n = 2 if args[0] in ("admin", "remote", "db") else 1
    return run(*args[:n], "--sysroot", sysroot, *args[n:])


def add_remote(sysroot: Path, url: str, name: str = REMOTE) -> None:
    r = run("remote", "add", "--sysroot", sysroot, "--no-gpg-verify", name, url)
    assert r.exit_code == 0, r.stderr


def status(sysroot: Path) -> list[dict[str, Any]]:
    r = run("status", "--sysroot", sysroot, "--json")
    assert r.exit_code == 0, r.stderr
    deployments: list[dict[str, Any]] = json.loads(r.stdout)["deployments"]
    return deployments


def checksums(sysroot: Path) -> list[str]:
    """The deployed commits, default first, as `fedostree status --json` lists them."""
    return [d["checksum"] for d in status(sysroot)]


def admin_status(sysroot: Path) -> list[tuple[str, int]]:
    """(commit, serial) of each deployment, in order, as the stock `ostree admin status` says."""
    r = subprocess.run(
        ["ostree", "admin", "status", "--sysroot", str(sysroot)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.findall(rf"^[ *] {OSNAME} ([0-9a-f]{{64}})\.(\d+)", r.stdout, re.MULTILINE)
    return [(csum, int(serial)) for csum, serial in found]


@dataclass(frozen=True)
class BootEntry:
    version: int
    options: str
    linux: str
    initrd: str
    deployment: str  # the deployment directory name (CHECKSUM.SERIAL) ostree= leads to


def boot_entries(sysroot: Path) -> list[BootEntry]:
    """The BLS entries of the current bootversion, in boot-menu order (highest version first),
    each followed from its `ostree=` path to the deployment it boots."""
    entries = []
    for conf in (sysroot / "boot/loader/entries").glob("*.conf"):
        keys = dict(line.split(" ", 1) for line in conf.read_text().splitlines() if " " in line)
        ostree_path = re.search(r"\bostree=(\S+)", keys["options"])
        assert ostree_path is not None, keys["options"]
        target = Path(os.path.realpath(sysroot / ostree_path.group(1).lstrip("/")))
        assert target.parent == Path(os.path.realpath(deploy_dir(sysroot))), target
        entries.append(
            BootEntry(
                int(keys["version"]), keys["options"], keys["linux"], keys["initrd"], target.name
            )
        )
    return sorted(entries, key=lambda e: -e.version)


def booted_order(sysroot: Path) -> list[str]:
    """The commits the boot menu offers, first (default) to last."""
    return [e.deployment.split(".")[0] for e in boot_entries(sysroot)]


def bootversion(sysroot: Path) -> str:
    return os.readlink(sysroot / "boot/loader")


def deploy_dir(sysroot: Path) -> Path:
    return sysroot / f"ostree/deploy/{OSNAME}/deploy"


def deployment_root(sysroot: Path, checksum: str, serial: int = 0) -> Path:
    return deploy_dir(sysroot) / f"{checksum}.{serial}"


def stateroot_var(sysroot: Path) -> Path:
    return sysroot / f"ostree/deploy/{OSNAME}/var"


def snapshot(sysroot: Path) -> tuple[object, ...]:
    """Everything a failed verb must leave as it was: deployments (ours and stock ostree's
    view), boot entries and the bootversion, the deployment directories, and no stray
    loader.N or boot.N directories."""
    deployments = deploy_dir(sysroot)
    return (
        status(sysroot),
        admin_status(sysroot),
        sorted((p.name, p.read_text()) for p in (sysroot / "boot/loader/entries").glob("*"))
        if (sysroot / "boot/loader/entries").is_dir()
        else [],
        bootversion(sysroot),
        sorted(p.name for p in deployments.iterdir()) if deployments.is_dir() else [],
        sorted(p.name for p in (sysroot / "boot").iterdir()),
        # (not the lock file: a killed verb leaves it, harmless, as flock died with it)
        sorted(p.name for p in (sysroot / "ostree").iterdir() if p.name != "lock"),
    )


def tamper_filez(repo: Path, checksum: str) -> Path:
    """Change one byte of an archive repository's file object's content, keeping the
    object's size: only its checksum can tell."""
    path = repo / "objects" / checksum[:2] / f"{checksum[2:]}.filez"
    data = path.read_bytes()
    (header_len,) = struct.unpack(">I", data[:4])
    offset = 8 + header_len
    content = bytearray(zlib.decompress(data[offset:], -15))
    content[0] ^= 0x20  # swap the case of the first letter
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = packer.compress(bytes(content)) + packer.flush()
    assert len(payload) == len(data) - offset, "the tampered object must keep its size"
    path.write_bytes(data[:offset] + payload)
    return path


def file_checksum(repo: Path, rev: str, path: str) -> str:
    """The content object checksum of path in rev, as `ostree ls -C` prints it."""
    return ostree(repo, "ls", "-C", rev, path).split()[4]


def cat(repo: Path, rev: str, path: str) -> str:
    return ostree(repo, "cat", rev, path)
