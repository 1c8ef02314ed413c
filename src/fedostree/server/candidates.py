"""Candidate refs: where a composed commit waits, in the published repository, while it
is tested, kept out of the summary so that no client follows an untested tree.

A compose points `candidates:REF` at its commit: a ref in the form libostree gives a
remote's refs (refs/remotes/candidates/REF), with no remote of that name configured.
libostree resolves it, lists it (`ostree refs`) and keeps its commits and their objects
when pruning, like any ref, but `regenerate_summary` leaves refs/remotes out of the
summary, and nothing under refs/heads names it, so a client can neither find it in the
summary nor pull it as a branch.

Repositories composed before kept candidates as refs/heads/candidates/REF, which the
summary lists. They are still read (`candidate_commit`, `list_candidates`), and
`migrate_candidates` moves them; the compose server runs it before composing."""

from __future__ import annotations

from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import GLib, OSTree
from fedostree.errors import ConfigError, FedostreeError

CANDIDATES = "candidates"  # the remote name candidate refs are stored under
LEGACY_PREFIX = "candidates/"  # refs/heads/candidates/REF, before candidates:REF


def candidate_refspec(ref: str) -> str:
    return f"{CANDIDATES}:{ref}"


def set_candidate(repo: OSTree.Repo, ref: str, commit: str) -> None:
    repo.set_ref_immediate(CANDIDATES, ref, commit, None)


def candidate_commit(repo: OSTree.Repo, ref: str) -> str | None:
    """The commit REF's candidate ref points at (in either form), or None."""
    if ":" in ref:  # a refspec or anything else that cannot be a tree's ref
        return None
    legacy = ot.resolve_rev(repo, LEGACY_PREFIX + ref, local_only=True)
    return ot.resolve_rev(repo, candidate_refspec(ref)) or legacy


def list_candidates(repo: OSTree.Repo) -> dict[str, str]:
    """REF -> commit of every candidate ref, in either form (candidates:REF first)."""
    refs = _all_refs(repo)
    found = {r.removeprefix(LEGACY_PREFIX): c for r, c in refs.items() if is_legacy(r)}
    prefix = candidate_refspec("")
    found |= {r.removeprefix(prefix): c for r, c in refs.items() if r.startswith(prefix)}
    return found


def published_refs(repo: OSTree.Repo) -> dict[str, str]:
    """REF -> commit of the refs clients follow: refs/heads, old-style candidates aside."""
    flags = (
        OSTree.RepoListRefsExtFlags.EXCLUDE_REMOTES | OSTree.RepoListRefsExtFlags.EXCLUDE_MIRRORS
    )
    _, refs = repo.list_refs_ext(None, flags, None)
    return {r: c for r, c in dict(refs).items() if not is_legacy(r)}


def is_legacy(ref: str) -> bool:
    return ref.startswith(LEGACY_PREFIX)


def check_tree_ref(treefile: Path, ref: str) -> None:
    """A tree's ref may not look like an old-style candidate ref: it would be moved away."""
    if is_legacy(ref):
        raise ConfigError(
            f"{treefile}: ref: '{ref}' is under candidates/, which older composes used for "
            "their candidate refs (moved to candidates:REF by the next compose, as this would be)"
        )


def migrate_candidates(repo: OSTree.Repo) -> list[str]:
    """Move every refs/heads/candidates/REF to candidates:REF (unless that exists already:
    it is newer) and delete the old ref; return the REFs moved. The summary still lists
    them until it is regenerated."""
    refs = _all_refs(repo)
    moved = sorted(r.removeprefix(LEGACY_PREFIX) for r in refs if is_legacy(r))
    try:
        for ref in moved:
            if candidate_refspec(ref) not in refs:
                set_candidate(repo, ref, refs[LEGACY_PREFIX + ref])
            repo.set_ref_immediate(None, LEGACY_PREFIX + ref, None, None)
    except GLib.Error as e:
        raise FedostreeError(f"moving the candidate refs to {CANDIDATES}:REF: {e.message}") from e
    return moved


def _all_refs(repo: OSTree.Repo) -> dict[str, str]:
    _, refs = repo.list_refs_ext(None, OSTree.RepoListRefsExtFlags.NONE, None)
    return dict(refs)
