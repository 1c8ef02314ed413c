"""The status page `fedostree serve` shows next to the repository: every tree with its
latest version, test outcome, signature and history, and the commands a client runs.

Two steps, both pure: `collect_trees(repo_path)` reads the model from the repository
(refs, commit metadata, detached signatures, the recorded test results), and
`render_index` / `render_tree` / `render_not_found` turn it into plain HTML (no
JavaScript), every value from the repository escaped."""

from __future__ import annotations

import functools
import html
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.commit import PKGLIST_KEY
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkglist import PkgDiff, PkgId, diff_pkglists, parse_pkglist
from fedostree.server.candidates import list_candidates, published_refs
from fedostree.server.results import RESULTS_DIR, load_results, log_name

STATUS_PATH = "/status/"  # the index; a tree's page is STATUS_PATH + "tree/" + REF
GPGSIGS_KEY = "ostree.gpgsigs"
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class CheckLink:
    name: str
    outcome: str  # "passed" | "failed" | "skipped"
    url: str  # the log, a path on the server


@dataclass(frozen=True)
class Version:
    """One commit as the page shows it."""

    commit: str
    version: str | None
    timestamp: int
    packages: tuple[PkgId, ...]
    outcome: str  # "passed" | "failed" | "untested"
    checks: tuple[CheckLink, ...]

    @property
    def failed_checks(self) -> tuple[CheckLink, ...]:
        return tuple(c for c in self.checks if c.outcome == "failed")


@dataclass(frozen=True)
class HistoryEntry:
    version: Version
    diff: PkgDiff | None  # from its parent; None when it has none (or it was pruned)


@dataclass(frozen=True)
class TreeStatus:
    ref: str
    head: Version  # the published commit, or the candidate of a tree never published
    published: bool
    signed: bool
    files: int
    size: int  # bytes of regular files, as checked out
    failed_candidate: Version | None  # a newer candidate that failed its tests
    history: tuple[HistoryEntry, ...]  # newest (the head) first


# -- the model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Refs:
    """The repository's refs: published (REF -> commit) and candidates (REF -> commit)."""

    published: dict[str, str]
    candidates: dict[str, str]

    @classmethod
    def read(cls, repo: OSTree.Repo) -> Refs:
        return cls(published_refs(repo), list_candidates(repo))

    def trees(self) -> list[str]:
        return sorted(self.published.keys() | self.candidates.keys())


def collect_trees(repo_path: Path) -> list[TreeStatus]:
    """Every tree of the repository: each published ref, and each candidate ref whose
    tree was never published, sorted by ref."""
    repo = ot.open_repo(repo_path)
    refs = Refs.read(repo)
    return [collect_tree(repo, repo_path, ref, refs) for ref in refs.trees()]


def find_tree(repo_path: Path, ref: str) -> TreeStatus | None:
    repo = ot.open_repo(repo_path)
    refs = Refs.read(repo)
    if ref not in refs.published and ref not in refs.candidates:
        return None
    return collect_tree(repo, repo_path, ref, refs)


def collect_tree(repo: OSTree.Repo, repo_path: Path, ref: str, refs: Refs) -> TreeStatus:
    published = refs.published.get(ref)
    candidate = refs.candidates.get(ref)
    head_commit = published or candidate
    assert head_commit is not None
    head = load_version(repo, repo_path, head_commit)
    failed = None
    if published and candidate and candidate != published:
        newest = load_version(repo, repo_path, candidate)
        failed = newest if newest.outcome == "failed" else None
    files, size = cached_tree_size(str(repo_path), head_commit)
    return TreeStatus(
        ref=ref,
        head=head,
        published=published is not None,
        signed=is_signed(repo, head_commit),
        files=files,
        size=size,
        failed_candidate=failed,
        history=collect_history(repo, repo_path, head),
    )


def load_version(repo: OSTree.Repo, repo_path: Path, commit: str) -> Version:
    metadata = ot.commit_metadata(repo, commit)
    results = load_results(repo_path, commit)
    checks = tuple(
        CheckLink(c.name, c.outcome, log_url(commit, c.name))
        for c in (results.checks if results else ())
    )
    return Version(
        commit=commit,
        version=metadata.get("version"),
        timestamp=ot.commit_timestamp(repo, commit),
        packages=tuple(parse_pkglist(metadata.get(PKGLIST_KEY))),
        outcome=results.outcome if results else "untested",
        checks=checks,
    )


def collect_history(repo: OSTree.Repo, repo_path: Path, head: Version) -> tuple[HistoryEntry, ...]:
    """The head and its ancestors while their commit objects exist (old ones are pruned),
    each with the package diff from its parent."""
    entries: list[HistoryEntry] = []
    current: Version | None = head
    while current is not None and len(entries) < HISTORY_LIMIT:
        parent_commit = ot.commit_parent(repo, current.commit)
        parent = load_version(repo, repo_path, parent_commit) if parent_commit else None
        diff = diff_pkglists(parent.packages, current.packages) if parent else None
        entries.append(HistoryEntry(current, diff))
        current = parent
    return tuple(entries)


def log_url(commit: str, check: str) -> str:
    return "/" + urllib.parse.quote(f"{RESULTS_DIR.as_posix()}/{commit}/{log_name(check)}")


def is_signed(repo: OSTree.Repo, commit: str) -> bool:
    _, detached = repo.read_commit_detached_metadata(commit, None)
    return detached is not None and detached.lookup_value(GPGSIGS_KEY, None) is not None


@functools.lru_cache(maxsize=256)
def cached_tree_size(repo_path: str, commit: str) -> tuple[int, int]:
    """(files, bytes) of a commit's tree; a commit never changes, so it is read once."""
    return ot.tree_size(ot.open_repo(Path(repo_path)), commit)


# -- the pages -----------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f4; }
pre, code { font-family: ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
.outcome { font-weight: 600; padding: 0 .3em; border-radius: 3px; }
.outcome-passed { color: #116329; background: #dafbe1; }
.outcome-failed { color: #82071e; background: #ffebe9; }
.outcome-untested { color: #555; background: #eee; }
tr.candidate-failed td, div.candidate-failed { background: #fff5f5; }
div.candidate-failed { padding: .5em; margin: .8em 0; border-left: 3px solid #cf222e; }
.unpublished { color: #82071e; font-weight: 600; }
ul.diff { margin: 0; padding-left: 1.2em; }
.added { color: #116329; } .removed { color: #82071e; }
"""


def render_index(trees: Sequence[TreeStatus], base_url: str, remote_name: str) -> str:
    """The index: a table of the trees and the commands to use them."""
    rows = "".join(render_tree_rows(t) for t in trees)
    table = (
        '<table id="trees"><tr><th>Tree</th><th>Version</th><th>Date (UTC)</th>'
        "<th>Packages</th><th>Size</th><th>Tests</th><th>Signature</th></tr>"
        f"{rows}</table>"
        if trees
        else '<p id="no-trees">This repository has no trees yet.</p>'
    )
    body = f"<h1>Trees on {esc(base_url)}</h1>{table}" + render_commands(
        trees, base_url, remote_name
    )
    return render_page("fedostree trees", body)


def render_tree_rows(tree: TreeStatus) -> str:
    head = tree.head
    mark = "" if tree.published else ' <span class="unpublished">not published</span>'
    row = (
        f'<tr class="tree" data-ref="{esc(tree.ref)}" data-published="{str(tree.published).lower()}">'
        f'<td class="ref"><a href="{esc(tree_url(tree.ref))}">{esc(tree.ref)}</a>{mark}</td>'
        f'<td class="version">{esc(head.version or "-")}</td>'
        f'<td class="date">{render_time(head.timestamp)}</td>'
        f'<td class="packages">{len(head.packages)}</td>'
        f'<td class="size" data-bytes="{tree.size}">{format_size(tree.size)}</td>'
        f'<td class="tests">{render_outcome(head)}</td>'
        f'<td class="signature">{render_signature(tree.signed)}</td></tr>'
    )
    if tree.failed_candidate is not None:
        row += (
            f'<tr class="candidate-failed" data-ref="{esc(tree.ref)}"><td colspan="7">'
            f"{render_failed_candidate(tree.failed_candidate)}</td></tr>"
        )
    return row


def render_tree(tree: TreeStatus, base_url: str, remote_name: str) -> str:
    """A tree's page: its head, a failed newer candidate, its history and packages."""
    head = tree.head
    state = "published" if tree.published else '<span class="unpublished">not published</span>'
    facts = [
        ("Version", f'<span class="version">{esc(head.version or "-")}</span> ({state})'),
        ("Date (UTC)", render_time(head.timestamp)),
        ("Commit", f'<code class="commit">{esc(head.commit)}</code>'),
        ("Packages", f'<span class="packages">{len(head.packages)}</span>'),
        (
            "Size",
            f'<span class="size" data-bytes="{tree.size}">{format_size(tree.size)}</span>'
            f" in {tree.files} files",
        ),
        ("Tests", render_outcome(head)),
        ("Signature", render_signature(tree.signed)),
    ]
    summary = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)
    candidate = (
        f'<div class="candidate-failed" data-ref="{esc(tree.ref)}">'
        f"{render_failed_candidate(tree.failed_candidate)}</div>"
        if tree.failed_candidate
        else ""
    )
    body = (
        f'<p><a href="{STATUS_PATH}">All trees</a></p>'
        f'<h1 class="tree" data-ref="{esc(tree.ref)}">{esc(tree.ref)}</h1>'
        f'<table id="summary">{summary}</table>{candidate}'
        + render_commands([tree], base_url, remote_name)
        + render_history(tree.history)
        + render_packages(head.packages)
    )
    return render_page(f"{tree.ref} — fedostree", body)


def render_not_found(ref: str) -> str:
    body = (
        f'<h1 id="not-found">No tree {esc(ref)}</h1>'
        f"<p>This repository has no tree named <code>{esc(ref)}</code>. "
        f'<a href="{STATUS_PATH}">All trees</a></p>'
    )
    return render_page("No such tree — fedostree", body)


def render_error(message: str) -> str:
    return render_page("Error — fedostree", f'<h1 id="error">Error</h1><pre>{esc(message)}</pre>')


def render_commands(trees: Iterable[TreeStatus], base_url: str, remote_name: str) -> str:
    trees = list(trees)
    published = [t for t in trees if t.published]
    if not published:
        return ""
    all_signed = all(t.signed for t in published)
    add = f"fedostree remote add {remote_name} {base_url}"
    add += "" if all_signed else " --no-gpg-verify"
    note = (
        "<p>The commits are signed: add <code>--gpg-import KEYFILE</code> with the "
        "server's public key, or the client cannot verify them.</p>"
        if all_signed
        else "<p>Some commits are not signed, so the remote does not verify signatures.</p>"
    )
    rebases = "".join(
        f'<pre class="rebase" data-ref="{esc(t.ref)}">'
        f"{esc(f'fedostree rebase {remote_name}:{t.ref}')}</pre>"
        for t in published
    )
    return (
        '<h2 id="commands">Use these trees</h2>'
        f'<p>Add this server as a remote:</p><pre id="remote-add">{esc(add)}</pre>{note}'
        f"<p>Then rebase to a tree:</p>{rebases}"
    )


def render_history(history: Sequence[HistoryEntry]) -> str:
    rows = "".join(
        f'<tr class="version" data-commit="{esc(e.version.commit)}" '
        f'data-version="{esc(e.version.version or "")}">'
        f'<td class="version">{esc(e.version.version or "-")}</td>'
        f'<td class="date">{render_time(e.version.timestamp)}</td>'
        f'<td class="tests">{render_outcome(e.version)}</td>'
        f'<td class="changes">{render_diff(e.diff)}</td></tr>'
        for e in history
    )
    return (
        '<h2>History</h2><table id="history"><tr><th>Version</th><th>Date (UTC)</th>'
        f"<th>Tests</th><th>Package changes from the previous version</th></tr>{rows}</table>"
    )


def render_diff(diff: PkgDiff | None) -> str:
    if diff is None:
        return '<span class="no-parent">oldest version kept</span>'
    items = [
        *(diff_item("upgraded", o.name, f"{o.name} {o.evr} → {n.evr}") for o, n in diff.upgraded),
        *(
            diff_item("downgraded", o.name, f"{o.name} {o.evr} → {n.evr} (downgrade)")
            for o, n in diff.downgraded
        ),
        *(diff_item("added", p.name, f"+ {p.nevra}") for p in diff.added),
        *(diff_item("removed", p.name, f"- {p.nevra}") for p in diff.removed),
    ]
    return f'<ul class="diff">{"".join(items)}</ul>' if items else "no package changes"


def diff_item(kind: str, name: str, text: str) -> str:
    return f'<li class="{kind}" data-name="{esc(name)}">{esc(text)}</li>'


def render_packages(packages: Sequence[PkgId]) -> str:
    items = "".join(f"<li>{esc(p.nevra)}</li>" for p in packages)
    return (
        f'<h2>Packages</h2><details id="packages"><summary>{len(packages)} packages</summary>'
        f"<ul>{items}</ul></details>"
    )


def render_outcome(version: Version) -> str:
    outcome = (
        f'<span class="outcome outcome-{esc(version.outcome)}" data-outcome="{esc(version.outcome)}">'
        f"{esc(version.outcome)}</span>"
    )
    return outcome + " " + render_log_links(version.checks) if version.checks else outcome


def render_log_links(checks: Iterable[CheckLink]) -> str:
    return " ".join(
        f'<a class="log" data-check="{esc(c.name)}" data-outcome="{esc(c.outcome)}" '
        f'href="{esc(c.url)}">{esc(c.name)}</a>'
        for c in checks
    )


def render_failed_candidate(candidate: Version) -> str:
    return (
        f'<span class="candidate" data-commit="{esc(candidate.commit)}" '
        f'data-version="{esc(candidate.version or "")}">'
        f"The newest version, {esc(candidate.version or candidate.commit[:12])} "
        f"({render_time(candidate.timestamp)}), failed its tests and was not published: "
        f"{render_log_links(candidate.failed_checks)}</span>"
    )


def render_signature(signed: bool) -> str:
    word = "signed" if signed else "unsigned"
    return f'<span class="{word}" data-signed="{str(signed).lower()}">{word}</span>'


def render_time(timestamp: int) -> str:
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
    return f'<time datetime="{iso}">{time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))}</time>'


def render_page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def tree_url(ref: str) -> str:
    return f"{STATUS_PATH}tree/{urllib.parse.quote(ref)}"


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


# -- routing -------------------------------------------------------------------------


def render_route(repo_path: Path, path: str, base_url: str, remote_name: str) -> tuple[int, str]:
    """(HTTP status, HTML) for a path under STATUS_PATH: the index, or `tree/REF`."""
    rest = path.removeprefix(STATUS_PATH)
    if rest == "":
        return 200, render_index(collect_trees(repo_path), base_url, remote_name)
    ref = rest.removeprefix("tree/").strip("/") if rest.startswith("tree/") else ""
    tree = find_tree(repo_path, ref) if ref else None
    if tree is None:
        return 404, render_not_found(ref or rest)
    return 200, render_tree(tree, base_url, remote_name)
