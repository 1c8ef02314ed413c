"""Committing a composed tree: version, package list and input hash in the metadata,
written into the build repository (server/publish.py takes it from there)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedostree.engine import ostree as ot
from fedostree.engine.depsolve import Package
from fedostree.engine.ostree import GLib, OSTree
from fedostree.model.treefile import Treefile
from fedostree.model.version import render_prefix

INPUTHASH_KEY = "rpmostree.inputhash"
PKGLIST_KEY = "rpmostree.rpmdb.pkglist"


@dataclass(frozen=True)
class PreviousCommit:
    checksum: str
    version: str | None
    inputhash: str | None


def input_hash(tf: Treefile, packages: Sequence[Package], layers: Sequence[str] = ()) -> str:
    """sha256 over the flattened treefile, the resolved packages' digests and the
    commits of the treefile's ostree layers."""
    doc: dict[str, object] = {
        "treefile": tf.flattened(),
        "packages": sorted(f"{p.nevra} sha256:{p.sha256}" for p in packages),
    }
    if layers:
        doc["ostree-layers"] = list(layers)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def previous_commit(
    repo: OSTree.Repo, ref: str, *, local_only: bool = False
) -> PreviousCommit | None:
    checksum = ot.resolve_rev(repo, ref, local_only=local_only)
    if checksum is None:
        return None
    md = ot.commit_metadata(repo, checksum)
    return PreviousCommit(checksum, md.get("version"), md.get(INPUTHASH_KEY))


def next_version(tf: Treefile, last: str | None, *, now: GLib.DateTime | None = None) -> str | None:
    """The version of the next commit, as rpm-ostree's `util_next_version`: the prefix
    (with `<date:FORMAT>` rendered in UTC), then PREFIX.1, PREFIX.2, ...; a dated prefix
    starts at PREFIX.0 and starts over when the date changes. The separator is
    `automatic-version-suffix` (default '.')."""
    if tf.automatic_version_prefix is None:
        return None
    prefix, dated = render_prefix(tf.automatic_version_prefix, now or GLib.DateTime.new_now_utc())
    return increment_version(prefix, last, tf.automatic_version_suffix or ".", dated)


def increment_version(prefix: str, last: str | None, sep: str, dated: bool) -> str:
    """rpm-ostree's `increment_version`: a dated prefix always takes a counter (from 0)."""
    start = f"{prefix}{sep}0" if dated else prefix
    if not last or not last.startswith(prefix):
        return start
    if last == prefix:
        return start if dated else f"{prefix}{sep}1"
    if last[len(prefix)] != sep:
        return start
    return f"{prefix}{sep}{(_strtoull(last[len(prefix) + 1 :]) + 1) % _U64}"


_U64 = 2**64
_LEADING_NUMBER = re.compile(r"[ \t\n\v\f\r]*([-+]?)([0-9]*)")


def _strtoull(text: str) -> int:
    """g_ascii_strtoull(text, NULL, 10): leading digits (0 if none), saturating at
    2^64-1; a minus sign negates modulo 2^64."""
    m = _LEADING_NUMBER.match(text)
    assert m is not None
    value = min(int(m.group(2) or 0), _U64 - 1)
    return (_U64 - value) % _U64 if m.group(1) == "-" else value


def commit_metadata(
    tf: Treefile,
    packages: Sequence[Package],
    *,
    version: str | None,
    inputhash: str,
    kernel: str | None,
) -> dict[str, GLib.Variant]:
    """The treefile's `add-commit-metadata` and `container-cmd`
    (`ostree.container-cmd`), then fedostree's own keys, which win (as in rpm-ostree)."""
    md = {key: json_variant(value) for key, value in tf.add_commit_metadata.items()}
    if tf.container_cmd:
        md["ostree.container-cmd"] = GLib.Variant("as", list(tf.container_cmd))
    pkglist = [(p.name, str(p.epoch), p.version, p.release, p.arch) for p in packages]
    md[INPUTHASH_KEY] = GLib.Variant("s", inputhash)
    md[PKGLIST_KEY] = GLib.Variant("a(sssss)", sorted(pkglist))
    md["ostree.bootable"] = GLib.Variant("b", kernel is not None)
    if version:
        md["version"] = GLib.Variant("s", version)
    if kernel:
        md["ostree.linux"] = GLib.Variant("s", kernel)
    return md


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def json_variant(value: Any) -> GLib.Variant:
    """A JSON value as json-glib's `json_gvariant_deserialize` makes it without a
    signature (rpm-ostree reads add-commit-metadata with it): strings s, booleans b,
    integers x, other numbers d, arrays av, objects a{sv}, null an empty mv."""
    if isinstance(value, bool):
        return GLib.Variant("b", value)
    if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        return GLib.Variant("x", int(value))
    if isinstance(value, int | float) and math.isfinite(value):
        return GLib.Variant("d", float(value))
    if isinstance(value, str):
        return GLib.Variant("s", value)
    if isinstance(value, list | tuple):
        return GLib.Variant("av", [json_variant(v) for v in value])
    if isinstance(value, Mapping):
        return GLib.Variant("a{sv}", {str(k): json_variant(v) for k, v in sorted(value.items())})
    # null, and the NaN or infinity that serde_json writes as null
    return GLib.Variant.new_maybe(GLib.VariantType.new("v"), None)


def commit_rootfs(
    build_repo: OSTree.Repo,
    rootfs: Path,
    devino: OSTree.RepoDevInoCache,
    *,
    subject: str,
    parent: str | None,
    metadata: dict[str, GLib.Variant],
    sepolicy: OSTree.SePolicy | None = None,
    mode_filter: ot.ModeFilter | None = None,
) -> str:
    """Commit rootfs into the build repository; hardlinked files cost no rehashing.
    A policy labels every file; a mode filter decides the regular files' modes."""
    with ot.transaction(build_repo):
        mtree = ot.commit_directory(
            build_repo, rootfs, devino, sepolicy=sepolicy, mode_filter=mode_filter
        )
        return ot.write_commit(build_repo, mtree, parent=parent, subject=subject, metadata=metadata)
