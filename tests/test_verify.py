"""A commit records what it was built from (treefile with its files and repositories,
lockfile, source date epoch), and `compose verify` rebuilds it from that alone and
compares the trees: verified, a tampered commit's differing path and its package, a
scriptlet's random bytes named as no package's, a commit without records refused."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from fedostree.demo import write_config
from fedostree.engine import ostree as ot
from fedostree.engine.build import read_recorded_inputs
from fedostree.engine.ostree import GLib, OSTree
from fedostree.engine.treediff import compare_trees
from fedostree.errors import ConfigError
from fedostree.model.lockfile import Lockfile
from fedostree.model.recorded import RecordedInputs, load_recorded_treefile, recorded_treefile
from fedostree.model.treefile_load import load_treefile
from tests.support.cli import compose, error_message, ostree, refs, run
from tests.support.rpms import (
    Pkg,
    base_packages,
    createrepo,
    demo_packages,
    make_repo,
    write_treefile,
)
from tests.support.tamper import tamper

REF = "test/x86_64/base"
TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: ["@core"]
automatic-version-prefix: "20"
postprocess-script: scripts/post.sh
add-files:
  - [motd, /usr/share/motd]
"""

CLIENT_TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: [hello, kernel, fedora-release]
automatic-version-prefix: "20"
"""


def root_dirtree(repo: Path, rev: str) -> str:
    return ostree(repo, "ls", "-d", "-C", rev, "/").split()[4]


def metadata_key(repo: Path, key: str, rev: str = REF) -> Any:
    """A commit metadata value as the stock ostree CLI prints it (GVariant text)."""
    text = ostree(repo, "show", rev, f"--print-metadata-key={key}")
    return GLib.Variant.parse(None, text.strip(), None, None).unpack()


def verify(workdir: Path, rev: str = REF, *extra: str) -> object:
    return run("compose", "verify", rev, "--repo", workdir / "repo",
               "--cachedir", workdir / "verify-cache", *extra)  # fmt: skip


@pytest.fixture
def treefile(tmp_path: Path, base_repo: Path) -> Path:
    path = write_treefile(tmp_path / "config", base_repo.as_uri(), TREE)
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts/post.sh").write_text("#!/bin/sh\necho composed > /usr/share/flag\n")
    (path.parent / "motd").write_text("welcome\n")
    return path


@pytest.fixture
def published(treefile: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    r = compose(treefile, out)
    assert r.exit_code == 0, r.stderr
    return out


def test_the_commit_records_its_lockfile_treefile_and_epoch(
    published: Path, treefile: Path, tmp_path: Path
) -> None:
    repo = published / "repo"
    lock = json.loads(metadata_key(repo, "fedostree.lockfile"))
    assert lock["packages"]["hello"]["evra"] == "2.10-1.x86_64"
    assert lock["packages"]["hello"]["digest"].startswith("sha256:")
    assert metadata_key(repo, "fedostree.source-date-epoch") > 0
    opened = ot.open_repo(repo)
    inputs = read_recorded_inputs(opened, ot.resolve_rev(opened, REF) or "", REF)
    assert inputs.repos["test-repo"]["baseurl"].startswith("file://")
    # The recorded treefile loads again, with its files, and flattens as the original:
    # the same input hash.
    reloaded = load_recorded_treefile(inputs, tmp_path / "reloaded")
    assert reloaded.flattened() == load_treefile(treefile).flattened()
    assert reloaded.postprocess_script is not None
    assert reloaded.postprocess_script.read_text().startswith("#!/bin/sh\necho composed")
    assert (tmp_path / "reloaded/recorded.repo").read_text().startswith("[test-repo]\n")


def test_verify_rebuilds_a_published_commit_and_finds_the_same_tree(published: Path) -> None:
    before = refs(published / "repo")
    r = verify(published)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == f"{REF}: verified, tree {root_dirtree(published / 'repo', REF)}\n"
    assert refs(published / "repo") == before  # nothing moved


def test_verify_names_the_tampered_path_and_its_package(published: Path) -> None:
    repo_path = published / "repo"
    tampered = tamper(repo_path, REF, "usr/bin", "hello", b"#!/bin/sh\necho pwned!\n")
    r = verify(published)
    assert error_message(r, 1) == f"{REF} ({tampered[:12]}): 1 path differs from its rebuild"
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{REF}: differs from its rebuild: tree ")
    assert lines[1:] == [
        "  /usr/bin/hello: content differs (22 vs 21 bytes, published vs rebuilt); package hello"
    ]
    data = json.loads(verify(published, REF, "--json").stdout)
    assert data["verified"] is False
    assert data["differences"] == [{"path": "/usr/bin/hello", "aspect": "content",
                                    "detail": "22 vs 21 bytes", "owner": "hello"}]  # fmt: skip


def test_a_commit_without_recorded_inputs_is_refused(published: Path) -> None:
    repo = ot.open_repo(published / "repo")
    commit = ot.resolve_rev(repo, REF) or ""
    with ot.transaction(repo):  # the same tree, committed without fedostree's metadata
        bare = ot.write_commit(repo, OSTree.MutableTree.new_from_commit(repo, commit),
                               parent=None, subject="bare", metadata={})  # fmt: skip
    r = verify(published, bare)
    assert error_message(r, 2) == (
        f"{bare} ({bare[:12]}): the commit records no build inputs (no fedostree.treefile in "
        "its metadata): it was not built by a fedostree that records them"
    )


# --- a scriptlet's output: SOURCE_DATE_EPOCH reaches it; random bytes are named --------------

STAMPS = Pkg(
    "stamps",
    requires=["bash"],
    files={"/usr/share/stamps/README": "stamps\n"},
    scripts={
        "post": 'echo "${SOURCE_DATE_EPOCH:-unset}" > /etc/built-at\n'
        "/usr/sbin/busybox od -An -N16 -tx1 /dev/urandom > /etc/random-seed\n"
        "/usr/sbin/busybox hostname > /etc/built-by\n"
    },
)


def test_scriptlets_see_the_epoch_and_unreproducible_bytes_are_named(tmp_path: Path) -> None:
    packages = [*base_packages(), *demo_packages(), STAMPS]
    yum = make_repo(
        tmp_path / "yum", packages, tmp_path / "work", groups={"core": ["hello", "stamps"]}
    )
    tf = write_treefile(
        tmp_path / "config", yum.as_uri(), f"ref: {REF}\nrepos: [test-repo]\npackages: ['@core']\n"
    )
    r = compose(tf, tmp_path, "--write-lockfile-to", tmp_path / "lock.json")
    assert r.exit_code == 0, r.stderr
    repo = tmp_path / "repo"
    epoch = metadata_key(repo, "fedostree.source-date-epoch")
    assert ostree(repo, "cat", REF, "/usr/etc/built-at") == f"{epoch}\n"
    assert ostree(repo, "cat", REF, "/usr/etc/built-by") == "localhost\n"  # not this host
    r = verify(tmp_path)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1:] == [
        "  /usr/etc/random-seed: content differs (49 vs 49 bytes, published vs rebuilt); "
        "owned by no package (written by a scriptlet or postprocessing)"
    ]


# --- helpers ----------------------------------------------------------------------------------


# --- the sample universe: a bigger tree, with triggers and users made by scriptlets -----------

SAMPLE_REF = "fedostree/20/x86_64/workstation/gnome-core"


@pytest.mark.slow
def test_a_sample_tree_is_reproducible_with_wiped_caches_and_verifies(
    tmp_path: Path, sample_repo: Path
) -> None:
    products = write_config(tmp_path / "config", sample_repo)
    trees = []
    for name in ("one", "two"):
        out = tmp_path / name
        r = run("compose", "products", products, "--only", "workstation/gnome-core",
                "--repo", out / "repo", "--cachedir", out / "cache")  # fmt: skip
        assert r.exit_code == 0, r.stderr
        shutil.rmtree(out / "cache")
        trees.append(ostree(out / "repo", "ls", "-d", "-C", SAMPLE_REF, "/"))
    assert trees[0] == trees[1]
    r = verify(tmp_path / "one", SAMPLE_REF)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert (
        r.stdout
        == f"{SAMPLE_REF}: verified, tree {root_dirtree(tmp_path / 'one/repo', SAMPLE_REF)}\n"
    )


def test_a_treefile_with_includes_files_and_variables_round_trips(tmp_path: Path) -> None:
    """What a commit records of a treefile loads again to the same flattened form (so the
    same input hash), whatever includes, variables and external files it had."""
    config = tmp_path / "config"
    (config / "common").mkdir(parents=True)
    (config / "common/base.yaml").write_text(
        "packages: [bash]\nadd-files: [[files/motd, /usr/share/motd]]\n"
        "postprocess-script: post.sh\ncheck-passwd: {type: file, filename: passwd}\n"
        "check-groups: {type: file, filename: group}\n"
    )
    (config / "common/files").mkdir()
    (config / "common/files/motd").write_text("hi\n")
    (config / "common/post.sh").write_text("#!/bin/sh\ntrue\n")
    (config / "common/post.sh").chmod(0o755)
    (config / "common/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (config / "common/group").write_text("root:x:0:\n")
    (config / "tree.yaml").write_text(
        "include: common/base.yaml\nvariables: {flavor: big}\nref: test/${flavor}\n"
        "releasever: 40\nrepos: [fedora]\nrepovars: {mirror: example.org}\n"
        "conditional-include: [{if: 'flavor == \"big\"', include: {packages: [vim]}}]\n"
        "remove-from-packages: [[bash, /usr/share/doc/.*]]\n"
        "tests: [{name: boots, command: 'true'}]\n"
    )
    tf = load_treefile(config / "tree.yaml")
    form, files = recorded_treefile(tf)
    inputs = RecordedInputs(form, files, {"fedora": {"baseurl": "https://$mirror/$releasever"}},
                            Lockfile({}), 1700000000)  # fmt: skip
    md = inputs.to_metadata()
    again = RecordedInputs.from_commit_metadata(md, "test")
    reloaded = load_recorded_treefile(again, tmp_path / "again")
    assert reloaded.flattened() == tf.flattened()
    assert reloaded.ref == "test/big" and "vim" in reloaded.packages
    assert (tmp_path / "again/files/postprocess-script/post.sh").stat().st_mode & 0o777 == 0o755
    assert again.source_date_epoch == 1700000000
    with pytest.raises(ConfigError, match="not a time rpm can record"):
        RecordedInputs.from_commit_metadata({**md, "fedostree.source-date-epoch": 2**40}, "test")


@pytest.mark.slow
def test_an_fcos_compose_with_ostree_layers_and_a_lockfile_verifies(
    fcos_repo: Path, tmp_path: Path
) -> None:
    """Fedora CoreOS's manifests (stand-in packages): ostree-layers at their recorded
    commits, add-files, postprocess scripts, check-passwd files, a dated version."""
    from tests.test_upstream_compose import FCOS_LOCKFILE, FCOS_REF, compose_fcos

    work = tmp_path / "fcos"
    work.mkdir()
    result, _ = compose_fcos(fcos_repo, work, tmp_path / "cache", FCOS_LOCKFILE)
    assert result.exit_code == 0, result.stderr
    r = verify(work, FCOS_REF)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout == f"{FCOS_REF}: verified, tree {root_dirtree(work / 'repo', FCOS_REF)}\n"


def test_the_callers_umask_does_not_change_the_tree(treefile: Path, tmp_path: Path) -> None:
    """Files and directories the build, the scriptlets and the postprocess script create
    get the same modes under a server's umask 077 as under 022."""
    trees = []
    for umask in (0o022, 0o077):
        saved = os.umask(umask)
        try:
            r = compose(treefile, tmp_path / f"umask-{umask:o}")
        finally:
            os.umask(saved)
        assert r.exit_code == 0, r.stderr
        trees.append(root_dirtree(tmp_path / f"umask-{umask:o}/repo", REF))
    assert trees[0] == trees[1]


def test_the_server_and_a_client_build_the_same_tree_from_the_same_lockfile(
    sysroot: Path, client_rpm_repos: tuple[Path, Path], tmp_path: Path
) -> None:
    """`compose tree` on the server and `rebase --local` on a client, from the same
    treefile and the server's lockfile: the same tree; the client's commit records its
    inputs too."""
    url = client_rpm_repos[0].as_uri()
    tf = write_treefile(tmp_path / "tree", url, CLIENT_TREE)
    r = compose(tf, tmp_path / "server", "--write-lockfile-to", tmp_path / "lock.json")
    assert r.exit_code == 0, r.stderr
    r = run("rebase", "--sysroot", sysroot, "--local", tf, "--lockfile", tmp_path / "lock.json")
    assert r.exit_code == 0, r.stderr
    local = sysroot / "ostree/repo"
    local_ref = f"fedostree/local/{REF}"
    server_tree = ostree(tmp_path / "server/repo", "ls", "-d", "-C", REF, "/")
    client_tree = ostree(local, "ls", "-d", "-C", local_ref, "/")
    if server_tree != client_tree:  # say where, for the failure message
        server, client = ot.open_repo(tmp_path / "server/repo"), ot.open_repo(local)
        found = compare_trees(server, ot.resolve_rev(server, REF) or "",
                              client, ot.resolve_rev(client, local_ref) or "")  # fmt: skip
        pytest.fail("\n".join(f"{d.path}: {d.aspect} {d.detail}" for d in found))
    lock = json.loads(metadata_key(local, "fedostree.lockfile", local_ref))
    assert lock["packages"]["hello"]["evra"] == "2.10-1.x86_64"
    # and the client's commit, verified from what it records, rebuilds to the same tree
    r = run("compose", "verify", local_ref, "--repo", local, "--cachedir", tmp_path / "vc")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"{local_ref}: verified, tree ")


def test_a_recorded_package_the_repositories_lost_is_named(tmp_path: Path, base_repo: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(base_repo, mirror)
    tree = f"ref: {REF}\nrepos: [test-repo]\npackages: ['@core']\n"
    r = compose(write_treefile(tmp_path / "config", mirror.as_uri(), tree), tmp_path)
    assert r.exit_code == 0, r.stderr
    for rpm in mirror.glob("hello-2.10-*.rpm"):
        rpm.unlink()
    createrepo(mirror, {"core": ["hello", "kernel"]})
    r = verify(tmp_path)
    commit = refs(tmp_path / "repo")[REF]
    assert error_message(r, 2) == (
        f"{REF} ({commit[:12]}): fedostree.lockfile: packages.hello: "
        "no repository has a package named hello"
    )


def test_a_large_added_file_is_recorded_by_its_copy_in_the_tree(
    tmp_path: Path, base_repo: Path
) -> None:
    """An add-files source over 64 KiB is not carried in every commit's metadata (clients
    fetch the commit object, and a static delta's superblock holds it): its digest and
    destination are, and verify reads the content from the tree."""
    big = os.urandom(200 * 1024)
    tree = TREE.replace("[motd, /usr/share/motd]", "[blob, /usr/share/blob]")
    path = write_treefile(tmp_path / "config", base_repo.as_uri(), tree)
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts/post.sh").write_text("#!/bin/sh\ntrue\n")
    (path.parent / "blob").write_bytes(big)
    assert compose(path, tmp_path).exit_code == 0
    recorded = json.loads(metadata_key(tmp_path / "repo", "fedostree.treefile"))
    (entry,) = [f for name, f in recorded["files"].items() if name.endswith("/blob")]
    assert "data" not in entry and entry["dest"] == "/usr/share/blob"
    r = verify(tmp_path)
    assert r.exit_code == 0, r.stdout + r.stderr
