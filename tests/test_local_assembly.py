"""`fedostree rebase --local TREEFILE`: the client builds a treefile's tree itself, from
its own repositories (rpm-md repositories served over HTTP), into the sysroot's
repository, and deploys it; `upgrade` resolves the treefile again. Checked as an admin
checks it: status, the stock `ostree admin status`, the origin, the deployment's files
and rpmdb, the refs of the sysroot's repository, exit codes and messages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import compose, error_message, fsck, ostree
from tests.support.client import (
    REF,
    REMOTE,
    admin_status,
    client,
    deployment_root,
    snapshot,
    status,
)
from tests.support.kill import kill_when_started
from tests.support.rpms import Pkg, build_rpms, createrepo, write_treefile

LOCAL_REF = f"fedostree/local/{REF}"
TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: [hello, kernel, fedora-release{{extra}}]
automatic-version-prefix: "20"
"""
FORTUNE = Pkg("fortune", files={"/usr/bin/fortune": "#!/bin/sh\necho luck\n"})
FAILPOST = Pkg("failpost", files={"/usr/bin/failpost": "x\n"},
               scripts={"post": "echo 'cannot set up failpost' >&2\nexit 3"})  # fmt: skip
SLOWPOST = Pkg("slowpost", files={"/usr/bin/slowpost": "x\n"},
               scripts={"post": "touch /etc/slowpost-started\nsleep 60"})  # fmt: skip
LAYER_REPO = "[layer-repo]\nname=packages to layer\nbaseurl={url}\ngpgcheck=0\n"


@pytest.fixture(scope="session")
def extra_rpms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Packages for the bad-input tests and for layering: a repository of their own."""
    root = tmp_path_factory.mktemp("local-extra")
    build_rpms([FORTUNE, FAILPOST, SLOWPOST], root / "repo", root / "work")
    createrepo(root / "repo")
    return root / "repo"


class Repos:
    """The client's rpm-md repository (served over HTTP), updated in place as a mirror
    is: v1 (hello 2.10) at first, v2 (hello 2.11, newtool) after update()."""

    def __init__(self, rpms: tuple[Path, Path], live: Path, serve: Callable[[Path], str]):
        self.v1, self.v2 = rpms
        self.live = live
        shutil.copytree(self.v1, live)
        self.url = serve(live)

    def update(self) -> None:
        staged = self.live.with_name("staged")
        shutil.copytree(self.v2, staged)
        shutil.rmtree(self.live)
        staged.rename(self.live)


@pytest.fixture
def repos(
    client_rpm_repos: tuple[Path, Path], tmp_path: Path, http_server: Callable[[Path], str]
) -> Repos:
    return Repos(client_rpm_repos, tmp_path / "live", http_server)


@pytest.fixture
def extra_url(extra_rpms: Path, http_server: Callable[[Path], str]) -> str:
    return http_server(extra_rpms)


def treefile(directory: Path, url: str, *extra: str, extra_url: str | None = None) -> Path:
    """The treefile with test-repo beside it; extra packages come from extra-repo."""
    text = TREE.format(extra="".join(f", {p}" for p in extra))
    path = write_treefile(directory, url, text)
    if extra_url is not None:
        (directory / "extra-repo.repo").write_text(
            f"[extra-repo]\nname=extra\nbaseurl={extra_url}\ngpgcheck=0\n"
        )
        path.write_text(path.read_text().replace("[test-repo]", "[test-repo, extra-repo]"))
    return path


def rebase_local(sysroot: Path, tf: Path, *args: str) -> None:
    r = client(sysroot, "rebase", "--local", str(tf), *args)
    assert r.exit_code == 0, r.stderr


def default(sysroot: Path) -> dict[str, object]:
    return status(sysroot)[0]


def root_of(sysroot: Path, d: dict[str, object]) -> Path:
    return deployment_root(sysroot, str(d["checksum"]), int(str(d["serial"])))


def rpm_qa(root: Path) -> list[str]:
    r = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/usr/share/rpm", "-qa",
                        "--qf", "%{NEVRA}\n"], capture_output=True, text=True, check=True)  # fmt: skip
    return sorted(r.stdout.split())


def repo_of(sysroot: Path) -> Path:
    return sysroot / "ostree/repo"


def local_refs(sysroot: Path) -> dict[str, str]:
    out = ostree(repo_of(sysroot), "refs", "fedostree/local").split()
    return {
        f"fedostree/local/{r}": ostree(
            repo_of(sysroot), "rev-parse", f"fedostree/local/{r}"
        ).strip()
        for r in out
    }


# --- rebase --local ------------------------------------------------------------------------


def test_rebase_local_builds_and_deploys_the_tree(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "tree", repos.url)
    r = client(sysroot, "rebase", "--local", str(tf))
    assert r.exit_code == 0, r.stderr
    assert f"Deployed {LOCAL_REF}:" in r.stdout and "(20)" in r.stdout
    d = default(sysroot)
    assert d["origin"] == LOCAL_REF and d["treefile"] == str(tf) and d["version"] == "20"
    # the commit is on the local ref of the sysroot's repository, no remote
    assert local_refs(sysroot) == {LOCAL_REF: d["checksum"]}
    inputhash = ostree(repo_of(sysroot), "show", "--print-metadata-key=rpmostree.inputhash",
                       LOCAL_REF).strip().strip("'")  # fmt: skip
    assert d["inputhash"] == inputhash and len(inputhash) == 64
    assert [c for c, _ in admin_status(sysroot)] == [d["checksum"]]  # the stock tools agree
    root = root_of(sysroot, d)
    assert (root / "usr/bin/hello").read_text() == "#!/bin/sh\necho hello\n"
    assert (root / "etc/hello.post-ran").read_text() == "post 1\n"  # %post ran
    assert "hello-2.10-1.x86_64" in rpm_qa(root) and "kernel-5.14.0-1.fc20.x86_64" in rpm_qa(root)
    origin = Path(f"{root}.origin").read_text()
    assert f"refspec={LOCAL_REF}\n" in origin and f"local-treefile={tf}\n" in origin
    # the packages went into the package cache layering uses; the work directory is gone
    cached = ostree(repo_of(sysroot), "refs", "rpmostree/pkg").split()
    assert any(ref.startswith("hello/") for ref in cached)
    assert list((sysroot / "ostree/repo/tmp/fedostree-local").iterdir()) == []
    fsck(repo_of(sysroot))


def test_status_shows_treefile_inputhash_and_version(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "tree", repos.url)
    rebase_local(sysroot, tf)
    d = default(sysroot)
    r = client(sysroot, "status")
    assert r.exit_code == 0, r.stderr
    lines = [line.strip() for line in r.stdout.splitlines()]
    assert f"{LOCAL_REF} (default)" in r.stdout
    assert f"Treefile: {tf}" in lines and f"InputHash: {d['inputhash']}" in lines
    assert any(line.startswith("Version: 20 (") for line in lines)


def test_a_relative_treefile_is_recorded_absolute(
    sysroot: Path, repos: Repos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tf = treefile(tmp_path / "tree", repos.url)
    monkeypatch.chdir(tmp_path)
    rebase_local(sysroot, Path("tree/treefile.yaml"))
    assert default(sysroot)["treefile"] == str(tf)


def test_the_client_repositories_come_first(
    deployed: Path, repos: Repos, client_rpm_repos: tuple[Path, Path], tmp_path: Path,
    http_server: Callable[[Path], str],
) -> None:  # fmt: skip
    """test-repo defined in the deployment's /etc/yum.repos.d (at v2) wins over the
    .repo file beside the treefile (at v1); from a pulled deployment to a local one."""
    v2_url = http_server(client_rpm_repos[1])
    pulled = default(deployed)
    yum = root_of(deployed, pulled) / "etc/yum.repos.d"
    yum.mkdir(parents=True, exist_ok=True)
    (yum / "test.repo").write_text(f"[test-repo]\nname=mine\nbaseurl={v2_url}\ngpgcheck=0\n")
    tf = treefile(tmp_path / "tree", repos.url)
    rebase_local(deployed, tf)
    d = default(deployed)
    assert d["origin"] == LOCAL_REF
    assert "hello-2.11-1.x86_64" in rpm_qa(root_of(deployed, d))
    assert status(deployed)[1]["checksum"] == pulled["checksum"]  # the rollback
    assert [c for c, _ in admin_status(deployed)] == [d["checksum"], pulled["checksum"]]
    # and back to the pulled tree: the origin forgets the treefile
    r = client(deployed, "rebase", f"{REMOTE}:{REF}")
    assert r.exit_code == 0, r.stderr
    assert "treefile" not in default(deployed) and default(deployed)["origin"] == f"{REMOTE}:{REF}"


# --- upgrade -------------------------------------------------------------------------------


def test_upgrade_with_nothing_new_says_no_change(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    rebase_local(sysroot, treefile(tmp_path / "tree", repos.url))
    before = snapshot(sysroot)
    r = client(sysroot, "upgrade")
    assert (r.exit_code, r.stdout) == (0, "No change.\n"), r.stderr
    r = client(sysroot, "upgrade", "--unchanged-exit-77")
    assert (r.exit_code, r.stdout) == (77, "No change.\n"), r.stderr
    r = client(sysroot, "upgrade", "--check")
    assert (r.exit_code, r.stdout) == (77, "No change.\n"), r.stderr
    r = client(sysroot, "upgrade", "--preview")
    assert (r.exit_code, r.stdout) == (77, "No change.\n"), r.stderr
    r = client(sysroot, "upgrade", "--download-only")
    assert (r.exit_code, r.stdout) == (0, "No change.\n"), r.stderr
    assert snapshot(sysroot) == before


def test_upgrade_after_a_package_update_rebuilds(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    rebase_local(sysroot, treefile(tmp_path / "tree", repos.url))
    first = default(sysroot)
    repos.update()
    r = client(sysroot, "upgrade", "--check")
    assert r.exit_code == 0, r.stderr
    assert (
        r.stdout.startswith(f"Update available: {LOCAL_REF}, input hash ") and "(20.1)" in r.stdout
    )
    r = client(sysroot, "upgrade", "--preview")
    assert r.exit_code == 0, r.stderr
    assert "Upgraded:\n  hello 2.10-1 -> 2.11-1\n" in r.stdout
    assert "Download size: " in r.stdout and "(1 packages)" in r.stdout
    assert default(sysroot)["checksum"] == first["checksum"]  # neither deployed anything
    r = client(sysroot, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert f"Deployed {LOCAL_REF}:" in r.stdout and "hello 2.10-1 -> 2.11-1" in r.stdout
    new = default(sysroot)
    assert new["version"] == "20.1" and new["inputhash"] != first["inputhash"]
    assert [d["checksum"] for d in status(sysroot)] == [new["checksum"], first["checksum"]]
    assert [c for c, _ in admin_status(sysroot)] == [new["checksum"], first["checksum"]]
    assert "hello-2.11-1.x86_64" in rpm_qa(root_of(sysroot, new))
    # the previous local build is the new one's parent; the local ref moved
    repo = repo_of(sysroot)
    assert ostree(repo, "rev-parse", f"{new['checksum']}^").strip() == first["checksum"]
    assert local_refs(sysroot) == {LOCAL_REF: new["checksum"]}
    r = client(sysroot, "upgrade")
    assert (r.exit_code, r.stdout) == (0, "No change.\n"), r.stderr


def test_install_on_a_local_tree_survives_upgrade(
    sysroot: Path, repos: Repos, extra_url: str, tmp_path: Path
) -> None:
    rebase_local(sysroot, treefile(tmp_path / "tree", repos.url))
    base = default(sysroot)
    yum = root_of(sysroot, base) / "etc/yum.repos.d"
    yum.mkdir(parents=True, exist_ok=True)
    (yum / "layer.repo").write_text(LAYER_REPO.format(url=extra_url))
    r = client(sysroot, "install", "fortune")
    assert r.exit_code == 0, r.stderr
    layered = default(sysroot)
    assert layered["base-checksum"] == base["checksum"]
    assert layered["origin"] == LOCAL_REF and layered["treefile"] == base["treefile"]
    assert layered["inputhash"] == base["inputhash"]  # the base's
    origin = Path(f"{root_of(sysroot, layered)}.origin").read_text()
    assert f"baserefspec={LOCAL_REF}\n" in origin and "requested=fortune;" in origin
    r = client(sysroot, "upgrade")
    assert (r.exit_code, r.stdout) == (0, "No change.\n"), r.stderr
    repos.update()
    r = client(sysroot, "upgrade")
    assert r.exit_code == 0, r.stderr
    new = default(sysroot)
    assert new["requested-packages"] == ["fortune"] and new["version"] == "20.1"
    assert new["base-checksum"] == local_refs(sysroot)[LOCAL_REF] != base["checksum"]
    root = root_of(sysroot, new)
    assert {"fortune-1.0-1.x86_64", "hello-2.11-1.x86_64"} <= set(rpm_qa(root))
    assert (root / "usr/bin/fortune").is_file()
    # the rollback's base is no ref's commit any more: rpmostree/base/N keeps it from the
    # prune (as rpm-ostree does), so the rollback can still be shown, layered and booted
    rollback = status(sysroot)[1]
    assert rollback["base-checksum"] == base["checksum"]
    assert ostree(repo_of(sysroot), "rev-parse", base["checksum"]).strip() == base["checksum"]
    bases = ostree(repo_of(sysroot), "refs", "rpmostree/base").split()
    assert len(bases) == 2


# --- cleanup -------------------------------------------------------------------------------


def test_cleanup_removes_local_refs_and_commits_no_deployment_uses(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    trees = {}
    for name in ("a", "b", "c"):
        tf = treefile(tmp_path / name, repos.url)
        tf.write_text(tf.read_text().replace(f"ref: {REF}", f"ref: test/x86_64/{name}"))
        rebase_local(sysroot, tf)
        trees[name] = default(sysroot)["checksum"]
    # a's deployment rotated out (the default and one rollback are kept); its ref is not
    assert [d["checksum"] for d in status(sysroot)] == [trees["c"], trees["b"]]
    assert "fedostree/local/test/x86_64/a" in local_refs(sysroot)
    r = client(sysroot, "cleanup", "-b")
    assert r.exit_code == 0, r.stderr
    assert local_refs(sysroot) == {
        "fedostree/local/test/x86_64/b": trees["b"],
        "fedostree/local/test/x86_64/c": trees["c"],
    }
    gone = subprocess.run(["ostree", f"--repo={repo_of(sysroot)}", "show", trees["a"]],
                          capture_output=True)  # fmt: skip
    assert gone.returncode != 0  # pruned
    r = client(sysroot, "cleanup", "-r")
    assert r.exit_code == 0, r.stderr
    assert local_refs(sysroot) == {"fedostree/local/test/x86_64/c": trees["c"]}
    fsck(repo_of(sysroot))
    r = client(sysroot, "upgrade")  # the packages stayed cached: nothing to build
    assert (r.exit_code, r.stdout) == (0, "No change.\n"), r.stderr


# --- bad input -----------------------------------------------------------------------------


def test_a_package_the_client_repositories_lack(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "tree", repos.url, "nosuchpkg")
    before = snapshot(sysroot)
    r = client(sysroot, "rebase", "--local", str(tf))
    assert "'nosuchpkg' not found" in error_message(r, 1)
    assert snapshot(sysroot) == before and local_refs(sysroot) == {}
    rebase_local(sysroot, treefile(tmp_path / "tree", repos.url))  # the next run works


def test_treefile_errors_exit_2(sysroot: Path, repos: Repos, tmp_path: Path) -> None:
    r = client(sysroot, "rebase", "--local", str(tmp_path / "missing.yaml"))
    assert error_message(r, 2) == f"{tmp_path / 'missing.yaml'}: no such file"
    tf = treefile(tmp_path / "tree", repos.url)
    tf.write_text(tf.read_text().replace("[test-repo]", "[test-repo, nowhere]"))
    r = client(sysroot, "rebase", "--local", str(tf))
    assert "'nowhere' is not defined in any *.repo file" in error_message(r, 2)
    r = client(sysroot, "rebase", "--local", str(tf), f"{REMOTE}:{REF}")
    assert r.exit_code == 2 and "unexpected extra argument" in r.stderr
    r = client(sysroot, "rebase")
    assert r.exit_code == 2 and "give [REMOTE:]REF, or --local TREEFILE" in r.stderr
    assert status(sysroot) == []


def test_a_lockfile_pin_the_client_repositories_lack(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "tree", repos.url)
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"packages": {"hello": {"evra": "2.11-1.x86_64"}}}))
    r = client(sysroot, "rebase", "--local", str(tf), "--lockfile", str(lock))
    message = error_message(r, 2)
    assert message.startswith(f"{lock}: packages.hello: 2.11-1.x86_64 is in no repository")
    assert status(sysroot) == []
    repos.update()  # the mirror catches up: the pin holds, and upgrade keeps it
    rebase_local(sysroot, tf, "--lockfile", str(lock))
    d = default(sysroot)
    assert "hello-2.11-1.x86_64" in rpm_qa(root_of(sysroot, d))
    assert f"local-lockfiles={lock};" in Path(f"{root_of(sysroot, d)}.origin").read_text()
    r = client(sysroot, "upgrade")
    assert (r.exit_code, r.stdout) == (0, "No change.\n"), r.stderr


def test_a_failing_scriptlet_deploys_nothing(
    sysroot: Path, repos: Repos, extra_url: str, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "tree", repos.url, "failpost", extra_url=extra_url)
    before = snapshot(sysroot)
    r = client(sysroot, "rebase", "--local", str(tf))
    assert error_message(r, 1) == (
        "failpost: %post scriptlet failed with exit status 3: cannot set up failpost"
    )
    assert snapshot(sysroot) == before and local_refs(sysroot) == {}
    assert list((sysroot / "ostree/repo/tmp/fedostree-local").iterdir()) == []
    fsck(repo_of(sysroot))


@pytest.mark.parametrize("then", ["rerun", "cleanup"])
def test_a_killed_build_deploys_nothing_and_the_next_run_works(
    sysroot: Path, repos: Repos, extra_url: str, tmp_path: Path, then: str
) -> None:
    """SIGKILL to the whole process group while a %post runs (the tree is half built)."""
    tf = treefile(tmp_path / "tree", repos.url, "slowpost", extra_url=extra_url)
    before = snapshot(sysroot)
    argv = [sys.executable, "-m", "fedostree", "rebase", "--sysroot", str(sysroot),
            "--local", str(tf)]  # fmt: skip
    work = sysroot / "ostree/repo/tmp/fedostree-local"
    # assembled in rootfs.install, moved into rootfs when the scriptlets are done
    started = ("compose-*/rootfs.install/etc/slowpost-started",
               "compose-*/rootfs.install/usr/etc/slowpost-started")  # fmt: skip
    kill_when_started(argv, work, started)
    assert list(work.glob("compose-*"))  # killed mid-build: its work directory is left
    assert snapshot(sysroot) == before and local_refs(sysroot) == {}
    fsck(repo_of(sysroot))
    if then == "cleanup":
        r = client(sysroot, "cleanup", "-b")  # cleanup removes what the build left, too
        assert r.exit_code == 0, r.stderr
        assert list(work.iterdir()) == []
    tf = treefile(tmp_path / "tree", repos.url, "fortune", extra_url=extra_url)
    rebase_local(sysroot, tf)
    assert list(work.iterdir()) == []  # what the killed build left is gone
    assert "fortune-1.0-1.x86_64" in rpm_qa(root_of(sysroot, default(sysroot)))
    fsck(repo_of(sysroot))


# --- the same tree as the build server's ---------------------------------------------------


def test_the_local_tree_is_the_server_tree(sysroot: Path, repos: Repos, tmp_path: Path) -> None:
    """The same treefile and packages give the same tree, root dirtree and dirmeta, on
    the client as `compose tree` gives on the build server."""
    tf = treefile(tmp_path / "tree", repos.url)
    r = compose(tf, tmp_path / "server")
    assert r.exit_code == 0, r.stderr
    rebase_local(sysroot, tf)
    server = ostree(tmp_path / "server/repo", "ls", "-d", "-C", REF, "/").split()[4:6]
    local = ostree(repo_of(sysroot), "ls", "-d", "-C", LOCAL_REF, "/").split()[4:6]
    assert local == server
    show = "--print-metadata-key=version"
    assert ostree(tmp_path / "server/repo", "show", show, REF) == ostree(
        repo_of(sysroot), "show", show, LOCAL_REF
    )


def test_upgrade_follows_a_change_of_the_treefile_or_its_includes(
    sysroot: Path, repos: Repos, extra_url: str, tmp_path: Path
) -> None:
    tf = treefile(tmp_path / "tree", repos.url, extra_url=extra_url)
    (tmp_path / "tree/extra.yaml").write_text("packages: []\n")
    tf.write_text(tf.read_text() + "include: extra.yaml\n")
    r = client(sysroot, "rebase", "--local", str(tf))
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""  # no terminal: no progress
    first = default(sysroot)
    r = client(sysroot, "rebase", "--local", str(tf))
    assert (r.exit_code, r.stdout) == (77, f"Already on {LOCAL_REF} at {first['checksum'][:12]}.\n")
    (tmp_path / "tree/extra.yaml").write_text("packages: [fortune]\n")
    r = client(sysroot, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert "Added:\n  fortune-1.0-1.x86_64" in r.stdout
    new = default(sysroot)
    assert new["version"] == "20.1" and "fortune-1.0-1.x86_64" in rpm_qa(root_of(sysroot, new))
    r = client(sysroot, "deploy", "20")
    assert "is built here from" in error_message(r, 1)
    tf.write_text(tf.read_text().replace(f"ref: {REF}", "ref: test/x86_64/renamed"))
    r = client(sysroot, "upgrade")  # a new ref: a new local ref, which the origin follows
    assert r.exit_code == 0, r.stderr
    renamed = default(sysroot)
    assert renamed["origin"] == "fedostree/local/test/x86_64/renamed"
    assert renamed["version"] == "20"  # the first build of that ref
    assert local_refs(sysroot) == {
        LOCAL_REF: new["checksum"],
        "fedostree/local/test/x86_64/renamed": renamed["checksum"],
    }
    tf.unlink()
    r = client(sysroot, "upgrade")
    assert error_message(r, 2) == f"{tf}: the local treefile is gone"


def test_progress_is_shown_on_a_terminal(sysroot: Path, repos: Repos, tmp_path: Path) -> None:
    rebase_local(sysroot, treefile(tmp_path / "tree", repos.url))
    repos.update()
    primary, secondary = os.openpty()
    argv = [sys.executable, "-m", "fedostree", "upgrade", "--sysroot", str(sysroot), "--check"]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=secondary, text=True, timeout=120)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, shown
    assert "Fetching metadata: test-repo" in shown and f"Resolving {tmp_path}" in shown
    assert proc.stdout.startswith("Update available:")


def test_a_build_whose_deployment_was_interrupted_is_deployed_by_the_next_run(
    sysroot: Path, repos: Repos, tmp_path: Path
) -> None:
    """Killed after the commit, before the deployment: the local ref is ahead of the
    deployments; the next run deploys that build instead of building again, and
    `cleanup` would give the ref back to the deployed build."""
    from fedostree.client import local
    from fedostree.client.sysroot import Sysroot

    tf = treefile(tmp_path / "tree", repos.url)
    root = Sysroot(sysroot)
    with root.locked():
        source = local.source_of(tf, (), False)
        loaded, lock = local.load_local_treefile(source)
        built = local.build_local(root, local.resolve_local(root, loaded, lock, False, None))
    assert status(sysroot) == [] and local_refs(sysroot) == {LOCAL_REF: built}
    rebase_local(sysroot, tf)
    assert default(sysroot)["checksum"] == built and default(sysroot)["version"] == "20"
