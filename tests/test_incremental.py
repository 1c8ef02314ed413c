"""A warm recompose derives the new tree from the ref's newest commit (engine/incremental.py):
only the changed packages are erased and installed, their scriptlets and the file triggers
they set off run, and the result is the very tree a cold build of the same packages gives
(root dirtree and dirmeta), since clients verify published commits by rebuilding them cold.
Where that is not assured, the build is cold, and says why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import Result, ostree, run
from tests.support.rpms import Pkg, base_packages, build_rpms, createrepo, write_treefile

REF = "test/x86_64/incr"
CORE = ["bash", "release", "ldconf", "tool", "libfoo"]
TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: ["@core"]
automatic-version-prefix: "20"
"""
# an ldconfig stand-in: the library directory's listing is the cache it rebuilds
LDCONFIG = "ls /usr/lib64 > /etc/ld.so.cache"
LDCONF = Pkg(
    "ldconf",
    requires=["bash"],
    files={"/usr/share/ldconf/README": "ldconf\n"},
    scripts={
        "filetriggerin -- /usr/lib64": LDCONFIG,
        "filetriggerpostun -- /usr/lib64": LDCONFIG,
    },
)
# an unchanged package whose %post appends: had it run again, its log would show it
TOOL = Pkg(
    "tool",
    requires=["bash"],
    files={"/usr/bin/tool": "#!/bin/sh\necho tool\n"},
    scripts={"post": "echo tool >> /etc/post.log"},
)


RELEASE = Pkg("release", files={"/etc/os-release": ("symlink", "../usr/lib/os-release")})


def libfoo(release: str) -> Pkg:
    """The library that is updated: another release, other files, another %post."""
    if release == "1":
        files = {"/usr/lib64/libfoo.so.1": "libfoo 1\n", "/usr/lib64/libfoo-old.so": "old\n"}
    else:
        files = {"/usr/lib64/libfoo.so.1": "libfoo 2\n", "/usr/lib64/libfoo-new.so": "new\n"}
    return Pkg(
        "libfoo",
        release=release,
        requires=["bash"],
        files={**files, "/usr/share/doc/libfoo/NEWS": f"release {release}\n"},
        scripts={"post": f'echo "libfoo {release} $1" > /etc/libfoo.state'},
    )


@pytest.fixture(scope="module")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every package once, both releases of libfoo among them."""
    root = tmp_path_factory.mktemp("incr-rpms")
    pkgs = [*base_packages(), RELEASE, LDCONF, TOOL, libfoo("1"), libfoo("2")]
    build_rpms(pkgs, root / "rpms", root / "work")
    return root / "rpms"


def publish(rpms: Path, repo: Path, libfoo_release: str) -> None:
    """The repository with every package but the other release of libfoo."""
    repo.mkdir(parents=True, exist_ok=True)
    for old in repo.glob("*.rpm"):
        old.unlink()
    for rpm in rpms.glob("*.rpm"):
        if rpm.name.startswith("libfoo-") and f"-1.0-{libfoo_release}." not in rpm.name:
            continue
        (repo / rpm.name).symlink_to(rpm)
    createrepo(repo, {"core": CORE})


def compose(treefile: Path, workdir: Path, *extra: str, cache: str = "cache") -> Result:
    """`compose tree` with the debug log (where the build says how it built the tree)."""
    r = run("--debug", "compose", "tree", treefile, "--repo", workdir / "repo",
            "--cachedir", workdir / cache, *extra)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return r


def root_of(repo: Path) -> str:
    return ostree(repo, "ls", "-d", "-C", REF, "/")


def checkout(repo: Path, dest: Path) -> Path:
    subprocess.run(["ostree", f"--repo={repo}", "checkout", REF, str(dest)], check=True)
    return dest


@pytest.fixture
def world(tmp_path: Path, rpms: Path) -> tuple[Path, Path]:
    """The treefile over a repository with libfoo 1.0-1, composed once."""
    repo = tmp_path / "rpm-repo"
    publish(rpms, repo, "1")
    treefile = write_treefile(tmp_path / "config", repo.as_uri(), TREE)
    r = compose(treefile, tmp_path / "server")
    assert "deriving from" not in r.stderr
    return treefile, repo


def test_update_is_derived_and_equals_a_cold_build(
    world: tuple[Path, Path], rpms: Path, tmp_path: Path
) -> None:
    treefile, repo = world
    publish(rpms, repo, "2")
    r = compose(treefile, tmp_path / "server")
    assert "1 package erased, 1 installed" in r.stderr, r.stderr
    assert "packages; derived from " in r.stdout  # the result line says so
    co = checkout(tmp_path / "server/repo", tmp_path / "co")
    assert (co / "usr/etc/post.log").read_text() == "tool\n"  # tool's %post did not run again
    assert (co / "usr/etc/libfoo.state").read_text() == "libfoo 2 1\n"
    # the file triggers of libfoo's removal and addition rebuilt the cache
    assert (co / "usr/etc/ld.so.cache").read_text() == "libfoo-new.so\nlibfoo.so.1\n"
    assert not (co / "usr/lib64/libfoo-old.so").exists()
    assert (co / "usr/lib64/libfoo.so.1").read_text() == "libfoo 2\n"

    cold = compose(treefile, tmp_path / "cold")
    assert "deriving from" not in cold.stderr
    assert root_of(tmp_path / "server/repo") == root_of(tmp_path / "cold/repo")
    ostree(tmp_path / "server/repo", "fsck")


def test_a_changed_treefile_builds_cold(world: tuple[Path, Path], tmp_path: Path) -> None:
    treefile, _repo = world
    treefile.write_text(TREE + "documentation: false\n")
    r = compose(treefile, tmp_path / "server")
    assert "building cold, not from" in r.stderr
    assert "the treefile changed" in r.stderr
    co = checkout(tmp_path / "server/repo", tmp_path / "co")
    assert not (co / "usr/share/doc/libfoo/NEWS").exists()
    assert (co / "usr/etc/post.log").read_text() == "tool\n"
    cold = compose(treefile, tmp_path / "cold")
    assert root_of(tmp_path / "server/repo") == root_of(tmp_path / "cold/repo")
    assert "deriving from" not in cold.stderr


def test_a_changed_passwd_builds_cold(world: tuple[Path, Path], rpms: Path, tmp_path: Path) -> None:
    """A package whose %pre adds a user: the derived tree would list it elsewhere than a
    cold build does; the build notices and builds cold."""
    treefile, repo = world
    daemon = Pkg("daemon", requires=["bash"], files={"/usr/bin/daemon": "d\n"},
                 scripts={"pre": "echo 'daemon:x:991:991::/:/sbin/nologin' >> /etc/passwd"})  # fmt: skip
    build_rpms([daemon], rpms.parent / "extra", tmp_path / "work")
    publish(rpms, repo, "1")
    for rpm in (rpms.parent / "extra").glob("*.rpm"):
        (repo / rpm.name).symlink_to(rpm)
    createrepo(repo, {"core": [*CORE, "daemon"]})
    r = compose(treefile, tmp_path / "server")
    assert "building cold after all: the transaction changed /usr/etc/passwd" in r.stderr
    compose(treefile, tmp_path / "cold")
    assert root_of(tmp_path / "server/repo") == root_of(tmp_path / "cold/repo")


def test_mutate_os_release_names_the_new_version_once(tmp_path: Path, rpms: Path) -> None:
    """The reused commit's os-release names its own version: the derived tree's starts
    from the package's again. The cold build to compare with is the same version: the
    second commit of a repository whose build cache has not the first."""
    repo = tmp_path / "rpm-repo"
    publish(rpms, repo, "1")
    treefile = write_treefile(tmp_path / "config", repo.as_uri(),
                              TREE + 'mutate-os-release: "20"\n')  # fmt: skip
    for where in ("server", "cold"):
        compose(treefile, tmp_path / where)
    publish(rpms, repo, "2")
    r = compose(treefile, tmp_path / "server")
    assert "1 package erased, 1 installed" in r.stderr, r.stderr
    cold = compose(treefile, tmp_path / "cold", cache="other-cache")
    assert "deriving from" not in cold.stderr
    co = checkout(tmp_path / "server/repo", tmp_path / "co")
    text = (co / "usr/lib/os-release").read_text()
    assert text.count("OSTREE_VERSION=") == 1 and "OSTREE_VERSION='20.1'\n" in text, text
    assert root_of(tmp_path / "server/repo") == root_of(tmp_path / "cold/repo")


def test_postprocess_scripts_run_again_over_the_derived_tree(tmp_path: Path, rpms: Path) -> None:
    """A postprocess script that lists what the packages installed: the derived tree has
    the new listing, as the cold build does (the script runs again, over the whole tree)."""
    repo = tmp_path / "rpm-repo"
    publish(rpms, repo, "1")
    script = "postprocess:\n  - |\n    #!/bin/sh\n    ls /usr/lib64 > /usr/share/libs.txt\n"
    treefile = write_treefile(tmp_path / "config", repo.as_uri(), TREE + script)
    compose(treefile, tmp_path / "server")
    publish(rpms, repo, "2")
    r = compose(treefile, tmp_path / "server")
    assert "1 package erased, 1 installed" in r.stderr, r.stderr
    co = checkout(tmp_path / "server/repo", tmp_path / "co")
    assert (co / "usr/share/libs.txt").read_text() == "libfoo-new.so\nlibfoo.so.1\n"
    compose(treefile, tmp_path / "cold")
    assert root_of(tmp_path / "server/repo") == root_of(tmp_path / "cold/repo")
