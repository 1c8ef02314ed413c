"""Stand-in package universes for the upstream manifests in data/treefiles/upstream.

Fedora's mirrors are out of reach, so the Fedora CoreOS and Silverblue manifests compose
against local repositories of stand-ins: RPMs with the names, versions and a plausible
dependency web of the real ones, whose programs are the host's bash, busybox and small
shell scripts (tests/support/standins_scripts.py), enough to run the manifests' scriptlets
and postprocess scripts.

A stand-in is a `PlannedPackage` of the sample universe (fedostree.sample), built the same
way: every package a subpackage of one spec, one rpmbuild run, then createrepo_c. A
session builds each distinct stand-in once (`StandinRepos`): a repository that differs
from an earlier one in one package costs one small rpmbuild.

This module: the stand-in's content (`Content`), turning it into a package (`standin`),
building repositories, the session fixtures, and reading a manifest's package names."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fedostree.model.treefile_load import load_treefile
from fedostree.sample import universe
from fedostree.sample.plan import PlannedFile, PlannedPackage, Scriptlet, check_universe, plan_file
from fedostree.sample.shapes import FileSpec

UPSTREAM = Path(__file__).resolve().parents[2] / "data" / "treefiles" / "upstream"
FCOS_CONFIG = UPSTREAM / "fedora-coreos-config"
WORKSTATION_CONFIG = UPSTREAM / "workstation-ostree-config"
BASEARCH = "x86_64"
DOC_DIRS = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/")  # rpm marks these %doc
EVRA_RE = re.compile(
    r"^(?:(?P<epoch>\d+):)?(?P<version>[^:-]+)-(?P<release>[^-]+)\.(?P<arch>[^.]+)$"
)


@dataclass(frozen=True)
class Evra:
    """`E:V-R.ARCH` as rpm-ostree's lockfiles spell it (no `E:` when the epoch is 0)."""

    epoch: int
    version: str
    release: str
    arch: str

    @classmethod
    def parse(cls, text: str) -> Evra:
        match = EVRA_RE.match(text)
        if match is None:
            raise ValueError(f"not an E:V-R.ARCH: {text!r}")
        return cls(int(match["epoch"] or 0), match["version"], match["release"], match["arch"])

    @property
    def evr(self) -> str:
        return f"{self.epoch}:{self.version}-{self.release}" if self.epoch else self.vr

    @property
    def vr(self) -> str:
        return f"{self.version}-{self.release}"

    def __str__(self) -> str:
        return f"{self.evr}.{self.arch}"


@dataclass(frozen=True)
class Content:
    """What one stand-in ships and declares, beyond its README and LICENSE. Contents
    from several sources (the dependency table, the OS core, a universe's specials) add
    up with `+`."""

    requires: tuple[str, ...] = ()
    requires_pre: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    recommends: tuple[str, ...] = ()
    files: tuple[FileSpec, ...] = ()
    scriptlets: tuple[Scriptlet, ...] = ()

    def __add__(self, other: Content) -> Content:
        return Content(
            requires=self.requires + other.requires,
            requires_pre=self.requires_pre + other.requires_pre,
            provides=self.provides + other.provides,
            recommends=self.recommends + other.recommends,
            files=self.files + other.files,
            scriptlets=self.scriptlets + other.scriptlets,
        )


def standin(
    name: str, evra: Evra, content: Content = Content(), summary: str = ""
) -> PlannedPackage:
    """The package: content's files (plus a %doc README and a LICENSE) and declarations."""
    summary = summary or f"Stand-in for Fedora's {name}"
    version = evra.version
    files = [
        *(as_doc(plan_file(name, version, spec)) for spec in content.files),
        PlannedFile(f"/usr/share/doc/{name}", "dir", mode=0o755),
        PlannedFile(f"/usr/share/doc/{name}/README", "file", readme(name, evra), doc=True),
        PlannedFile(f"/usr/share/licenses/{name}", "dir", mode=0o755),
        PlannedFile(f"/usr/share/licenses/{name}/LICENSE", "file", f"{name}: MIT\n"),
    ]
    return PlannedPackage(
        name=name,
        version=version,
        release=evra.release,
        noarch=evra.arch == "noarch",
        summary=summary,
        license="MIT",
        requires=unique(dep for dep in content.requires if dep != name),
        requires_pre=unique(content.requires_pre),
        provides=unique(content.provides),
        files=tuple(sorted(unique_files(files), key=lambda f: f.path)),
        scriptlets=content.scriptlets,
        epoch=evra.epoch,
        recommends=unique(content.recommends),
    )


def as_doc(entry: PlannedFile) -> PlannedFile:
    doc = entry.kind != "dir" and entry.path.startswith(DOC_DIRS)
    return dataclasses.replace(entry, doc=True) if doc else entry


def readme(name: str, evra: Evra) -> str:
    return f"{name}-{evra}\n\nA fedostree test stand-in for the Fedora package {name}.\n"


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def unique_files(files: Iterable[PlannedFile]) -> list[PlannedFile]:
    """One entry per path: a later one replaces an earlier one (a special replacing a
    generic file)."""
    return list({f.path: f for f in files}.values())


# --- building repositories ----------------------------------------------------------------


def package_key(package: PlannedPackage) -> str:
    return hashlib.sha256(repr(package).encode()).hexdigest()[:24]


def universe_key(packages: Sequence[PlannedPackage]) -> str:
    return hashlib.sha256(" ".join(sorted(map(package_key, packages))).encode()).hexdigest()[:24]


@dataclass
class StandinRepos:
    """Stand-in repositories under root, each built once: RPMs are kept per stand-in
    (root/rpms/KEY/NAME-VR.ARCH.rpm), repositories per set of stand-ins (root/repos/KEY)."""

    root: Path
    built: dict[str, Path] = field(default_factory=dict)

    def repo(self, packages: Sequence[PlannedPackage]) -> Path:
        key = universe_key(packages)
        if key not in self.built:
            self.built[key] = self._assemble(packages, self.root / "repos" / key)
        return self.built[key]

    def _assemble(self, packages: Sequence[PlannedPackage], dest: Path) -> Path:
        check_universe(packages)
        self._build_missing(packages)
        (dest / "Packages").mkdir(parents=True)
        for package in packages:
            os.link(self._rpm(package), dest / "Packages" / package.filename)
        universe.run_createrepo(dest, None)
        return dest

    def _rpm(self, package: PlannedPackage) -> Path:
        return self.root / "rpms" / package_key(package) / package.filename

    def _build_missing(self, packages: Sequence[PlannedPackage]) -> None:
        missing = [p for p in packages if not self._rpm(p).is_file()]
        if not missing:
            return
        with tempfile.TemporaryDirectory(prefix="standins-", dir=self.root) as work:
            for package, rpm in zip(missing, universe.build_rpms(missing, Path(work)), strict=True):
                self._rpm(package).parent.mkdir(parents=True, exist_ok=True)
                os.replace(rpm, self._rpm(package))


@pytest.fixture(scope="session")
def standin_repos(tmp_path_factory: pytest.TempPathFactory) -> StandinRepos:
    return StandinRepos(tmp_path_factory.mktemp("standins"))


@pytest.fixture(scope="session")
def fcos_repo(standin_repos: StandinRepos) -> Path:
    """Stand-ins for every package of the FCOS lockfile, at its versions."""
    from tests.support.standins_fcos import fcos_standins

    return standin_repos.repo(fcos_standins(fcos_manifest_names(), fcos_lock_evras()))


@pytest.fixture(scope="session")
def silverblue_repo(standin_repos: StandinRepos) -> Path:
    from tests.support.standins_silverblue import silverblue_standins

    return standin_repos.repo(silverblue_standins(silverblue_manifest_names()))


# --- what the manifests name ------------------------------------------------------------


def manifest_names(path: Path) -> tuple[str, ...]:
    """The package names a manifest asks for on x86_64, as the treefile model flattens
    them (packages and packages-x86_64, includes and conditional includes followed)."""
    return load_treefile(path, basearch=BASEARCH).packages


def fcos_manifest_names() -> tuple[str, ...]:
    return manifest_names(FCOS_CONFIG / "manifest.yaml")


def silverblue_manifest_names() -> tuple[str, ...]:
    return manifest_names(WORKSTATION_CONFIG / "fedora-silverblue.yaml")


def read_lock_evras(path: Path) -> dict[str, Evra]:
    """rpm-ostree's lockfile: {"packages": {NAME: {"evra": "E:V-R.ARCH", ...}}}."""
    entries = json.loads(path.read_text())["packages"]
    return {name: Evra.parse(entry["evra"]) for name, entry in entries.items()}


def fcos_lock_evras() -> dict[str, Evra]:
    return read_lock_evras(FCOS_CONFIG / f"manifest-lock.{BASEARCH}.json")


def parse_table(text: str) -> dict[str, tuple[str, ...]]:
    """`NAME: DEP DEP ...` lines (blank lines and # comments ignored) as a dict."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, deps = line.partition(":")
            table[name.strip()] = table.get(name.strip(), ()) + tuple(deps.split())
    return table


__all__ = [
    "Content",
    "Evra",
    "PlannedPackage",
    "StandinRepos",
    "fcos_repo",
    "silverblue_repo",
    "standin",
    "standin_repos",
]
