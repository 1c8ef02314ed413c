"""The package cache: each RPM imported once into an OSTree repository as a commit of
its own, with the header kept in the commit metadata. Shared by the compose server and
by client-side layering; the repository must be `bare` or `bare-user` so that trees
can be assembled from it with hardlinks."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.depsolve import Package
from fedostree.engine.download import download_packages
from fedostree.engine.ostree import GLib, OSTree
from fedostree.engine.progress import Progress
from fedostree.engine.rpmfile import (
    PayloadEntry,
    digest_problem,
    header_from_blob,
    iter_payload,
    read_header_blob,
)
from fedostree.errors import FedostreeError

REF_PREFIX = "rpmostree/pkg"
# Content under these directories is state, not part of the image: it becomes tmpfiles.d lines.
STATE_DIRS = ("var", "run")
FACTORY = "usr/share/factory"
# The import's layout version: a cached import of another version is imported again.
# 2: /boot/... is imported as /usr/lib/ostree-boot/... (rpm-ostree's importer does so).
IMPORTER_VERSION = 2
S_IFMT, S_IFDIR, S_IFLNK, S_IFREG = 0o170000, 0o040000, 0o120000, 0o100000


@dataclass(frozen=True)
class CachedPackage:
    """What assembly needs of a cached package."""

    nevra: str
    commit: str
    header_blob: bytes
    nonroot: tuple[tuple[str, str, str], ...]  # (path, user, group) to chown after %pre


class UnsafePayload(FedostreeError):
    """An RPM whose payload would write outside the tree."""


class CorruptPackage(FedostreeError):
    """An RPM whose own digests do not hold, though the repository metadata may agree."""


def check_intact(nevra: str, path: Path, *, drop: bool) -> None:
    """Refuse an RPM whose header or payload digests do not hold; drop=True removes it
    (from the download cache), so that a rerun fetches it again."""
    problem = digest_problem(path)
    if problem is None:
        return
    if drop:
        path.unlink(missing_ok=True)
        raise CorruptPackage(
            f"{nevra}: corrupt package ({problem}): {path}; removed from the cache"
        )
    raise CorruptPackage(f"{nevra}: corrupt package ({problem}): {path}")


def cache_ref(name: str, evr: str, arch: str) -> str:
    """rpm-ostree's ref naming: characters invalid in a ref are escaped as _XX."""

    def escape(s: str) -> str:
        return re.sub(r"[^A-Za-z0-9.\-]", lambda m: f"_{ord(m.group()):02X}", s)

    return f"{REF_PREFIX}/{escape(name)}/{escape(evr)}.{escape(arch)}"


class PackageCache:
    def __init__(self, repo: OSTree.Repo) -> None:
        self.repo = repo

    def lookup(self, ref: str, sha256: str) -> CachedPackage | None:
        """The cached import of a package, if one exists with the same digest."""
        commit = ot.resolve_rev(self.repo, ref)
        if commit is None:
            return None
        md = ot.commit_metadata(self.repo, commit)
        if md.get("rpmostree.sha256") != sha256:
            return None
        if md.get("fedostree.importer") != IMPORTER_VERSION:
            return None
        return CachedPackage(
            nevra=md["rpmostree.nevra"],
            commit=commit,
            header_blob=bytes(md["rpmostree.metadata"]),
            nonroot=tuple(tuple(x) for x in md.get("fedostree.nonroot", [])),
        )

    def import_rpm(self, path: Path, ref: str, sha256: str) -> str:
        """Import one RPM as a commit on ref (the caller holds the transaction)."""
        blob = read_header_blob(path)
        hdr = header_from_blob(blob)
        nevra = hdr["nevra"]
        tree = _PackageTree(self.repo, nevra)
        for entry in iter_payload(path):
            tree.add(entry)
        tree.write_tmpfiles(hdr["name"])
        metadata = {
            "rpmostree.nevra": GLib.Variant("s", nevra),
            "rpmostree.sha256": GLib.Variant("s", sha256),
            "rpmostree.metadata": ot.bytes_variant(blob),
            "fedostree.nonroot": GLib.Variant("a(sss)", tree.nonroot),
            "fedostree.importer": GLib.Variant("u", IMPORTER_VERSION),
        }
        commit = ot.write_commit(
            self.repo,
            tree.root,
            parent=None,
            subject=nevra,
            metadata=metadata,
            timestamp=int(hdr["buildtime"] or 0),
        )
        ot.set_ref(self.repo, ref, commit)
        return commit


def translate_path(rel: str) -> str:
    """Where a package's path lands in an OSTree tree, as rpm-ostree's importer
    translates it: /boot/... (bootloader data, a legacy kernel) goes to
    /usr/lib/ostree-boot/..., because /boot is the deployment's mount point."""
    if rel.startswith("boot/"):
        return "usr/lib/ostree-boot/" + rel.removeprefix("boot/")
    return rel


def tree_path(path: str, *, etc_in_usr: bool = False) -> str | None:
    """Where a package's file lives in a tree assembled from the cache, relative to its
    root: translated as the importer does (/boot), under usr/etc for /etc when the tree
    is in its final OSTree layout, None for /var and /run content (tmpfiles.d lines)."""
    rel = translate_path(posixpath.normpath(path).lstrip("/"))
    if rel.split("/")[0] in STATE_DIRS:
        return None
    if etc_in_usr and rel.split("/")[0] == "etc":
        return f"usr/{rel}"
    return rel


def check_safe_path(nevra: str, path: str) -> str:
    """The path relative to /, refusing absolute-path tricks and `..` components."""
    if not path.startswith("/") or ".." in path.split("/"):
        raise UnsafePayload(f"{nevra}: unsafe path in payload: {path}")
    return posixpath.normpath(path).lstrip("/")


def check_safe_symlink(nevra: str, relpath: str, target: str) -> None:
    """A relative symlink must not climb above the root of the tree."""
    if target.startswith("/"):
        return
    depth = len(relpath.split("/")) - 1
    for part in target.split("/"):
        depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
        if depth < 0:
            raise UnsafePayload(f"{nevra}: symlink /{relpath} -> {target} points out of the tree")


class _PackageTree:
    """The mutable tree of one package being imported."""

    def __init__(self, repo: OSTree.Repo, nevra: str) -> None:
        self.repo, self.nevra = repo, nevra
        self.root = OSTree.MutableTree.new()
        self.default_dirmeta = ot.write_dirmeta(repo, 0o755)
        self.root.set_metadata_checksum(self.default_dirmeta)
        self.nonroot: list[tuple[str, str, str]] = []
        self.tmpfiles: list[str] = []
        self.symlinks: set[str] = set()

    def add(self, entry: PayloadEntry) -> None:
        rel = translate_path(check_safe_path(self.nevra, entry.path))
        if not rel:
            return
        self._refuse_through_symlink(rel)
        if rel.split("/")[0] in STATE_DIRS:
            self._add_state(rel, entry)
            return
        if (entry.user, entry.group) != ("root", "root"):
            self.nonroot.append(("/" + rel, entry.user, entry.group))
        kind = entry.mode & S_IFMT
        if kind == S_IFDIR:
            self._ensure_dir(rel).set_metadata_checksum(ot.write_dirmeta(self.repo, entry.mode))
        elif kind == S_IFLNK:
            check_safe_symlink(self.nevra, rel, entry.linkto)
            self.symlinks.add(rel)
            self._put_file(rel, ot.file_info(S_IFLNK | 0o777, target=entry.linkto), b"")
        elif kind == S_IFREG:
            info = ot.file_info(entry.mode, size=len(entry.data))
            self._put_file(rel, info, entry.data)
        # Device nodes, fifos and sockets have no place in an OSTree commit; skip them.

    def _refuse_through_symlink(self, rel: str) -> None:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in self.symlinks:
                raise UnsafePayload(f"{self.nevra}: path /{rel} goes through a symlink")

    def _ensure_dir(self, rel: str) -> OSTree.MutableTree:
        node = self.root
        for part in rel.split("/"):
            _, node = node.ensure_dir(part)
            if node.get_metadata_checksum() is None:
                node.set_metadata_checksum(self.default_dirmeta)
        return node

    def _put_file(self, rel: str, info: object, data: bytes) -> None:
        parent, name = posixpath.split(rel)
        node = self._ensure_dir(parent) if parent else self.root
        node.replace_file(name, ot.write_content(self.repo, info, data))

    def _add_state(self, rel: str, entry: PayloadEntry) -> None:
        """/var is not in the image: describe its content for systemd-tmpfiles."""
        mode = f"{entry.mode & 0o7777:04o}"
        owner = f"{entry.user} {entry.group}"
        kind = entry.mode & S_IFMT
        if kind == S_IFDIR:
            self.tmpfiles.append(f"d /{rel} {mode} {owner} - -")
        elif kind == S_IFLNK:
            self.tmpfiles.append(f"L /{rel} - - - - {entry.linkto}")
        elif entry.data:
            factory = f"{FACTORY}/{rel}"
            self._put_file(factory, ot.file_info(entry.mode, size=len(entry.data)), entry.data)
            self.tmpfiles.append(f"C /{rel} {mode} {owner} - /{factory}")
        else:
            self.tmpfiles.append(f"f /{rel} {mode} {owner} - -")

    def write_tmpfiles(self, name: str) -> None:
        if not self.tmpfiles:
            return
        data = ("\n".join(self.tmpfiles) + "\n").encode()
        self._put_file(
            f"usr/lib/tmpfiles.d/pkg-{name}.conf", ot.file_info(0o100644, size=len(data)), data
        )


def cached_refs(repo: OSTree.Repo) -> Iterable[str]:
    _, refs = repo.list_refs(REF_PREFIX, None)
    return [f"{REF_PREFIX}/{r}" for r in refs]


def ensure_cached(
    repo: OSTree.Repo, packages: Sequence[Package], cachedir: Path
) -> list[CachedPackage]:
    """Import each package not yet in the package cache (downloading only those)."""
    cache = PackageCache(repo)
    refs = {p.nevra: cache_ref(p.name, p.evr, p.arch) for p in packages}
    missing = [p for p in packages if cache.lookup(refs[p.nevra], p.sha256) is None]
    if missing:
        paths = download_packages(missing, cachedir)
        for p in missing:
            check_intact(p.nevra, paths[p.nevra], drop=True)
        with ot.transaction(repo), Progress("Importing", total=len(missing)) as bar:
            for p in missing:
                cache.import_rpm(paths[p.nevra], refs[p.nevra], p.sha256)
                bar.advance()
    found = [cache.lookup(refs[p.nevra], p.sha256) for p in packages]
    return [c for c in found if c is not None]
