"""Reading the real rpm-md metadata that a benchmark universe is synthesized from: every
package's identity, dependencies, file list and sizes (primary.xml and filelists.xml),
and the comps groups."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from fedostree.errors import FedostreeError

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"
RPM_NS = "{http://linux.duke.edu/metadata/rpm}"
FILELISTS_NS = "{http://linux.duke.edu/metadata/filelists}"
# Every dependency kind that primary.xml carries, in the order rpm prints them.
DEP_KINDS = (
    "provides", "requires", "conflicts", "obsoletes",
    "recommends", "suggests", "supplements", "enhances",
)  # fmt: skip
OPERATORS = {"EQ": "=", "LT": "<", "GT": ">", "LE": "<=", "GE": ">="}


@dataclass(frozen=True)
class Dependency:
    """One rpm:entry: a name (or a rich dependency), and an optional version comparison."""

    name: str
    flags: str = ""  # "", or a key of OPERATORS
    epoch: str = ""
    version: str = ""
    release: str = ""
    pre: bool = False

    def render(self) -> str:
        """The dependency as a spec file (and `rpm -q --requires`) spells it."""
        if not self.flags:
            return self.name
        evr = f"{self.epoch}:{self.version}" if self.epoch not in ("", "0") else self.version
        evr += f"-{self.release}" if self.release else ""
        return f"{self.name} {OPERATORS[self.flags]} {evr}"


@dataclass(frozen=True)
class PackageFile:
    path: str
    kind: str  # "file", "dir" or "ghost", as filelists.xml says


@dataclass(frozen=True)
class RealPackage:
    """One package of the real repository, as its metadata describes it."""

    pkgid: str
    name: str
    arch: str
    epoch: int
    version: str
    release: str
    summary: str
    description: str
    license: str
    url: str
    vendor: str
    packager: str
    buildhost: str
    sourcerpm: str
    buildtime: int
    installed_size: int
    archive_size: int  # the uncompressed cpio payload
    payload_size: int  # the compressed payload: the package minus its header
    deps: Mapping[str, tuple[Dependency, ...]]
    files: tuple[PackageFile, ...]

    @property
    def evr(self) -> str:
        return f"{self.epoch}:{self.version}-{self.release}" if self.epoch else self.vr

    @property
    def vr(self) -> str:
        return f"{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"


@dataclass(frozen=True)
class SourceRepo:
    """The real repository: where its metadata files are, and what revision it is."""

    path: Path  # the directory holding repodata/
    revision: str  # sha256 of repomd.xml
    files: Mapping[str, Path]  # metadata type -> existing local file

    def comps_xml(self) -> bytes:
        """The comps groups file, uncompressed (empty when the repository has none)."""
        for kind in ("group", "group_gz", "group_xz", "group_zck"):
            if kind in self.files:
                return read_maybe_compressed(self.files[kind])
        return b""


def open_source(path: Path) -> SourceRepo:
    """Locate the metadata files of the rpm-md repository at path (a dir with repodata/)."""
    repomd = Path(path) / "repodata" / "repomd.xml"
    try:
        data = repomd.read_bytes()
        root = ET.fromstring(data)
    except (OSError, ET.ParseError) as e:
        raise FedostreeError(f"{repomd}: cannot read the repository metadata: {e}") from e
    files = {}
    for entry in root.iter(f"{REPO_NS}data"):
        location = entry.find(f"{REPO_NS}location")
        local = Path(path) / str(location.get("href") if location is not None else "")
        if local.is_file():  # repomd.xml may list files that were not copied (other.xml)
            files[str(entry.get("type"))] = local
    for kind in ("primary", "filelists"):
        if kind not in files:
            raise FedostreeError(f"{repomd}: the repository has no {kind} metadata file")
    return SourceRepo(Path(path), hashlib.sha256(data).hexdigest(), files)


def read_maybe_compressed(path: Path) -> bytes:
    """The file's bytes, decompressed by its suffix (.gz, .xz, .bz2 or none)."""
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            return gzip.decompress(data)
        if path.suffix == ".xz":
            return lzma.decompress(data)
        if path.suffix == ".bz2":
            return bz2.decompress(data)
        return data
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise FedostreeError(f"{path}: cannot read: {e}") from e


def load_packages(source: SourceRepo) -> list[RealPackage]:
    """Every package of primary.xml, with its file list from filelists.xml."""
    files = dict(parse_filelists(source.files["filelists"]))
    root = parse_xml(source.files["primary"])
    packages = []
    for element in root.iter(f"{COMMON_NS}package"):
        package = parse_package(element, files)
        packages.append(package)
    return packages


def parse_xml(path: Path) -> ET.Element:
    try:
        return ET.fromstring(read_maybe_compressed(path))
    except ET.ParseError as e:
        raise FedostreeError(f"{path}: not valid XML: {e}") from e


def parse_filelists(path: Path) -> Iterator[tuple[str, tuple[PackageFile, ...]]]:
    for element in parse_xml(path).iter(f"{FILELISTS_NS}package"):
        entries = element.iter(f"{FILELISTS_NS}file")
        yield (
            str(element.get("pkgid")),
            tuple(PackageFile(e.text or "", e.get("type", "file")) for e in entries),
        )


def parse_package(element: ET.Element, files: Mapping[str, tuple[PackageFile, ...]]) -> RealPackage:
    def text(parent: ET.Element, tag: str) -> str:
        return (parent.findtext(tag) or "").strip()

    fmt = element.find(f"{COMMON_NS}format")
    version, size = element.find(f"{COMMON_NS}version"), element.find(f"{COMMON_NS}size")
    if fmt is None or version is None or size is None:
        raise FedostreeError(f"primary.xml: incomplete package {text(element, COMMON_NS + 'name')}")
    pkgid = text(element, f"{COMMON_NS}checksum")
    header = fmt.find(f"{RPM_NS}header-range")
    header_end = int(header.get("end", "0")) if header is not None else 0
    timing = element.find(f"{COMMON_NS}time")
    return RealPackage(
        pkgid=pkgid,
        name=text(element, f"{COMMON_NS}name"),
        arch=text(element, f"{COMMON_NS}arch"),
        epoch=int(version.get("epoch") or 0),
        version=str(version.get("ver")),
        release=str(version.get("rel")),
        summary=text(element, f"{COMMON_NS}summary"),
        description=(element.findtext(f"{COMMON_NS}description") or "").strip("\n"),
        license=text(fmt, f"{RPM_NS}license"),
        url=text(element, f"{COMMON_NS}url"),
        vendor=text(fmt, f"{RPM_NS}vendor"),
        packager=text(element, f"{COMMON_NS}packager"),
        buildhost=text(fmt, f"{RPM_NS}buildhost"),
        sourcerpm=text(fmt, f"{RPM_NS}sourcerpm"),
        buildtime=int(timing.get("build", "0")) if timing is not None else 0,
        installed_size=int(size.get("installed", "0")),
        archive_size=int(size.get("archive", "0")),
        payload_size=max(0, int(size.get("package", "0")) - header_end),
        deps={kind: parse_deps(fmt.find(f"{RPM_NS}{kind}")) for kind in DEP_KINDS},
        files=files.get(pkgid, ()),
    )


def parse_deps(element: ET.Element | None) -> tuple[Dependency, ...]:
    if element is None:
        return ()
    return tuple(
        Dependency(
            name=str(e.get("name")),
            flags=e.get("flags", ""),
            epoch=e.get("epoch", ""),
            version=e.get("ver", ""),
            release=e.get("rel", ""),
            pre=e.get("pre") == "1",
        )
        for e in element.iter(f"{RPM_NS}entry")
    )


def split_sourcerpm(sourcerpm: str) -> tuple[str, str, str]:
    """NAME-VERSION-RELEASE.src.rpm -> (name, version, release)."""
    stem = sourcerpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    name_version, _, release = stem.rpartition("-")
    name, _, version = name_version.rpartition("-")
    if not (name and version and release):
        raise FedostreeError(f"cannot parse the source package name {sourcerpm!r}")
    return name, version, release
