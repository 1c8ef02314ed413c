"""The status page of `fedostree serve`, read the way a user reads it: real trees composed
from real RPMs, test results recorded for their commits, the server run as a process, and
the page loaded in headless Chromium (DOM dump and screenshot)."""

from __future__ import annotations

import html.parser
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import Message
from pathlib import Path

import pytest

from fedostree.engine import ostree as ot
from fedostree.engine.pkglist import PkgId
from fedostree.server import status_page as status
from fedostree.server.results import CheckResult, CommitResults, record_results, remove_results
from tests.support.cli import compose, ostree, run
from tests.support.client import RELEASE, Server, checksums
from tests.support.rpms import (
    Pkg,
    base_packages,
    build_rpms,
    createrepo,
    demo_packages,
    write_treefile,
)

CHROMIUM = Path("/usr/bin/chromium")
REF = "test/x86_64/status"
UNRELEASED = "test/x86_64/unreleased"
REMOTE_NAME = "lab"
CANDIDATE = "candidates:"

KERNEL = next(p for p in demo_packages() if p.name == "kernel")
BASH = next(p for p in base_packages() if p.name == "bash")
OLDTOOL = Pkg("oldtool", files={"/usr/bin/oldtool": "#!/bin/sh\necho old\n"})
NEWTOOL = Pkg("newtool", files={"/usr/bin/newtool": "#!/bin/sh\necho new\n"})
BROKEN = Pkg("brokentool", files={"/usr/bin/brokentool": "#!/bin/sh\nexit 1\n"})
BASE = "bash, setup, kernel, fedora-release"  # and filesystem, which they require
TREE = """\
ref: {ref}
repos: [test-repo]
packages: [{packages}]
automatic-version-prefix: "{prefix}"
"""
BROKEN_LOG = "usr/bin/brokentool: exits 1\n"


@dataclass(frozen=True)
class World:
    """REF published at v2 (parent v1), its candidate v3 failed; UNRELEASED only a candidate."""

    repo: Path
    v1: str
    v2: str
    v3: str
    unreleased: str


def _rpm_repos(root: Path) -> tuple[Path, Path, Path]:
    """v1: base, kernel, oldtool; v2: also bash 1.1 and newtool; v3: also brokentool."""
    v1, v2, v3 = root / "v1", root / "v2", root / "v3"
    build_rpms([*base_packages(), KERNEL, RELEASE, OLDTOOL], v1, root / "work")
    createrepo(v1)
    shutil.copytree(v1, v2, ignore=shutil.ignore_patterns("repodata"))
    build_rpms([replace(BASH, version="1.1"), NEWTOOL], v2, root / "work")
    createrepo(v2)
    shutil.copytree(v2, v3, ignore=shutil.ignore_patterns("repodata"))
    build_rpms([BROKEN], v3, root / "work")
    createrepo(v3)
    return v1, v2, v3


def _compose(work: Path, rpms: Path, ref: str, packages: str, prefix: str) -> str:
    text = TREE.format(ref=ref, packages=packages, prefix=prefix)
    r = compose(write_treefile(work / f"tf-{rpms.name}-{prefix}", rpms.as_uri(), text), work)
    assert r.exit_code == 0, r.stderr
    repo = ot.open_repo(work / "repo")
    commit = ot.resolve_rev(repo, CANDIDATE + ref) or ot.resolve_rev(repo, ref)
    assert commit is not None
    return commit


def _results(world_repo: Path, commit: str, ref: str, version: str, failing: str = "") -> None:
    checks = (
        CheckResult("boot", "passed", 1.5, "reached multi-user.target\n"),
        CheckResult("elf deps", "failed" if failing else "passed", 0.2, failing or "all found\n"),
    )
    record_results(world_repo, CommitResults(commit, ref, version, time.time(), checks))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("status-world")
    v1_rpms, v2_rpms, v3_rpms = _rpm_repos(root / "rpms")
    work = root / "compose"
    v1 = _compose(work, v1_rpms, REF, f"{BASE}, oldtool", "40")
    v2 = _compose(work, v2_rpms, REF, f"{BASE}, newtool", "40")
    v3 = _compose(work, v3_rpms, REF, f"{BASE}, newtool, brokentool", "40")
    unreleased = _compose(work, v1_rpms, UNRELEASED, BASE, "50")
    repo = work / "repo"
    # As the promotion leaves it: REF stays at v2, the failed v3 only a candidate, and
    # UNRELEASED failed the first time, so it never got its ref.
    ostree(repo, "reset", REF, v2)
    ostree(repo, "refs", "--force", f"--create={CANDIDATE}{REF}", v3)
    ostree(repo, "refs", "--force", f"--create={CANDIDATE}{UNRELEASED}", unreleased)
    ostree(repo, "refs", "--delete", UNRELEASED)
    ostree(repo, "summary", "-u")
    remove_results(repo, [v1])  # v1: never tested
    _results(repo, v2, REF, "40.1")
    _results(repo, v3, REF, "40.2", failing=BROKEN_LOG)
    _results(repo, unreleased, UNRELEASED, "50", failing="libfoo.so.1: not found\n")
    return World(repo, v1, v2, v3, unreleased)


@pytest.fixture(scope="module")
def served(world: World) -> Iterator[str]:
    """`fedostree serve` as a process on a free port; yields its URL."""
    cmd = [sys.executable, "-m", "fedostree", "serve", "--repo", str(world.repo), "--port", "0",
           "--remote-name", REMOTE_NAME]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first, second = proc.stdout.readline(), proc.stdout.readline()
        assert first.startswith("Serving "), proc.stderr.read() if proc.stderr else first
        url = first.rsplit(" ", 1)[1].strip()
        assert second == f"Status page: {url}status/\n", second
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


# -- reading pages -------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str = "", **attrs: str) -> list[Node]:
        """Elements with that tag (any, if empty) and attributes; class_ matches one class."""
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.iter() if (not tag or n.tag == tag) and _matches(n, want)]

    def one(self, tag: str = "", **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, [n.text() for n in found])
        return found[0]


def _matches(node: Node, want: dict[str, str]) -> bool:
    for key, value in want.items():
        have = node.attrs.get(key)
        if key == "class" and value not in (have or "").split():
            return False
        if key != "class" and have != value:
            return False
    return True


VOID_ELEMENTS = frozenset({"meta", "link", "br", "hr", "img", "input", "source", "wbr", "col"})


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1 and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(document: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(document)
    builder.close()
    return builder.root


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
           f"--user-data-dir={profile}", *args]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def browse(tmp_path: Path, url: str, screenshot: str) -> Node:
    """The page's DOM as Chromium built it; a screenshot of it in tmp_path/screenshot."""
    dom = chromium(tmp_path, "--dump-dom", url).stdout
    png = tmp_path / screenshot
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", url)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, len(data)
    return parse(dom)


def fetch(url: str) -> tuple[int, str, Message]:
    """(status, body, headers), without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")


# -- the tests -----------------------------------------------------------------------


def test_root_redirects_to_the_status_page(served: str) -> None:
    code, _, headers = fetch(served)
    assert (code, headers["Location"]) == (302, "/status/")
    code, body, headers = fetch(served + "status/")
    assert code == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert parse(body).one("table", id="trees")


@needs_chromium
def test_index_shows_every_tree_with_its_outcome(served: str, world: World, tmp_path: Path) -> None:
    page = browse(tmp_path, served + "status/", "index.png")

    row = page.one("tr", class_="tree", data_ref=REF)
    assert row.attrs["data-published"] == "true"
    assert row.one(class_="version").text() == "40.1"
    assert row.one(class_="packages").text() == "6"  # BASE, filesystem, newtool
    assert int(row.one(class_="size").attrs["data-bytes"]) > 100_000  # busybox, at least
    assert row.one(class_="outcome").attrs["data-outcome"] == "passed"
    assert row.one(class_="signature").text() == "unsigned"
    timestamp = ot.commit_timestamp(ot.open_repo(world.repo), world.v2)
    assert row.one("time").attrs["datetime"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp)
    )
    assert [a.attrs["href"] for a in row.find_all("a", class_="log")] == [
        f"/extensions/fedostree/results/{world.v2}/boot.log",
        f"/extensions/fedostree/results/{world.v2}/elf_deps.log",
    ]

    # The newest candidate failed: its version, and a link to its failing log only.
    failed = page.one("tr", class_="candidate-failed", data_ref=REF)
    assert failed.one(class_="candidate").attrs["data-version"] == "40.2"
    assert "40.2" in failed.text() and "failed its tests" in failed.text()
    [link] = failed.find_all("a", class_="log")
    assert link.attrs["href"] == f"/extensions/fedostree/results/{world.v3}/elf_deps.log"
    code, log, headers = fetch(served.rstrip("/") + link.attrs["href"])
    assert (code, log) == (200, BROKEN_LOG)
    assert headers["Content-Type"].startswith("text/plain")

    unreleased = page.one("tr", class_="tree", data_ref=UNRELEASED)
    assert unreleased.attrs["data-published"] == "false"
    assert "not published" in unreleased.text()
    assert unreleased.one(class_="version").text() == "50"
    assert unreleased.one(class_="outcome").attrs["data-outcome"] == "failed"
    assert not page.find_all(data_ref=CANDIDATE + REF), "candidate refs are not trees"

    add = page.one("pre", id="remote-add").text()
    assert add == f"fedostree remote add {REMOTE_NAME} {served} --no-gpg-verify"
    rebases = [p.text() for p in page.find_all("pre", class_="rebase")]
    assert rebases == [f"fedostree rebase {REMOTE_NAME}:{REF}"]  # published trees only


@needs_chromium
def test_tree_page_shows_the_history_with_package_diffs(
    served: str, world: World, tmp_path: Path
) -> None:
    page = browse(tmp_path, f"{served}status/tree/{REF}", "tree.png")

    assert page.one("h1", class_="tree").attrs["data-ref"] == REF
    assert page.one("code", class_="commit").text() == world.v2
    history = page.one("table", id="history").find_all("tr", class_="version")
    assert [(r.attrs["data-commit"], r.attrs["data-version"]) for r in history] == [
        (world.v2, "40.1"),
        (world.v1, "40"),
    ]
    newest, oldest = history
    assert newest.one(class_="outcome").attrs["data-outcome"] == "passed"
    assert oldest.one(class_="outcome").attrs["data-outcome"] == "untested"
    assert newest.one("li", class_="upgraded", data_name="bash").text() == "bash 1.0-1 → 1.1-1"
    assert newest.one("li", class_="added").text() == "+ newtool-1.0-1.x86_64"
    assert newest.one("li", class_="removed").text() == "- oldtool-1.0-1.x86_64"
    assert oldest.one(class_="no-parent")

    failed = page.one("div", class_="candidate-failed", data_ref=REF)
    [link] = failed.find_all("a", class_="log")
    assert link.attrs["data-check"] == "elf deps"
    assert (
        page.one("pre", id="remote-add")
        .text()
        .startswith(f"fedostree remote add {REMOTE_NAME} {served}")
    )


def test_unknown_tree_is_a_404_page(served: str) -> None:
    candidates = (f"status/tree/{CANDIDATE}{REF}", f"status/tree/candidates/{REF}")
    for path in ("status/tree/no/such/tree", *candidates, "status/elsewhere"):
        code, body, _ = fetch(served + path)
        assert code == 404, path
        assert parse(body).one("h1", id="not-found")


def test_the_commands_on_the_page_deploy_the_tree(served: str, world: World, sysroot: Path) -> None:
    _, body, _ = fetch(served + "status/")
    page = parse(body)
    for command in (page.one("pre", id="remote-add"), page.one("pre", data_ref=REF)):
        argv = shlex.split(command.text())
        assert argv[0] == "fedostree"
        n = 3 if argv[1] == "remote" else 2
        r = run(*argv[1:n], "--sysroot", sysroot, *argv[n:])
        assert r.exit_code == 0, r.stderr
    assert checksums(sysroot) == [world.v2]


def gpg_sign(repo: Path, commit: str, where: Path) -> None:
    """Sign commit with a throwaway ed25519 key, as an admin would with the stock tools."""
    home = where / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    uid = "status test <status-test@example.invalid>"
    try:
        subprocess.run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"],
                       check=True, capture_output=True)  # fmt: skip
        ostree(repo, "gpg-sign", f"--gpg-homedir={home}", commit, uid)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def test_the_page_follows_the_repository(world: World, tmp_path: Path) -> None:
    """What the repository says now shows at once: nothing is cached across requests but
    what a commit checksum names."""
    repo = tmp_path / "repo"
    shutil.copytree(world.repo, repo, symlinks=True)
    server = Server(repo)
    try:
        before = parse(fetch(f"{server.url}status/tree/{REF}")[1])
        assert before.one("div", class_="candidate-failed")
        # make_server's default remote name; unsigned commits need --no-gpg-verify
        assert before.one("pre", id="remote-add").text() == (
            f"fedostree remote add fedostree {server.url} --no-gpg-verify"
        )
        server.publish(REF, world.v3)  # say the failure was waived and v3 published, signed
        gpg_sign(repo, world.v3, tmp_path)
        after = parse(fetch(f"{server.url}status/tree/{REF}")[1])
        assert not after.find_all("div", class_="candidate-failed")
        assert after.one("code", class_="commit").text() == world.v3
        newest = after.one("table", id="history").find_all("tr", class_="version")[0]
        assert newest.one("li", class_="added", data_name="brokentool")
        assert newest.one(class_="outcome").attrs["data-outcome"] == "failed"
        assert after.one(data_signed="true").text() == "signed"
        add = after.one("pre", id="remote-add").text()
        assert add == f"fedostree remote add fedostree {server.url}"
    finally:
        server.stop()


def test_the_repository_is_still_served_byte_for_byte(
    served: str, world: World, tmp_path: Path
) -> None:
    for name in ("config", "summary", f"refs/heads/{REF}"):
        with urllib.request.urlopen(served + name, timeout=30) as response:
            assert response.read() == (world.repo / name).read_bytes(), name
    mirror = tmp_path / "mirror"
    ostree(mirror, "init", "--mode=archive")
    ostree(mirror, "remote", "add", "--no-gpg-verify", "origin", served)
    ostree(mirror, "pull", "origin", REF)
    assert ostree(mirror, "rev-parse", f"origin:{REF}").strip() == world.v2


def test_everything_from_the_repository_is_escaped() -> None:
    """Versions, package and check names and the Host header are text, never markup."""
    evil = "<script>alert(1)</script>"
    head = status.Version(
        commit="0" * 64,
        version=f'1"{evil}',
        timestamp=0,
        packages=(PkgId(evil, "0", "1", "1", "x86_64"),),
        outcome="failed",
        checks=(status.CheckLink(evil, "failed", status.log_url("0" * 64, evil)),),
    )
    tree = status.TreeStatus(
        ref=f"a/{evil}",
        head=head,
        published=True,
        signed=False,
        files=1,
        size=1,
        failed_candidate=head,
        history=(status.HistoryEntry(head, None),),
    )
    for page in (status.render_index([tree], evil, evil), status.render_tree(tree, evil, evil)):
        assert "<script>" not in page
        dom = parse(page)
        assert (
            dom.one("pre", id="remote-add").text().startswith(f"fedostree remote add {evil} {evil}")
        )
        assert all(
            a.attrs["href"].endswith("/_script_alert_1___script_.log")
            for a in dom.find_all("a", class_="log")
        )
