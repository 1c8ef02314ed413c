"""rpm-md repository metadata, fetched with librepo into a cache keyed by repomd.xml's
sha256. librepo does the mirror work: a list of baseurls is a list of mirrors, a metalink
or a mirrorlist names more, a dead mirror is skipped for the next one, and a metalink's
checksum of repomd.xml is verified before any other file is fetched."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import librepo
from gi.repository import GLib

from fedostree.engine.repofile import RepoConfig
from fedostree.errors import FedostreeError

METADATA_TYPES = ["primary", "filelists", "group", "group_gz"]
CONNECT_TIMEOUT = 20  # seconds

log = logging.getLogger(__name__)


def _log_librepo_warnings() -> None:
    """librepo prints a GLib warning for what it also raises (a metalink that cannot be
    fetched, say); the error we raise says it once, so its warnings go to the debug log."""

    def handler(_domain: str, _level: GLib.LogLevelFlags, message: str, *_data: object) -> None:
        log.debug("librepo: %s", message)

    levels = GLib.LogLevelFlags.LEVEL_WARNING | GLib.LogLevelFlags.LEVEL_MESSAGE
    GLib.log_set_handler("librepo", levels, handler)


_log_librepo_warnings()


@dataclass(frozen=True)
class RepoMetadata:
    config: RepoConfig
    path: Path  # local directory holding repodata/
    revision: str  # sha256 of repomd.xml: changes whenever the repository does

    @property
    def lockfile_only(self) -> bool:
        """From lockfile-repos: only packages a lockfile pins may come from it."""
        return self.config.lockfile_only

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


def cached_metadata(config: RepoConfig, cachedir: Path) -> RepoMetadata | None:
    """The metadata fetched last time, without asking the repository (dnf's -C)."""
    dest = cachedir / "repos" / _safe_name(config.id)
    if not (dest / ".revision").is_file():
        return None
    return RepoMetadata(config, dest, (dest / ".revision").read_text())


def fetch_revision(config: RepoConfig, cachedir: Path) -> str:
    """The repository's current revision (sha256 of repomd.xml), fetching repomd.xml alone."""
    staged = _download(config, cachedir, only_repomd=True)
    try:
        return _sha256(staged / "repodata" / "repomd.xml")
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def remote_handle(config: RepoConfig) -> librepo.Handle:
    """A librepo handle on the repository's mirrors, as libdnf sets one up: the baseurls
    first, then the mirrors of the metalink or mirrorlist (fetched by librepo)."""
    handle = librepo.Handle()
    handle.setopt(librepo.LRO_REPOTYPE, librepo.LR_YUMREPO)
    if config.baseurls:
        handle.setopt(librepo.LRO_URLS, list(config.baseurls))
    if config.metalink:
        handle.setopt(librepo.LRO_METALINKURL, config.metalink)
    if config.mirrorlist:
        handle.setopt(librepo.LRO_MIRRORLISTURL, config.mirrorlist)
    handle.setopt(librepo.LRO_CONNECTTIMEOUT, CONNECT_TIMEOUT)
    return handle


def _download(config: RepoConfig, cachedir: Path, *, only_repomd: bool) -> Path:
    """Download into a fresh staging directory under cachedir; librepo verifies checksums
    (repomd.xml against the metalink's, the other files against repomd.xml's)."""
    cachedir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".repo-", dir=cachedir))
    failures: list[str] = []
    handle = remote_handle(config)
    handle.setopt(librepo.LRO_DESTDIR, str(staging))
    handle.setopt(librepo.LRO_CHECKSUM, True)
    handle.setopt(librepo.LRO_YUMDLIST, [] if only_repomd else METADATA_TYPES)
    handle.setopt(librepo.LRO_HMFCB, _record_failure(config, failures))
    try:
        handle.perform()
    except librepo.LibrepoException as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise FedostreeError(
            f"repo '{config.id}' ({config.location}): cannot fetch metadata: "
            f"{_explain(e, failures)}"
        ) from e
    return staging


def _record_failure(config: RepoConfig, failures: list[str]) -> object:
    """librepo's callback for each mirror that failed: what it said, and where."""

    def record(_data: object, message: str, url: str, what: str) -> int:
        if config.metalink and what == "repomd.xml" and "checksum" in message:
            message = f"does not match the metalink's checksum: {message}"
        failures.append(librepo_message(message, url))
        return int(librepo.CB_OK)

    return record


def _explain(e: librepo.LibrepoException, failures: list[str]) -> str:
    """librepo's own message only says all mirrors were tried; each mirror's says why."""
    return "; ".join(dict.fromkeys(failures)) or librepo_message(
        e.args[1] if len(e.args) > 1 else e
    )


def librepo_message(message: object, url: str = "") -> str:
    """One line; prefixed by the URL when librepo's message does not name it already."""
    text = " ".join(str(message).split())
    return f"{url}: {text}" if url and url not in text else text


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
