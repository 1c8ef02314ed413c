"""The client verbs as recipes: rebase, upgrade, deploy, each a pull then a deployment
made under the sysroot lock. Nothing here changes the boot configuration except
through libostree's atomic deployment writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from fedostree.client import local
from fedostree.client.layering import base_of, layer_on
from fedostree.client.remotes import check_remote, delta_download_size, pull, remote_commit
from fedostree.client.sysroot import Sysroot, split_refspec
from fedostree.engine import ostree as ot
from fedostree.engine.commit import INPUTHASH_KEY, PKGLIST_KEY
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkglist import PkgDiff, PkgId, diff_pkglists, parse_pkglist
from fedostree.errors import ConfigError, FedostreeError, NothingToDo
from fedostree.model.origin import Origin


@dataclass(frozen=True)
class Change:
    refspec: str
    old: str | None
    new: str
    version: str | None
    diff: PkgDiff
    deployed: bool
    download_size: int | None = None
    inactive: tuple[str, ...] = ()  # layered requests the new base provides
    # a local assembly not built yet (--check, --preview, --download-only): new is ""
    pending_inputhash: str | None = None
    download_packages: int | None = None  # of a local assembly's preview


def commit_diff(repo: OSTree.Repo, old: str | None, new: str) -> PkgDiff:
    before = parse_pkglist(ot.commit_metadata(repo, old).get(PKGLIST_KEY)) if old else []
    return diff_pkglists(before, parse_pkglist(ot.commit_metadata(repo, new).get(PKGLIST_KEY)))


def rebase(sysroot: Sysroot, target: str) -> Change:
    """Pull and deploy another tree: `[REMOTE:]REF`, REMOTE defaulting to the current one."""
    remote, ref = split_refspec(target)
    current = sysroot.deployments()[0] if sysroot.deployments() else None
    if remote is None:
        current_refspec = sysroot.refspec_of(current) if current else None
        remote = split_refspec(current_refspec)[0] if current_refspec else None
        if remote is None:
            raise ConfigError(f"{target}: name the remote, as REMOTE:REF")
    refspec = f"{remote}:{ref}"
    pull(sysroot.repo, remote, [ref])
    commit = remote_commit(sysroot.repo, remote, ref)
    old = current.get_csum() if current else None
    old_origin = sysroot.origin_or_none(current) if current is not None else None
    origin = old_origin.with_refspec(refspec) if old_origin else Origin(refspec)
    target, inactive = layer_on(sysroot, origin, commit, current=old)
    if current is not None and target == old and sysroot.refspec_of(current) == refspec:
        raise NothingToDo(f"Already on {refspec} at {commit[:12]}.")
    sysroot.deploy(origin, target)
    return Change(refspec, old, target, _version(sysroot, target),
                  commit_diff(sysroot.repo, old, target), True, inactive=inactive)  # fmt: skip


def rebase_local(sysroot: Sysroot, source: local.LocalSource) -> Change:
    """Assemble the tree source's treefile describes, from the client's repositories,
    and deploy it (with the layered packages of the current deployment on it)."""
    tf, lock = local.load_local_treefile(source)
    deployments = sysroot.deployments()
    current = deployments[0] if deployments else None
    resolved = local.resolve_local(sysroot, tf, lock, source.lockfile_strict, current)
    old = current.get_csum() if current else None
    old_origin = sysroot.origin_or_none(current) if current is not None else None
    origin = (old_origin or Origin(resolved.ref)).with_local(
        resolved.ref, str(source.treefile), tuple(map(str, source.lockfiles)),
        source.lockfile_strict,
    )  # fmt: skip
    commit = local.build_local(sysroot, resolved)
    target, inactive = layer_on(sysroot, origin, commit, current=old)
    if current is not None and target == old and old_origin == origin:
        raise NothingToDo(f"Already on {resolved.ref} at {commit[:12]}.")
    sysroot.deploy(origin, target)
    return Change(resolved.ref, old, target, _version(sysroot, target),
                  commit_diff(sysroot.repo, old, target), True, inactive=inactive)  # fmt: skip


def upgrade(
    sysroot: Sysroot,
    *,
    check: bool,
    preview: bool,
    download_only: bool,
    allow_downgrade: bool,
    unchanged_exit_77: bool = False,
) -> Change:
    """Pull the default deployment's ref; deploy it if it is newer. A locally assembled
    tree is resolved again from its treefile and rebuilt if its inputs changed."""
    current = sysroot.default()
    origin = sysroot.origin_of(current)
    if origin.is_local:
        return _upgrade_local(sysroot, current, origin, check=check, preview=preview,
                              download_only=download_only, unchanged_exit_77=unchanged_exit_77)  # fmt: skip
    remote, ref = split_refspec(origin.refspec)
    if remote is None:
        raise FedostreeError(f"deployment {current.get_csum()[:12]} has no remote to upgrade from")
    pull(sysroot.repo, remote, [ref], commit_only=True)
    new = remote_commit(sysroot.repo, remote, ref)
    base = base_of(sysroot.repo, current.get_csum())
    no_upgrade = nothing_new("No upgrade available.", check or preview or unchanged_exit_77)
    if new == base and (not origin.layered or check or preview):
        raise no_upgrade
    if new != base:
        _refuse_downgrade(sysroot.repo, base, new, allow_downgrade)
    # what the base changes (the layer stays): rpm-ostree's upgrade diff
    change = Change(f"{remote}:{ref}", current.get_csum(), new, _version(sysroot, new),
                    commit_diff(sysroot.repo, base, new), deployed=False)  # fmt: skip
    if preview:
        return replace(change, download_size=delta_download_size(sysroot.repo, remote, ref))
    if check:
        return change
    pull(sysroot.repo, remote, [ref])
    target, inactive = layer_on(sysroot, origin, new, current=current.get_csum(),
                                download_only=download_only)  # fmt: skip
    if download_only:
        return change
    if target == current.get_csum():
        raise no_upgrade
    sysroot.deploy(origin, target)
    return Change(change.refspec, change.old, target, change.version,
                  commit_diff(sysroot.repo, current.get_csum(), target), True, inactive=inactive)  # fmt: skip


def nothing_new(message: str, exit_77: bool) -> NothingToDo:
    """rpm-ostree's `upgrade` with nothing new: exit 0, or 77 with --unchanged-exit-77,
    --check or --preview (rpmostree-builtin-upgrade.cxx)."""
    return NothingToDo(message, exit_code=77 if exit_77 else 0)


def _upgrade_local(
    sysroot: Sysroot,
    current: OSTree.Deployment,
    origin: Origin,
    *,
    check: bool,
    preview: bool,
    download_only: bool,
    unchanged_exit_77: bool,
) -> Change:
    """rpm-ostree's upgrade for a tree the client builds: "No change." when the treefile
    resolves to the inputs of the deployed build (and the layer is as it was)."""
    assert origin.local_treefile is not None
    source = local.LocalSource(Path(origin.local_treefile), tuple(map(Path, origin.local_lockfiles)),
                               origin.local_lockfile_strict)  # fmt: skip
    tf, lock = local.load_local_treefile(source)
    resolved = local.resolve_local(sysroot, tf, lock, source.lockfile_strict, current)
    repo, deployed = sysroot.repo, current.get_csum()
    base = base_of(repo, deployed)
    unchanged = ot.commit_metadata(repo, base).get(INPUTHASH_KEY) == resolved.inputhash
    no_change = nothing_new("No change.", check or preview or unchanged_exit_77)
    if unchanged and (not origin.layered or check or preview):
        raise no_change
    if check or preview or download_only:
        before = parse_pkglist(ot.commit_metadata(repo, base).get(PKGLIST_KEY))
        after = [PkgId(p.name, str(p.epoch), p.version, p.release, p.arch)
                 for p in resolved.packages]  # fmt: skip
        count, size = local.download_size(sysroot, resolved.packages)
        if download_only:
            local.cache_packages(sysroot, resolved)
        return Change(resolved.ref, deployed, "", local.next_version(sysroot, resolved),
                      diff_pkglists(before, after), deployed=False, download_size=size,
                      pending_inputhash=resolved.inputhash, download_packages=count)  # fmt: skip
    commit = base if unchanged else local.build_local(sysroot, resolved)
    # the treefile may have changed its ref: the deployment follows the new local ref
    origin = origin.with_local(resolved.ref, str(source.treefile), origin.local_lockfiles,
                               origin.local_lockfile_strict)  # fmt: skip
    target, inactive = layer_on(sysroot, origin, commit, current=deployed)
    if target == deployed:
        raise no_change
    sysroot.deploy(origin, target)
    return Change(resolved.ref, deployed, target, _version(sysroot, target),
                  commit_diff(repo, deployed, target), True, inactive=inactive)  # fmt: skip


def deploy_version(sysroot: Sysroot, wanted: str) -> Change:
    """Deploy a specific version (or commit checksum) from the current ref's history."""
    current = sysroot.default()
    origin = sysroot.origin_of(current)
    refspec = origin.refspec
    remote, ref = split_refspec(refspec)
    if origin.is_local:
        raise FedostreeError(
            f"deployment {current.get_csum()[:12]} is built here from {origin.local_treefile}: "
            "change the treefile and run 'fedostree upgrade'"
        )
    if remote is None:
        raise FedostreeError(f"deployment {current.get_csum()[:12]} has no remote")
    check_remote(sysroot.repo, remote)
    pull(sysroot.repo, remote, [ref], commit_only=True, depth=-1)
    commit = find_in_history(sysroot.repo, remote_commit(sysroot.repo, remote, ref), wanted)
    if commit is None:
        raise FedostreeError(
            f"{refspec}: no commit with version or checksum '{wanted}' in its history"
        )
    if commit == base_of(sysroot.repo, current.get_csum()) and not origin.layered:
        raise NothingToDo(f"{wanted} is already the default deployment.")
    pull(sysroot.repo, remote, [commit])
    target, inactive = layer_on(sysroot, origin, commit, current=current.get_csum())
    if target == current.get_csum():
        raise NothingToDo(f"{wanted} is already the default deployment.")
    sysroot.deploy(origin, target)
    return Change(refspec, current.get_csum(), target, _version(sysroot, target),
                  commit_diff(sysroot.repo, current.get_csum(), target), True,
                  inactive=inactive)  # fmt: skip


def find_in_history(repo: OSTree.Repo, tip: str, wanted: str) -> str | None:
    """The commit in tip's history with version wanted, else the newest whose checksum
    starts with it: a version never loses to a checksum that happens to begin the same."""
    history = list(_history(repo, tip))
    by_version = (c for c in history if ot.commit_metadata(repo, c).get("version") == wanted)
    by_checksum = (c for c in history if wanted and c.startswith(wanted))
    return next(by_version, None) or next(by_checksum, None)


def _history(repo: OSTree.Repo, tip: str) -> Iterator[str]:
    commit: str | None = tip
    while commit:
        yield commit
        commit = ot.commit_parent(repo, commit)


def _refuse_downgrade(repo: OSTree.Repo, current: str, new: str, allowed: bool) -> None:
    if allowed:
        return
    if ot.commit_timestamp(repo, new) < ot.commit_timestamp(repo, current):
        raise FedostreeError(
            f"refusing to downgrade: {new[:12]} is older than the deployed {current[:12]} "
            "(use --allow-downgrade)"
        )


def _version(sysroot: Sysroot, commit: str) -> str | None:
    version = ot.commit_metadata(sysroot.repo, commit).get("version")
    return str(version) if version is not None else None
