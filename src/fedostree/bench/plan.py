"""Planning the synthesized universe: what each package's files become (regular files of
a size, directories, ghosts, symlinks), and which rpmbuild runs build which packages.

filelists.xml does not say which entries are symlinks. Two kinds are recognized: a
"file" that other paths lie under (/bin, /lib: symlinks to usr/...), and the
/usr/lib/.build-id links. Every other file gets a share of the package's installed size
(a deterministic log-normal weight per path), with content as compressible as the real
package's payload was."""

from __future__ import annotations

import hashlib
import posixpath
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fedostree.bench.metadata import RealPackage, split_sourcerpm

BUILD_ID_LINK = re.compile(r"^/usr/lib/\.build-id/[0-9a-f]{2}/[0-9a-f]{20,}(\.\d+)?(\.debug)?$")
EXECUTABLE = re.compile(r"/(s?bin|libexec)/|\.so(\.[0-9.]+)?$")
SIZE_SIGMA = 1.6  # spread of the log-normal file size weights
MIN_FILE_SIZE = 4  # room for the signature that makes rpmbuild's libmagic quick (payload.py)


@dataclass(frozen=True)
class PlannedFile:
    path: str
    kind: str  # "file", "dir", "ghost" or "symlink"
    mode: int = 0o644
    size: int = 0  # regular files
    target: str = ""  # symlinks


@dataclass(frozen=True)
class PlannedPackage:
    real: RealPackage
    files: tuple[PlannedFile, ...]
    entropy_bits: int  # 1..8 bits of information per payload byte

    @property
    def payload_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class Build:
    """One rpmbuild run: packages of one source package and one architecture whose files
    do not collide (a source whose packages share paths, such as coreutils and
    coreutils-single, is built in several runs)."""

    source: str  # NAME-VERSION-RELEASE.src.rpm
    arch: str  # x86_64, i686 or noarch
    slot: int
    packages: tuple[PlannedPackage, ...]  # the main package (named like the source) first

    @property
    def id(self) -> str:
        name, version, release = split_sourcerpm(self.source)
        return f"{name}-{version}-{release}.{self.arch}.{self.slot}"

    @property
    def main(self) -> PlannedPackage | None:
        first = self.packages[0]
        return first if first.real.name == split_sourcerpm(self.source)[0] else None

    @property
    def staged_bytes(self) -> int:
        """About the room the staged tree takes (a page per entry for tmpfs)."""
        return sum(p.payload_bytes + 4096 * len(p.files) for p in self.packages)

    @property
    def cost(self) -> int:
        """A rough build time, to start the longest builds first."""
        return sum(p.payload_bytes + 20_000 * len(p.files) for p in self.packages)


def plan_builds(packages: Sequence[RealPackage], scale: float) -> list[Build]:
    """Every package planned at scale and assigned to a build, longest builds first."""
    symlinks = symlinked_dirs(packages)
    planned = [plan_package(p, scale, symlinks) for p in packages]
    builds = [
        build
        for (source, arch), group in group_by_source(planned).items()
        for build in split_colliding(source, arch, group)
    ]
    return sorted(builds, key=lambda b: (-b.cost, b.id))


def group_by_source(
    packages: Iterable[PlannedPackage],
) -> dict[tuple[str, str], list[PlannedPackage]]:
    groups: dict[tuple[str, str], list[PlannedPackage]] = defaultdict(list)
    for package in packages:
        groups[(package.real.sourcerpm, package.real.arch)].append(package)
    return groups


def split_colliding(source: str, arch: str, packages: list[PlannedPackage]) -> list[Build]:
    """Put the packages into as few builds as possible without two of them sharing a
    file (one buildroot holds one file per path) or a file on the other's directory path."""
    source_name = split_sourcerpm(source)[0]
    ordered = sorted(packages, key=lambda p: (p.real.name != source_name, p.real.name))
    slots: list[tuple[set[str], set[str], list[PlannedPackage]]] = []
    for package in ordered:
        owned, dirs = disk_paths(package)
        for slot_owned, slot_dirs, members in slots:
            if not (owned & slot_owned or owned & slot_dirs or dirs & slot_owned):
                slot_owned |= owned
                slot_dirs |= dirs
                members.append(package)
                break
        else:
            slots.append((owned, dirs, [package]))
    return [Build(source, arch, i, tuple(members)) for i, (_, _, members) in enumerate(slots)]


def disk_paths(package: PlannedPackage) -> tuple[set[str], set[str]]:
    """The non-directory paths the package puts into the buildroot, and the directories
    that it needs (listed ones and the parents of everything)."""
    owned = {f.path for f in package.files if f.kind in ("file", "symlink")}
    dirs = {f.path for f in package.files if f.kind == "dir"}
    for f in package.files:
        parent = posixpath.dirname(f.path)
        while parent not in dirs and parent not in ("/", ""):
            dirs.add(parent)
            parent = posixpath.dirname(parent)
    return owned, dirs


# --- files ----------------------------------------------------------------------------------


def symlinked_dirs(packages: Iterable[RealPackage]) -> dict[str, str]:
    """Listed "files" that other paths lie under: symlinks to a directory (/bin -> usr/bin),
    mapped to their relative target."""
    files: set[str] = set()
    dirs: set[str] = set()
    ancestors: set[str] = set()
    for package in packages:
        for entry in package.files:
            if entry.kind in ("file", "dir"):  # ghosts stay ghosts (/var/run)
                (dirs if entry.kind == "dir" else files).add(entry.path)
            parent = posixpath.dirname(entry.path)
            while parent not in ancestors and parent not in ("/", ""):
                ancestors.add(parent)
                parent = posixpath.dirname(parent)
    links = {}
    for path in sorted(files & ancestors):
        target = "/usr" + path if "/usr" + path in dirs else ""
        links[path] = posixpath.relpath(target, posixpath.dirname(path)) if target else ""
    return links


def plan_package(package: RealPackage, scale: float, symlinks: Mapping[str, str]) -> PlannedPackage:
    regular = [f.path for f in package.files if f.kind == "file" and f.path not in symlinks]
    link_targets = build_id_targets(package, regular)
    regular = [path for path in regular if path not in link_targets]
    links = {
        **link_targets,
        **{f.path: symlinks[f.path] for f in package.files if f.path in symlinks},
    }
    link_bytes = sum(len(target) for target in links.values() if target)
    sizes = spread_bytes(max(0, round(package.installed_size * scale) - link_bytes), regular)
    files = []
    for entry in package.files:
        if links.get(entry.path):
            files.append(PlannedFile(entry.path, "symlink", 0o777, target=links[entry.path]))
        elif entry.kind == "dir" or entry.path in links:
            files.append(PlannedFile(entry.path, "dir", 0o755))
        elif entry.kind == "ghost":
            files.append(PlannedFile(entry.path, "ghost", 0o644))
        else:
            files.append(PlannedFile(entry.path, "file", file_mode(entry.path), sizes[entry.path]))
    return PlannedPackage(package, tuple(files), entropy_bits(package))


def build_id_targets(package: RealPackage, regular: Sequence[str]) -> dict[str, str]:
    """Each /usr/lib/.build-id link points, as rpm writes them, at one of the package's
    executables or libraries (or any of its files)."""
    others = sorted(path for path in regular if not BUILD_ID_LINK.match(path))
    candidates = [path for path in others if EXECUTABLE.search(path)] or others or ["/usr/lib"]
    return {
        path: "../../../.." + candidates[path_hash(path) % len(candidates)]
        for path in regular
        if BUILD_ID_LINK.match(path)
    }


def spread_bytes(total: int, paths: Sequence[str]) -> dict[str, int]:
    """Split total bytes over paths by deterministic log-normal weights, at least
    MIN_FILE_SIZE bytes each when there are enough; the rounding remainder goes to the
    largest file."""
    if not paths:
        return {}
    floor = min(MIN_FILE_SIZE, total // len(paths))
    spread = total - floor * len(paths)
    weights = {path: random.Random(path).lognormvariate(0.0, SIZE_SIGMA) for path in paths}
    whole = sum(weights.values())
    sizes = {path: floor + int(spread * weight / whole) for path, weight in weights.items()}
    largest = max(paths, key=lambda path: (weights[path], path))
    sizes[largest] += total - sum(sizes.values())
    return sizes


def file_mode(path: str) -> int:
    return 0o755 if EXECUTABLE.search(path) else 0o644


def entropy_bits(package: RealPackage) -> int:
    """How many bits per byte the content carries, so that it compresses about as well
    as the real payload did (8: incompressible, like firmware that is already xz'd)."""
    if package.archive_size <= 0:
        return 8
    return max(1, min(8, round(8 * package.payload_size / package.archive_size)))


def path_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
