"""rpm-md repository metadata: the `.repo` files that name repositories, and fetching
their metadata with librepo (checksums verified) into a cache keyed by repomd.xml."""

from __future__ import annotations

import configparser
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import librepo

from fedostree.errors import ConfigError, FedostreeError

METADATA_TYPES = ["primary", "filelists", "group", "group_gz"]


@dataclass(frozen=True)
class RepoConfig:
    id: str
    baseurl: str
    source: Path  # the .repo file that defines it


@dataclass(frozen=True)
class RepoMetadata:
    config: RepoConfig
    path: Path  # local directory holding repodata/
    revision: str  # sha256 of repomd.xml: changes whenever the repository does
    lockfile_only: bool = False  # from `lockfile-repos`: only locked packages come from it

    def files(self) -> dict[str, Path]:
        """The local paths of the metadata files, by type (primary, filelists, group, ...)."""
        paths = self._read_local(METADATA_TYPES).getinfo(librepo.LRR_YUM_REPO)
        return {k: Path(v) for k, v in paths.items() if k in METADATA_TYPES and v}

    def generated(self) -> int:
        """When the metadata was generated: repomd.xml's newest record timestamp (as
        libdnf's `timestamp_generated`), in seconds since the epoch."""
        repomd = self._read_local([]).getinfo(librepo.LRR_YUM_REPOMD)
        stamps = [r["timestamp"] for r in repomd.values() if isinstance(r, dict)]
        return max((int(s) for s in stamps if s), default=0)

    def _read_local(self, types: list[str]) -> librepo.Result:
        handle = librepo.Handle()
        handle.setopt(librepo.LRO_REPOTYPE, librepo.LR_YUMREPO)
        handle.setopt(librepo.LRO_URLS, [str(self.path)])
        handle.setopt(librepo.LRO_LOCAL, True)
        handle.setopt(librepo.LRO_IGNOREMISSING, True)
        handle.setopt(librepo.LRO_YUMDLIST, types)
        return handle.perform()


def load_repo_configs(
    names: Iterable[str], dirs: Iterable[Path], variables: Mapping[str, str], where: str
) -> list[RepoConfig]:
    """Find each named repository in the `*.repo` files of dirs, in the order named."""
    available: dict[str, RepoConfig] = {}
    for d in dirs:
        for repo_file in sorted(Path(d).glob("*.repo")):
            for config in _parse_repo_file(repo_file, variables):
                available.setdefault(config.id, config)
    out = []
    for i, name in enumerate(names):
        if name not in available:
            searched = ", ".join(str(d) for d in dirs)
            raise ConfigError(
                f"{where}: repos[{i}]: '{name}' is not defined in any *.repo file in {searched}"
            )
        out.append(available[name])
    return out


def _parse_repo_file(path: Path, variables: Mapping[str, str]) -> list[RepoConfig]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
    except configparser.Error as e:
        raise ConfigError(f"{path}: not a valid .repo file: {e.message}") from e
    out = []
    for section in parser.sections():
        baseurl = parser[section].get("baseurl", "").split()
        if not baseurl:
            raise ConfigError(f"{path}: [{section}]: baseurl: missing")
        out.append(RepoConfig(section, _substitute(baseurl[0], variables), path))
    return out


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    for name, value in variables.items():
        text = text.replace("${" + name + "}", value).replace("$" + name, value)
    return text


def fetch_metadata(config: RepoConfig, cachedir: Path) -> RepoMetadata:
    """Fetch the repository's metadata unless the cached copy has the same repomd.xml."""
    dest = cachedir / "repos" / _safe_name(config.id)
    remote_repomd = _download(config, cachedir, only_repomd=True)
    try:
        revision = _sha256(remote_repomd / "repodata" / "repomd.xml")
        if (dest / ".revision").is_file() and (dest / ".revision").read_text() == revision:
            return RepoMetadata(config, dest, revision)
    finally:
        shutil.rmtree(remote_repomd, ignore_errors=True)
    staged = _download(config, cachedir, only_repomd=False)
    revision = _sha256(staged / "repodata" / "repomd.xml")
    (staged / ".revision").write_text(revision)
    _replace_dir(staged, dest)
    return RepoMetadata(config, dest, revision)


def fetch_revision(config: RepoConfig, cachedir: Path) -> str:
    """The repository's current revision (sha256 of repomd.xml), fetching repomd.xml alone."""
    staged = _download(config, cachedir, only_repomd=True)
    try:
        return _sha256(staged / "repodata" / "repomd.xml")
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _download(config: RepoConfig, cachedir: Path, *, only_repomd: bool) -> Path:
    """Download into a fresh staging directory under cachedir; librepo verifies checksums."""
    cachedir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".repo-", dir=cachedir))
    handle = librepo.Handle()
    handle.setopt(librepo.LRO_REPOTYPE, librepo.LR_YUMREPO)
    handle.setopt(librepo.LRO_URLS, [config.baseurl])
    handle.setopt(librepo.LRO_DESTDIR, str(staging))
    handle.setopt(librepo.LRO_CHECKSUM, True)
    handle.setopt(librepo.LRO_YUMDLIST, [] if only_repomd else METADATA_TYPES)
    handle.setopt(librepo.LRO_CONNECTTIMEOUT, 20)
    handle.setopt(librepo.LRO_MAXMIRRORTRIES, 1)
    try:
        handle.perform()
    except librepo.LibrepoException as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise FedostreeError(
            f"repo '{config.id}' ({config.baseurl}): cannot fetch metadata: {_librepo_message(e)}"
        ) from e
    return staging


def _librepo_message(e: librepo.LibrepoException) -> str:
    args = e.args
    return str(args[1] if len(args) > 1 else args[0]).strip()


def _replace_dir(staged: Path, dest: Path) -> None:
    """Swap the new metadata in with renames, so the cache never holds half a repository."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    old = dest.with_name(dest.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.rename(dest, old)
    os.rename(staged, dest)
    shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safe_name(repo_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in repo_id)
