"""rpm-ostree's lockfile as one typed model: the version (and digest) each package is
pinned to, read from JSON or YAML (by extension) and written in rpm-ostree's JSON shape:

    {"packages": {"NAME": {"evra": "[E:]V-R.ARCH", "digest": "sha256:HEX",
                           "metadata": {"sourcerpm": "SRCNAME"}}},
     "metadata": {"generated": "2024-10-23T00:00:00Z",
                  "rpmmd_repos": {"REPO": {"generated": "2024-10-23T19:10:40Z"}}}}

An entry gives `evra` or, as the overrides Fedora CoreOS ships do, `evr` (any
architecture); `digest` and `metadata` are optional. Several lockfiles merge in order, a
later one's entry replacing an earlier one's (FCOS passes `manifest-lock.x86_64.json`,
then `manifest-lock.overrides.yaml`). rpm-ostree: rust/src/lockfile.rs."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.document import Format, read_document, write_document

FORMATS: dict[str, Format] = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}
_EVR = re.compile(r"(?:\d+:)?[^\s:-]+-[^\s:-]+")
_ARCH = re.compile(r"\w+")
_DIGEST = re.compile(r"[a-z0-9]+:[0-9a-f]+")
_ENTRY_KEYS = ("evra", "evr", "digest", "metadata")


@dataclass(frozen=True)
class LockedPackage:
    """One package's pin. `arch` is None for an `evr` entry: any architecture."""

    name: str
    evr: str  # [EPOCH:]VERSION-RELEASE as the lockfile spells it
    arch: str | None = None
    digest: str | None = None  # ALGO:HEX, the repository metadata's checksum
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None  # the lockfile this entry comes from (the last naming it)

    @property
    def evra(self) -> str:
        return f"{self.evr}.{self.arch}" if self.arch else self.evr

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evra}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"evra": self.evra} if self.arch else {"evr": self.evr}
        if self.digest is not None:
            out["digest"] = self.digest
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


@dataclass(frozen=True)
class Lockfile:
    """Locked packages by name, with the lockfile's metadata: when it was generated and
    when each rpm-md repository it was generated from was (RFC 3339 strings)."""

    packages: Mapping[str, LockedPackage]
    generated: str | None = None
    rpmmd_repos: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[Path, ...] = ()

    def merged(self, later: Lockfile) -> Lockfile:
        """rpm-ostree's merge: the later lockfile's entries win; metadata stays the first's."""
        return Lockfile(
            {**self.packages, **later.packages},
            self.generated,
            self.rpmmd_repos,
            (*self.sources, *later.sources),
        )

    def describe(self) -> str:
        """The lockfiles it was read from, for messages."""
        return " + ".join(str(p) for p in self.sources) or "lockfile"

    def to_json(self) -> dict[str, Any]:
        """rpm-ostree's shape and key order (`packages` sorted by name, then `metadata`)."""
        metadata: dict[str, Any] = {}
        if self.generated is not None:
            metadata["generated"] = self.generated
        metadata["rpmmd_repos"] = {
            repo: {"generated": ts} for repo, ts in sorted(self.rpmmd_repos.items())
        }
        packages = {name: self.packages[name].to_json() for name in sorted(self.packages)}
        return {"packages": packages, "metadata": metadata}


def load_lockfiles(paths: Iterable[Path]) -> Lockfile | None:
    """Read and merge the lockfiles in order; None when there are none."""
    merged: Lockfile | None = None
    for path in paths:
        lock = read_lockfile(path)
        merged = lock if merged is None else merged.merged(lock)
    return merged


def read_lockfile(path: Path) -> Lockfile:
    return parse_lockfile(_read_document(path), path)


def write_lockfile(path: Path, lock: Lockfile) -> None:
    write_document(path, json.dumps(lock.to_json(), indent=2) + "\n")


def rfc3339(timestamp: float) -> str:
    """Seconds since the epoch as rpm-ostree writes times: `2024-10-23T19:10:40Z`."""
    moment = datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def today() -> str:
    """rpm-ostree's coarse `generated`: today (UTC) at midnight."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT00:00:00Z")


# --- parsing, with the key path of anything wrong -----------------------------------------


def _read_document(path: Path) -> Any:
    kind = FORMATS.get(path.suffix)
    if kind is None:
        raise ConfigError(f"{path}: unknown lockfile format (expected .json, .yaml or .yml)")
    return read_document(path, kind)


def parse_lockfile(data: Any, path: Path) -> Lockfile:
    top = _mapping(data, f"{path}", "packages, metadata", at_top=True)
    if "packages" not in top:
        raise ConfigError(f"{path}: packages: missing")
    entries = _mapping(_or_empty(top["packages"]), f"{path}: packages", None)
    packages = {
        str(name): _entry(str(name), value, path, f"{path}: packages.{name}")
        for name, value in entries.items()
    }
    generated, repos = _metadata(_or_empty(top.get("metadata")), f"{path}: metadata")
    return Lockfile(packages, generated, repos, (path,))


def _entry(name: str, value: Any, path: Path, where: str) -> LockedPackage:
    entry = _mapping(value, where, ", ".join(_ENTRY_KEYS))
    versions = [key for key in ("evra", "evr") if key in entry]
    if len(versions) != 1:
        raise ConfigError(f"{where}: expected exactly one of evra, evr")
    key = versions[0]
    text = _string(entry[key], f"{where}.{key}")
    evr, _, arch = text.rpartition(".") if key == "evra" else (text, "", None)
    if not _EVR.fullmatch(evr) or (key == "evra" and not _ARCH.fullmatch(arch or "")):
        shape = "[EPOCH:]VERSION-RELEASE" + (".ARCH" if key == "evra" else "")
        raise ConfigError(f"{where}.{key}: '{text}' is not {shape}")
    digest = entry.get("digest")
    if digest is not None and not _DIGEST.fullmatch(_string(digest, f"{where}.digest")):
        raise ConfigError(f"{where}.digest: '{digest}' is not ALGORITHM:HEX (sha256:...)")
    metadata = _mapping(_or_empty(entry.get("metadata")), f"{where}.metadata", None)
    return LockedPackage(name, evr, arch, digest, metadata, path)


def _metadata(value: Any, where: str) -> tuple[str | None, dict[str, str]]:
    meta = _mapping(value, where, "generated, rpmmd_repos")
    generated = _time(meta["generated"], f"{where}.generated") if "generated" in meta else None
    repos = {}
    for repo, info in _mapping(
        _or_empty(meta.get("rpmmd_repos")), f"{where}.rpmmd_repos", None
    ).items():
        at = f"{where}.rpmmd_repos.{repo}"
        fields = _mapping(info, at, "generated")
        if "generated" not in fields:
            raise ConfigError(f"{at}.generated: missing")
        repos[str(repo)] = _time(fields["generated"], f"{at}.generated")
    return generated, repos


def _mapping(value: Any, where: str, keys: str | None, at_top: bool = False) -> dict[Any, Any]:
    """A mapping; with keys, only those keys (rpm-ostree denies unknown fields)."""
    if not isinstance(value, dict):
        got = "a mapping at the top level" if at_top else "a mapping"
        raise ConfigError(f"{where}: expected {got}, got {type(value).__name__}")
    if keys is not None:
        unknown = sorted(str(k) for k in value if str(k) not in keys.split(", "))
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}' (expected {keys})")
    return value


def _or_empty(value: Any) -> Any:
    """An empty YAML key (`packages:`) reads as null: the same as an empty mapping."""
    return {} if value is None else value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _time(value: Any, where: str) -> str:
    """An RFC 3339 time; YAML reads an unquoted one as a datetime."""
    if isinstance(value, datetime.datetime):
        return rfc3339(value.replace(tzinfo=value.tzinfo or datetime.UTC).timestamp())
    text = _string(value, where)
    try:
        datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: '{text}' is not an RFC 3339 time") from None
    return text
