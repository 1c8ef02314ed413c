"""Reading the sample universe (fedostree.sample) the way its tests do: with rpm, librpm,
libcomps and libsolv, and a shell in an extracted tree."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import libcomps
import pytest
import rpm
import solv

from fedostree.engine.rpmfile import header_from_blob, read_header_blob

BASE = ["kernel", "ostree", "fedora-release", "lvm2", "btrfs-progs", "e2fsprogs", "xfsprogs"]
GNOME = ["core", "standard", "gnome-desktop"]
TREES = {
    "base/minimal": ["@core"],
    "server/docker-io": ["@core", "@standard", "docker-io"],
    "server/freeipa-server": ["@core", "@standard", "@freeipa-server"],
    "workstation/gnome-core": [f"@{g}" for g in GNOME],
    "workstation/gnome-default": [f"@{g}" for g in [*GNOME, "firefox", "gnome-games", "libreoffice"]],
    "workstation/gnome-development-and-virt": [
        f"@{g}" for g in [*GNOME, "firefox", "gnome-games", "libreoffice", "virtualization",
                          "development-tools"]
    ],
}  # fmt: skip


def repomd_locations(repo: Path) -> dict[str, Path]:
    ns = {"r": "http://linux.duke.edu/metadata/repo"}
    root = ET.parse(repo / "repodata" / "repomd.xml").getroot()
    hrefs = {data.get("type"): data.find("r:location", ns) for data in root.findall("r:data", ns)}
    return {
        kind: repo / str(loc.get("href")) for kind, loc in hrefs.items() if kind and loc is not None
    }


def rpm_path(repo: Path, name: str) -> Path:
    """The RPM of that name (files are named NAME-VERSION-RELEASE.ARCH.rpm)."""
    rpms = (repo / "Packages").glob(f"{name}-*.rpm")
    (found,) = [rpm for rpm in rpms if rpm.name.rsplit("-", 2)[0] == name]
    return found


def rpm_query(rpm: Path, fmt: str) -> str:
    return subprocess.run(
        ["rpm", "-qp", "--qf", fmt, str(rpm)], capture_output=True, text=True, check=True
    ).stdout


def rpm_list(rpm: Path, *options: str) -> list[str]:
    out = subprocess.run(
        ["rpm", "-qp", *options, str(rpm)], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def file_table(rpm: Path) -> dict[str, tuple[str, str, str, str, str]]:
    """path -> (mode, user, group, flags, link target)"""
    tags = ("FILENAMES", "FILEMODES:perms", "FILEUSERNAME", "FILEGROUPNAME", "FILEFLAGS:fflags")
    fmt = "[" + "".join(f"%{{{tag}}}\t" for tag in tags) + "%{FILELINKTOS}\n]"
    rows = [line.split("\t") for line in rpm_query(rpm, fmt).splitlines()]
    return {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in rows}


def comps_members(comps: libcomps.Comps, gid: str) -> dict[str, str]:
    kinds = {libcomps.PACKAGE_TYPE_MANDATORY: "mandatory", libcomps.PACKAGE_TYPE_DEFAULT: "default"}
    (group,) = [g for g in comps.groups if g.id == gid]
    return {p.name: kinds.get(p.type, "other") for p in group.packages}


def header(rpm_file: Path) -> rpm.hdr:
    return header_from_blob(read_header_blob(rpm_file))


def file_triggers(rpm_file: Path) -> list[tuple[str, str, str, str]]:
    """(type, path prefix, program, script) of each transaction file trigger."""
    hdr = header(rpm_file)
    names = hdr[rpm.RPMTAG_TRANSFILETRIGGERNAME]
    index = hdr[rpm.RPMTAG_TRANSFILETRIGGERINDEX]
    types = hdr[rpm.RPMTAG_TRANSFILETRIGGERTYPE]
    programs = hdr[rpm.RPMTAG_TRANSFILETRIGGERSCRIPTPROG]
    scripts = hdr[rpm.RPMTAG_TRANSFILETRIGGERSCRIPTS]
    return [(types[i], name, programs[i], scripts[i]) for name, i in zip(names, index, strict=True)]


def extract(rpm_file: Path, root: Path) -> None:
    subprocess.run(f"rpm2cpio {rpm_file} | cpio -idm --quiet", shell=True, cwd=root, check=True)


def load_comps(repo: Path) -> libcomps.Comps:
    parsed = libcomps.Comps()
    parsed.fromxml_f(str(repomd_locations(repo)["group"]))
    return parsed


def load_pool(repo: Path) -> solv.Pool:
    """A libsolv pool of the repository's packages; free() it when done."""
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    pool.setarch("x86_64")
    solv_repo = pool.add_repo("sample")
    primary = solv.xfopen(str(repomd_locations(repo)["primary"]))
    solv_repo.add_rpmmd(primary, None)
    primary.close()
    pool.addfileprovides()
    pool.createwhatprovides()
    return pool


def resolve(pool: solv.Pool, names: list[str]) -> set[str]:
    jobs = []
    for name in names:
        selection = pool.select(name, solv.Selection.SELECTION_NAME)
        assert not selection.isempty(), f"{name} is not in the repository"
        jobs += selection.jobs(solv.Job.SOLVER_INSTALL)
    solver = pool.Solver()
    problems = solver.solve(jobs)
    assert not problems, [str(p) for p in problems]
    return {s.name for s in solver.transaction().newsolvables()}


def expand(comps: libcomps.Comps, items: list[str]) -> list[str]:
    names = list(BASE)
    for item in items:
        names += list(comps_members(comps, item[1:])) if item.startswith("@") else [item]
    return names


def bwrap_works() -> str | None:
    if shutil.which("bwrap") is None:
        return "bwrap is not installed"
    probe = subprocess.run(["bwrap", "--bind", "/", "/", "true"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"bwrap does not work here: {probe.stderr.strip()}"


@pytest.fixture(scope="module")
def comps(sample_repo: Path) -> libcomps.Comps:
    """The sample universe's comps (fixtures shared by the sample tests)."""
    return load_comps(sample_repo)


@pytest.fixture(scope="module")
def pool(sample_repo: Path) -> Iterator[solv.Pool]:
    """The sample universe's packages in a libsolv pool."""
    pool = load_pool(sample_repo)
    yield pool
    pool.free()
