"""The vocabulary of the sample package catalog: what one package looks like before it
is planned (`Shape`), the files it ships (`FileSpec`) and the system accounts it creates.

The catalog (`catalog.py`) is written in these terms; `universe.py` turns shapes into
planned packages, a spec file and finally an rpm-md repository."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_VERSION = "1.0"
DEFAULT_RELEASE = "1.fc20"

# app: ships /usr/bin/NAME; data: ships /usr/share/NAME/NAME.dat (noarch by default);
# plain: only what its `files` say. Every package also gets a README and a COPYING.
Kind = Literal["app", "data", "plain"]
FileKind = Literal["file", "dir", "symlink", "host", "command"]
# rpm's transaction file triggers: run once after the transaction that installed (in) or
# removed (postun) any file below one of their path prefixes, matched paths on stdin.
TriggerPhase = Literal["transfiletriggerin", "transfiletriggerpostun"]


@dataclass(frozen=True)
class FileSpec:
    """One %files entry. `text` is the content of a file, the target of a symlink or the
    host path of a copied binary; a command's script is generated from its package."""

    path: str
    kind: FileKind
    text: str = ""
    mode: int = 0o644
    owner: str = "root:root"
    config: bool | None = None  # None: %config(noreplace) for regular files under /etc


@dataclass(frozen=True)
class SystemGroup:
    name: str
    gid: int


@dataclass(frozen=True)
class SystemUser:
    name: str
    uid: int
    gecos: str
    home: str
    shell: str = "/sbin/nologin"


@dataclass(frozen=True)
class FileTrigger:
    """`%PHASE -- PREFIX...` with a /bin/sh body (busybox sh in the sample trees)."""

    phase: TriggerPhase
    prefixes: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Shape:
    """A package as the catalog describes it; `{evr}` / `{evr:NAME}` in requires and
    provides stand for the planned epoch-less version-release of itself / of NAME."""

    version: str = DEFAULT_VERSION
    release: str = DEFAULT_RELEASE
    summary: str = ""
    license: str = "GPLv2+"
    kind: Kind = "app"
    noarch: bool | None = None  # None: noarch exactly when kind == "data"
    requires: tuple[str, ...] = ()
    requires_pre: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()  # sonames, each built as a real ELF shared object
    files: tuple[FileSpec, ...] = ()
    units: tuple[str, ...] = ()  # systemd units under /usr/lib/systemd/system
    groups: tuple[SystemGroup, ...] = ()  # created by %pre
    users: tuple[SystemUser, ...] = ()  # created by %pre, each with a same-named group
    post: str = ""
    posttrans: str = ""
    file_triggers: tuple[FileTrigger, ...] = ()


def text_file(
    path: str, text: str, *, mode: int = 0o644, owner: str = "root:root", config: bool | None = None
) -> FileSpec:
    return FileSpec(path, "file", text, mode, owner, config)


def directory(path: str, *, mode: int = 0o755, owner: str = "root:root") -> FileSpec:
    return FileSpec(path, "dir", mode=mode, owner=owner)


def symlink(path: str, target: str) -> FileSpec:
    return FileSpec(path, "symlink", target, mode=0o777)


def host_copy(path: str, source: str, *, mode: int = 0o755) -> FileSpec:
    return FileSpec(path, "host", source, mode)


def command(path: str, *, mode: int = 0o755, owner: str = "root:root") -> FileSpec:
    return FileSpec(path, "command", mode=mode, owner=owner)


def commands(*paths: str) -> tuple[FileSpec, ...]:
    return tuple(command(path) for path in paths)


def rebuild_trigger(prefix: str, body: str) -> tuple[FileTrigger, FileTrigger]:
    """The pair a cache's owner declares: rebuild it after a transaction that added or
    removed files below prefix (as Fedora's glibc, hicolor-icon-theme and glib2 do)."""
    return (
        FileTrigger("transfiletriggerin", (prefix,), body),
        FileTrigger("transfiletriggerpostun", (prefix,), body),
    )
