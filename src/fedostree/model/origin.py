"""A deployment's origin: what the admin asked for, in rpm-ostree's keyfile format.

    [origin]
    refspec=REMOTE:REF          (baserefspec= when packages are layered, as rpm-ostree
                                 writes it: the stock `ostree admin upgrade` then refuses
                                 it instead of dropping the layer)
    local-treefile=/abs/path/treefile.yaml   (a tree the client assembles itself:
                                 `rebase --local`; the refspec is then its local ref,
                                 fedostree/local/REF, without a remote)
    local-lockfiles=/abs/lock.json;          (`--lockfile`s of the local assembly)
    local-lockfile-strict=true
    [packages]
    requested=strace;htop;
    requested-local=SHA256:NEVRA;

The requests are kept as the admin typed them; what they resolved to is in the layered
commit's metadata."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import gi

gi.require_version("GLib", "2.0")
from gi.repository import GLib  # noqa: E402

from fedostree.errors import ConfigError  # noqa: E402

ORIGIN, PACKAGES = "origin", "packages"


@dataclass(frozen=True)
class LocalPackage:
    """A local .rpm the admin installed: its digest and NEVRA (rpm-ostree's `SHA256:NEVRA`)."""

    sha256: str
    nevra: str

    def __str__(self) -> str:
        return f"{self.sha256}:{self.nevra}"


@dataclass(frozen=True)
class Origin:
    refspec: str
    requested: tuple[str, ...] = ()  # package specs, in the order they were asked for
    requested_local: tuple[LocalPackage, ...] = field(default=())
    local_treefile: str | None = None  # absolute path: the client builds the tree itself
    local_lockfiles: tuple[str, ...] = ()
    local_lockfile_strict: bool = False

    @property
    def is_local(self) -> bool:
        return self.local_treefile is not None

    @property
    def layered(self) -> bool:
        return bool(self.requested or self.requested_local)

    def with_requests(
        self, requested: tuple[str, ...], requested_local: tuple[LocalPackage, ...]
    ) -> Origin:
        return replace(self, requested=requested, requested_local=requested_local)

    def with_refspec(self, refspec: str) -> Origin:
        """A pulled tree: what a local assembly recorded goes."""
        return replace(self, refspec=refspec, local_treefile=None, local_lockfiles=(),
                       local_lockfile_strict=False)  # fmt: skip

    def with_local(
        self, refspec: str, treefile: str, lockfiles: tuple[str, ...], strict: bool
    ) -> Origin:
        """A tree assembled locally from treefile, on its local ref; the layer stays."""
        return replace(self, refspec=refspec, local_treefile=treefile,
                       local_lockfiles=lockfiles, local_lockfile_strict=strict)  # fmt: skip

    def to_keyfile(self) -> GLib.KeyFile:
        kf = GLib.KeyFile()
        kf.set_string(ORIGIN, "baserefspec" if self.layered else "refspec", self.refspec)
        if self.local_treefile is not None:
            kf.set_string(ORIGIN, "local-treefile", self.local_treefile)
        if self.local_lockfiles:
            kf.set_value(ORIGIN, "local-lockfiles", "".join(f"{p};" for p in self.local_lockfiles))
        if self.local_lockfile_strict:
            kf.set_boolean(ORIGIN, "local-lockfile-strict", True)
        if self.requested:
            kf.set_value(PACKAGES, "requested", "".join(f"{p};" for p in self.requested))
        if self.requested_local:
            kf.set_value(
                PACKAGES, "requested-local", "".join(f"{p};" for p in self.requested_local)
            )
        return kf


def origin_from_keyfile(kf: GLib.KeyFile, where: str) -> Origin:
    refspec = _optional(kf, ORIGIN, "refspec") or _optional(kf, ORIGIN, "baserefspec")
    if not refspec:
        raise ConfigError(f"{where}: the origin has no refspec or baserefspec")
    local = []
    for item in _list(kf, PACKAGES, "requested-local"):
        sha256, sep, nevra = item.partition(":")
        if not sep or not nevra:
            raise ConfigError(f"{where}: packages/requested-local: '{item}' is not SHA256:NEVRA")
        local.append(LocalPackage(sha256, nevra))
    return Origin(
        refspec,
        tuple(_list(kf, PACKAGES, "requested")),
        tuple(local),
        local_treefile=_optional(kf, ORIGIN, "local-treefile") or None,
        local_lockfiles=tuple(_list(kf, ORIGIN, "local-lockfiles")),
        local_lockfile_strict=_optional(kf, ORIGIN, "local-lockfile-strict") == "true",
    )


def _optional(kf: GLib.KeyFile, group: str, key: str) -> str | None:
    try:
        return str(kf.get_string(group, key))
    except GLib.Error:
        return None


def _list(kf: GLib.KeyFile, group: str, key: str) -> list[str]:
    value = _optional(kf, group, key)
    return [item for item in (value or "").split(";") if item]
