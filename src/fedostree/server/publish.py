"""Promotion: a composed commit lands on its candidate ref (server/candidates.py), and
only a tested commit moves the published ref that clients follow. Publishing signs the
commit, moves the ref, prunes old versions and regenerates (and signs) the summary; the
static delta from the previous published commit comes afterwards (server/deltas.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import GLib, OSTree
from fedostree.errors import ConfigError, FedostreeError
from fedostree.server.candidates import set_candidate
from fedostree.server.results import remove_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signer:
    """A GPG key (by id, in a GnuPG home directory) that signs commits and the summary."""

    key_id: str
    homedir: Path | None = None

    def check(self, repo: OSTree.Repo) -> None:
        """Fail before any work if the key cannot sign (missing key or home directory)."""
        if self.homedir is not None and not self.homedir.is_dir():
            raise ConfigError(f"--gpg-homedir {self.homedir}: no such directory")
        try:
            repo.gpg_sign_data(
                GLib.Bytes.new(b"fedostree"), GLib.Bytes.new(b""), [self.key_id], self._home(), None
            )
        except GLib.Error as e:
            raise ConfigError(f"--gpg-sign {self.key_id}: cannot sign: {e.message}") from e

    def sign_commit(self, repo: OSTree.Repo, commit: str) -> None:
        try:
            repo.sign_commit(commit, self.key_id, self._home(), None)
        except GLib.Error as e:
            if "already signed" in e.message:
                return
            raise FedostreeError(f"signing {commit[:12]} with {self.key_id}: {e.message}") from e

    def sign_summary(self, repo: OSTree.Repo) -> None:
        try:
            repo.add_gpg_signature_summary([self.key_id], self._home(), None)
        except GLib.Error as e:
            raise FedostreeError(f"signing the summary with {self.key_id}: {e.message}") from e

    def _home(self) -> str | None:
        return str(self.homedir) if self.homedir else None


def stage_candidate(build_repo: OSTree.Repo, out_repo: OSTree.Repo, commit: str, ref: str) -> None:
    """Copy the commit's missing objects into the published repository and point the
    candidate ref at it; the published ref does not move."""
    options = GLib.Variant(
        "a{sv}",
        {
            "refs": GLib.Variant("as", [commit]),
            "flags": GLib.Variant("i", int(OSTree.RepoPullFlags.NONE)),
            "depth": GLib.Variant("i", 0),
        },
    )
    uri = build_repo.get_path().get_uri()
    try:
        out_repo.pull_with_options(uri, options, None, None)
        set_candidate(out_repo, ref, commit)
    except GLib.Error as e:
        raise FedostreeError(f"staging {ref}: {e.message}") from e


def promote(
    out_repo: OSTree.Repo,
    commit: str,
    ref: str,
    *,
    signer: Signer | None,
    keep_versions: int,
) -> None:
    """Publish a tested commit: sign it, move the ref, prune old versions, regenerate and
    sign the summary. Its static delta is server/deltas.py's, later."""
    try:
        if signer is not None:
            signer.sign_commit(out_repo, commit)
        out_repo.set_ref_immediate(None, ref, commit, None)
    except GLib.Error as e:
        raise FedostreeError(f"publishing {ref}: {e.message}") from e
    prune(out_repo, keep_versions)
    update_summary(out_repo, signer)


def update_summary(out_repo: OSTree.Repo, signer: Signer | None) -> None:
    try:
        out_repo.regenerate_summary(None, None)
    except GLib.Error as e:
        raise FedostreeError(f"regenerating the summary: {e.message}") from e
    if signer is not None:
        signer.sign_summary(out_repo)


def prune(out_repo: OSTree.Repo, keep_versions: int) -> list[str]:
    """Keep keep_versions commits of every ref's history (and everything a ref points to);
    delete older commits, their objects, their static deltas and their test results.
    Return the pruned commits. When every commit is within reach, libostree's walk over
    every object of every tree is skipped: it would delete nothing but objects no commit
    references, which the next prune that removes a commit deletes too."""
    before = set(_commits(out_repo))
    if before <= _kept_commits(out_repo, keep_versions):
        return []
    try:
        out_repo.prune(OSTree.RepoPruneFlags.REFS_ONLY, keep_versions - 1, None)
    except GLib.Error as e:
        raise FedostreeError(f"pruning: {e.message}") from e
    gone = sorted(before - set(_commits(out_repo)))
    if gone:
        log.info("pruned %d commits", len(gone))
        _delete_stale_deltas(out_repo)
        remove_results(Path(out_repo.get_path().get_path()), gone)
    return gone


def _kept_commits(repo: OSTree.Repo, keep_versions: int) -> set[str]:
    """The commits a prune keeps: keep_versions of each ref's history (candidates too)."""
    _, refs = repo.list_refs(None, None)
    kept: set[str] = set()
    for commit in (refs or {}).values():
        for _ in range(keep_versions):
            if commit is None or commit in kept:
                break
            kept.add(commit)
            commit = ot.commit_parent(repo, commit)
    return kept


def _commits(repo: OSTree.Repo) -> Iterable[str]:
    _, objects = repo.list_commit_objects_starting_with("", None)
    return [OSTree.object_name_deserialize(o)[0] for o in objects]


def _delete_stale_deltas(repo: OSTree.Repo) -> None:
    """Static deltas from or to a commit that is gone can never apply again."""
    _, names = repo.list_static_delta_names(None)
    present = set(_commits(repo))
    deltas = Path(repo.get_path().get_path()) / "deltas"
    for name in names or []:
        from_commit, _, to_commit = name.rpartition("-")
        if to_commit in present and (not from_commit or from_commit in present):
            continue
        _remove_dir(deltas / _delta_relpath(from_commit, to_commit))
    for parent in deltas.iterdir() if deltas.is_dir() else ():
        if parent.is_dir() and not any(parent.iterdir()):  # libostree's prune leaves these
            parent.rmdir()


def _delta_relpath(from_commit: str, to_commit: str) -> str:
    """deltas/XX/REST, where XXREST is [FROM-]TO in modified base64 (libostree's layout)."""
    b64 = [OSTree.checksum_b64_from_bytes(bytes.fromhex(c)) for c in (from_commit, to_commit) if c]
    name = "-".join(b64)
    return f"{name[:2]}/{name[2:]}"


def _remove_dir(path: Path) -> None:
    for child in path.iterdir():
        child.unlink()
    path.rmdir()
