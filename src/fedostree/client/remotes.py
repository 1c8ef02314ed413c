"""Remotes and pulls: what the client fetches from a fedostree server, with progress on
a terminal. A pull writes only complete, verified objects, so a killed pull resumes
from what it already has."""

from __future__ import annotations

import threading
import time
import urllib.parse
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import Gio, GLib, OSTree
from fedostree.engine.progress import Progress
from fedostree.errors import ConfigError, FedostreeError

# What libostree appends to "no signatures found": true, but not how a client proceeds.
LIBOSTREE_GPG_HINT = "(use gpg-verify=false in remote config to disable)"


def add_remote(
    repo: OSTree.Repo, name: str, url: str, *, gpg_verify: bool, gpg_key: Path | None
) -> None:
    check_remote_url(name, url)
    if name in (repo.remote_list() or []):
        raise ConfigError(f"remote '{name}' already exists")
    options = {"gpg-verify": GLib.Variant("b", gpg_verify or gpg_key is not None)}
    if gpg_key is not None:  # a signing server signs its summary too
        options["gpg-verify-summary"] = GLib.Variant("b", True)
    try:
        repo.remote_add(name, url, GLib.Variant("a{sv}", options), None)
        if gpg_key is not None:
            stream = Gio.File.new_for_path(str(gpg_key)).read(None)
            repo.remote_gpg_import(name, stream, None, None)
    except GLib.Error as e:
        raise FedostreeError(f"remote '{name}': {e.message}") from e


def check_remote_url(name: str, url: str) -> None:
    """Refuse what a remote's URL cannot be: only http:// and https:// (with a host) and
    file:// (with a path, on this machine) are pulled from; libostree takes any string."""
    why = _url_problem(url)
    if why is not None:
        raise ConfigError(f"remote '{name}': URL {url!r}: {why}")


def _url_problem(url: str) -> str | None:
    if any(c.isspace() or not c.isprintable() for c in url):
        return "contains whitespace or a control character"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        try:
            parts.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError:
            return "bad port"
        return None if parts.hostname else "no host"
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return "a file:// URL names no host but localhost"
        return None if parts.path.startswith("/") else "no path"
    return "not an http://, https:// or file:// URL"


def delete_remote(repo: OSTree.Repo, name: str) -> list[str]:
    """Delete the remote and the refs pulled from it (NAME:REF); return those refs.

    `ostree remote delete` leaves the refs in refs/remotes/NAME/: here nothing could
    update them without the remote, no command lists or deletes them, and they would keep
    their commits from `cleanup -b` forever (and would stand for another server's refs
    if a remote of that name is added again). Deployments keep their own commits, so
    deleting the refs removes nothing that is deployed. Refs go first: an interrupted
    delete leaves the remote, and running it again finishes."""
    remotes = sorted(repo.remote_list() or [])
    if name not in remotes:
        known = f"the remotes are {', '.join(remotes)}" if remotes else "there are no remotes"
        raise ConfigError(f"no remote '{name}' ({known})")
    _, refs = repo.list_refs_ext(None, OSTree.RepoListRefsExtFlags.NONE, None)
    pulled = sorted(r for r in refs if r.startswith(f"{name}:"))
    try:
        for refspec in pulled:
            repo.set_ref_immediate(name, refspec.partition(":")[2], None, None)
        repo.remote_change(None, OSTree.RepoRemoteChange.DELETE, name, None, None, None)
    except GLib.Error as e:
        raise FedostreeError(f"remote '{name}': {e.message}") from e
    return pulled


def list_remotes(repo: OSTree.Repo) -> list[tuple[str, str]]:
    return [(name, repo.remote_get_url(name)[1]) for name in sorted(repo.remote_list() or [])]


def check_remote(repo: OSTree.Repo, name: str) -> None:
    if name not in (repo.remote_list() or []):
        raise ConfigError(f"no remote '{name}' (add one with 'fedostree remote add {name} URL')")


def pull(repo: OSTree.Repo, remote: str, refs: list[str], *, commit_only: bool = False,
         depth: int = 0, subdirs: list[str] | None = None) -> None:  # fmt: skip
    """Fetch refs (or commit checksums) from remote; verified, resumable, with progress;
    subdirs: only these directories of the tree."""
    check_remote(repo, remote)
    flags = OSTree.RepoPullFlags.COMMIT_ONLY if commit_only else OSTree.RepoPullFlags.NONE
    entries = {
        "refs": GLib.Variant("as", refs),
        "flags": GLib.Variant("i", int(flags)),
        "depth": GLib.Variant("i", depth),
    }
    if subdirs:
        entries["subdirs"] = GLib.Variant("as", subdirs)
    options = GLib.Variant("a{sv}", entries)
    with _PullProgress(not commit_only) as progress:
        try:
            repo.pull_with_options(remote, options, progress.async_progress, None)
        except GLib.Error as e:
            raise FedostreeError(
                f"pull from '{remote}' ({', '.join(refs)}): {_pull_message(repo, remote, e)}"
            ) from e


def _pull_message(repo: OSTree.Repo, remote: str, e: GLib.Error) -> str:
    message = e.message.replace("\n", " ").strip()
    hint = _gpg_hint(repo, remote, e)
    if hint is None:
        return message
    return f"{message.removesuffix(LIBOSTREE_GPG_HINT).rstrip()}; {hint}"


def _gpg_hint(repo: OSTree.Repo, remote: str, e: GLib.Error) -> str | None:
    """How to proceed when a remote added with neither --gpg-import nor --no-gpg-verify
    (signatures required, no key to check them with) meets a commit it cannot verify.
    A remote with a key gets no hint: an unsigned commit there is what it guards against."""
    unsigned = e.matches(OSTree.gpg_error_quark(), OSTree.GpgError.NO_SIGNATURE)
    unknown_key = e.matches(OSTree.gpg_error_quark(), OSTree.GpgError.MISSING_KEY)
    if not (unsigned or unknown_key) or _has_gpg_keys(repo, remote):
        return None
    url = repo.remote_get_url(remote)[1]
    readd = f"'fedostree remote delete {remote}' then 'fedostree remote add"
    if unsigned:
        return (
            f"remote '{remote}' requires signed commits and this server does not sign; to "
            f"accept unsigned commits, re-add it: {readd} --no-gpg-verify {remote} {url}' "
            f"(or, once the server signs, with --gpg-import KEY.asc)"
        )
    return (
        f"remote '{remote}' has no GPG key to verify the signature with; re-add it with the "
        f"server's public key: {readd} --gpg-import KEY.asc {remote} {url}' "
        f"(or with --no-gpg-verify to skip verification)"
    )


def _has_gpg_keys(repo: OSTree.Repo, remote: str) -> bool:
    try:
        _, keys = repo.remote_get_gpg_keys(remote, None, None)
    except GLib.Error:
        return True  # cannot tell: give no advice rather than wrong advice
    return bool(keys)


def remote_commit(repo: OSTree.Repo, remote: str, ref: str) -> str:
    commit = ot.resolve_rev(repo, f"{remote}:{ref}")
    if commit is None:
        raise FedostreeError(f"{remote}:{ref}: not found after pulling")
    return commit


class _PullProgress:
    """libostree's AsyncProgress, sampled on a timer into a bar of objects and bytes."""

    def __init__(self, show: bool) -> None:
        self.async_progress = OSTree.AsyncProgress.new()
        self._stop = threading.Event()
        self._show = show
        self._thread: threading.Thread | None = None
        self._bar: Progress | None = None

    def __enter__(self) -> _PullProgress:
        if self._show:
            self._bar = Progress("Receiving objects", total=1, unit="items").__enter__()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(0.2) and self._bar is not None:
            fetched = self.async_progress.get_uint("fetched")
            requested = self.async_progress.get_uint("requested")
            mib = self.async_progress.get_uint64("bytes-transferred") / 2**20
            rate = mib / max(time.monotonic() - start, 0.001)
            self._bar.update(
                fetched, max(requested, 1), f"Receiving objects: {mib:.1f} MiB, {rate:.1f} MiB/s"
            )

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self.async_progress.finish()


def delta_download_size(repo: OSTree.Repo, remote: str, ref: str) -> int | None:
    """Bytes an update of ref would download, from the server's static delta (a dry run
    that fetches only the delta's superblock); None when the server has no delta."""
    progress = OSTree.AsyncProgress.new()
    options = GLib.Variant("a{sv}", {
        "refs": GLib.Variant("as", [ref]),
        "dry-run": GLib.Variant("b", True),
        "require-static-deltas": GLib.Variant("b", True),
    })  # fmt: skip
    try:
        repo.pull_with_options(remote, options, progress, None)
    except GLib.Error:
        return None
    finally:
        progress.finish()
    return int(progress.get_uint64("total-delta-part-size"))
