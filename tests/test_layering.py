"""`fedostree install` / `uninstall`: packages layered on a deployed tree, on real
sysroots, with real RPMs from an rpm-md repository served over HTTP, checked the way an
admin checks them: status (and the stock ostree admin status), origin, the deployment's
files and rpmdb, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fedostree.engine.rpmfile import read_header_blob
from tests.support.cli import Result, error_message, ostree
from tests.support.client import (
    NEWTOOL,
    REF,
    REMOTE,
    Server,
    Trees,
    admin_status,
    client,
    deployment_root,
    snapshot,
    status,
)
from tests.support.kill import kill_when_started
from tests.support.rpms import Pkg, build_rpms, createrepo, sha256_file

COWSAY = Pkg(
    "cowsay",
    version="3.7",
    requires=["libcow", "cowsay-data", "bash"],  # bash: the base has it
    files={"/usr/bin/cowsay": "#!/bin/sh\necho moo\n", "/etc/cowsay.conf": "cow=default\n"},
    attrs={"/usr/bin/cowsay": "0755,root,root"},
    config=["/etc/cowsay.conf"],
    scripts={"post": 'echo "post $1" > /etc/cowsay.post-ran'},
)
LIBCOW = Pkg("libcow", files={"/usr/lib64/libcow.so.1": "cow library\n"})
COWSAY_DATA = Pkg("cowsay-data", files={"/usr/share/cowsay/cows/default.cow": "(oo)\n"})
FORTUNE = Pkg("fortune", files={"/usr/bin/fortune": "#!/bin/sh\necho luck\n"})
CLASH = Pkg("clash", conflicts=["hello"], files={"/usr/bin/clash": "x\n"})
BROKEN = Pkg("broken", requires=["nothing-provides-this"], files={"/usr/bin/broken": "x\n"})
FAILPOST = Pkg("failpost", files={"/usr/bin/failpost": "x\n"},
               scripts={"post": "echo 'cannot set up failpost' >&2\nexit 3"})  # fmt: skip
SLOWPOST = Pkg("slowpost", files={"/usr/bin/slowpost": "x\n"},
               scripts={"post": "touch /etc/slowpost-started\nsleep 60"})  # fmt: skip
LOCALTOOL = Pkg("localtool", version="0.1", files={"/usr/bin/localtool": "local\n"})
ARMTOOL = Pkg("armtool", arch="aarch64", files={"/usr/bin/armtool": "arm\n"})
REPO_FILE = "[layer-repo]\nname=packages to layer\nbaseurl={url}\ngpgcheck=0\n"


@pytest.fixture(scope="session")
def layer_rpms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages to layer; newtool is the one the tree's next version gains."""
    root = tmp_path_factory.mktemp("layer-rpms")
    repo = root / "repo"
    build_rpms([COWSAY, LIBCOW, COWSAY_DATA, FORTUNE, CLASH, BROKEN, FAILPOST, SLOWPOST, NEWTOOL],
               repo, root / "work")  # fmt: skip
    createrepo(repo)
    build_rpms([LOCALTOOL, ARMTOOL], root / "local", root / "work")
    return root


@pytest.fixture
def layerable(
    deployed: Path, layer_rpms: Path, http_server: Callable[[Path], str]
) -> Iterator[Path]:
    """The deployed sysroot with a .repo file in the deployment's /etc/yum.repos.d."""
    url = http_server(layer_rpms / "repo")
    write_repo_file(deployed, REPO_FILE.format(url=url))
    yield deployed


def write_repo_file(sysroot: Path, text: str) -> None:
    for root in deployment_dirs(sysroot):
        (root / "etc/yum.repos.d").mkdir(parents=True, exist_ok=True)
        (root / "etc/yum.repos.d/layer.repo").write_text(text)


def deployment_dirs(sysroot: Path) -> list[Path]:
    return [deployment_root(sysroot, d["checksum"], d["serial"]) for d in status(sysroot)]


def default(sysroot: Path) -> dict[str, object]:
    return status(sysroot)[0]


def root_of(sysroot: Path, deployment: dict[str, object]) -> Path:
    return deployment_root(sysroot, str(deployment["checksum"]), int(str(deployment["serial"])))


def rpm_qa(root: Path) -> list[str]:
    r = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/usr/share/rpm", "-qa",
                        "--qf", "%{NAME}\n"], capture_output=True, text=True, check=True)  # fmt: skip
    return sorted(r.stdout.split())


def origin_text(sysroot: Path, deployment: dict[str, object]) -> str:
    return Path(f"{root_of(sysroot, deployment)}.origin").read_text()


def install(sysroot: Path, *args: str) -> Result:
    return client(sysroot, "install", *args)


# --- install ---------------------------------------------------------------------------


def test_install_layers_the_package_and_its_missing_dependencies(layerable: Path) -> None:
    before = default(layerable)
    r = install(layerable, "cowsay")
    assert r.exit_code == 0, r.stderr
    assert "Installing: cowsay-3.7-1.x86_64" in r.stdout
    assert "Installing: libcow-1.0-1.x86_64" in r.stdout
    assert "bash-" not in r.stdout  # the base already has it
    new = default(layerable)
    assert new["checksum"] != before["checksum"]
    assert new["base-checksum"] == before["checksum"]
    assert new["requested-packages"] == ["cowsay"] and new["packages"] == ["cowsay"]
    assert sorted(new["layered-packages"]) == [  # type: ignore[arg-type]
        "cowsay-3.7-1.x86_64", "cowsay-data-1.0-1.x86_64", "libcow-1.0-1.x86_64"]  # fmt: skip
    # the stock tools agree: the new deployment first, the base kept for rollback
    assert [c for c, _ in admin_status(layerable)] == [new["checksum"], before["checksum"]]
    root = root_of(layerable, new)
    assert (root / "usr/bin/cowsay").read_text() == "#!/bin/sh\necho moo\n"
    assert (root / "usr/lib64/libcow.so.1").is_file()
    assert (root / "etc/cowsay.conf").read_text() == "cow=default\n"  # /usr/etc merged into /etc
    assert (root / "etc/cowsay.post-ran").read_text() == "post 1\n"  # %post ran, $1 = 1
    assert {"cowsay", "libcow", "cowsay-data", "hello", "bash"} <= set(rpm_qa(root))
    origin = origin_text(layerable, new)
    assert f"baserefspec={REMOTE}:{REF}" in origin and "requested=cowsay;" in origin
    # the commit: the base is its parent, in the sysroot's repository
    repo = layerable / "ostree/repo"
    assert ostree(repo, "rev-parse", f"{new['checksum']}^").strip() == before["checksum"]


def test_status_shows_the_layer(layerable: Path) -> None:
    assert install(layerable, "cowsay").exit_code == 0
    r = client(layerable, "status")
    assert "BaseCommit:" in r.stdout and "LayeredPackages: cowsay" in r.stdout


def test_a_second_package_starts_from_the_layered_commit(layerable: Path) -> None:
    """Incremental: cowsay's %post is not run again (its marker is not rewritten)."""
    assert install(layerable, "cowsay").exit_code == 0
    first = default(layerable)
    marker = root_of(layerable, first) / "etc/cowsay.post-ran"
    r = install(layerable, "fortune")
    assert r.exit_code == 0, r.stderr
    assert "Installing: fortune-1.0-1.x86_64" in r.stdout and "cowsay" not in r.stdout
    second = default(layerable)
    assert second["base-checksum"] == first["base-checksum"]
    assert second["requested-packages"] == ["cowsay", "fortune"]
    assert (root_of(layerable, second) / "usr/bin/fortune").is_file()
    assert (root_of(layerable, second) / "usr/bin/cowsay").is_file()
    assert marker.read_text() == "post 1\n"


def test_dry_run_changes_nothing(layerable: Path) -> None:
    before = snapshot(layerable)
    r = install(layerable, "--dry-run", "cowsay")
    assert r.exit_code == 0, r.stderr
    assert "Installing: libcow-1.0-1.x86_64" in r.stdout
    assert snapshot(layerable) == before


def test_already_requested_and_idempotent(layerable: Path) -> None:
    assert install(layerable, "cowsay").exit_code == 0
    r = install(layerable, "cowsay")
    assert error_message(r, 2) == "cowsay: already requested (use --idempotent to ignore)"
    r = install(layerable, "--idempotent", "cowsay")
    assert (r.exit_code, r.stdout.strip()) == (0, "No change.")
    r = install(layerable, "--idempotent", "--unchanged-exit-77", "cowsay")
    assert r.exit_code == 77


def test_a_package_the_base_provides(layerable: Path) -> None:
    r = install(layerable, "hello")
    assert error_message(r, 2) == "hello: already provided by the tree (use --idempotent to ignore)"
    r = install(layerable, "--idempotent", "hello")
    assert r.exit_code == 0 and "No change." in r.stdout


def test_a_local_rpm(layerable: Path, layer_rpms: Path) -> None:
    rpm = layer_rpms / "local/localtool-0.1-1.x86_64.rpm"
    r = install(layerable, str(rpm))
    assert r.exit_code == 0, r.stderr
    new = default(layerable)
    assert new["requested-local-packages"] == ["localtool-0.1-1.x86_64"]
    assert (root_of(layerable, new) / "usr/bin/localtool").read_text() == "local\n"
    assert "requested-local=" in origin_text(layerable, new)
    assert "LocalPackages: localtool-0.1-1.x86_64" in client(layerable, "status").stdout
    kept = layerable / "var/cache/fedostree/local"
    assert [p.name for p in kept.glob("*.rpm")] == [f"{sha256_file(rpm)}.rpm"]  # for upgrades
    assert client(layerable, "uninstall", "localtool").exit_code == 0
    assert client(layerable, "cleanup", "-r").exit_code == 0
    assert list(kept.glob("*.rpm")) == []  # no origin requests it any more


def test_uninstall_removes_the_layer(layerable: Path) -> None:
    base = default(layerable)["checksum"]
    assert install(layerable, "cowsay", "fortune").exit_code == 0
    r = client(layerable, "uninstall", "cowsay")
    assert r.exit_code == 0, r.stderr
    assert (
        "Removing: cowsay-3.7-1.x86_64" in r.stdout and "Removing: libcow-1.0-1.x86_64" in r.stdout
    )
    new = default(layerable)
    root = root_of(layerable, new)
    assert not (root / "usr/bin/cowsay").exists() and not (root / "usr/lib64/libcow.so.1").exists()
    assert (root / "usr/bin/fortune").is_file()
    assert "cowsay" not in rpm_qa(root) and "fortune" in rpm_qa(root)
    assert new["requested-packages"] == ["fortune"]
    r = client(layerable, "uninstall", "--all")
    assert r.exit_code == 0, r.stderr
    assert default(layerable)["checksum"] == base  # nothing layered: the base itself
    assert f"refspec={REMOTE}:{REF}" in origin_text(layerable, default(layerable))


def test_uninstall_refuses_a_base_package(layerable: Path) -> None:
    before = snapshot(layerable)
    r = client(layerable, "uninstall", "hello")
    assert error_message(r, 2) == (
        "hello: a package of the base tree, not layered; it cannot be uninstalled"
    )
    assert error_message(client(layerable, "uninstall", "nonesuch"), 2) == (
        "nonesuch: not a layered package"
    )
    assert snapshot(layerable) == before


def test_cleanup_drops_cached_packages_no_deployment_layers(layerable: Path) -> None:
    repo = layerable / "ostree/repo"
    assert install(layerable, "cowsay").exit_code == 0
    cached = [r for r in ostree(repo, "refs").split() if r.startswith("rpmostree/pkg/")]
    assert sorted(r.split("/")[2] for r in cached) == ["cowsay", "cowsay-data", "libcow"]
    assert client(layerable, "uninstall", "--all").exit_code == 0
    assert client(layerable, "cleanup", "-b").exit_code == 0
    # the rollback deployment still layers them: kept
    assert len([r for r in ostree(repo, "refs").split() if r.startswith("rpmostree/pkg/")]) == 3
    assert client(layerable, "cleanup", "-r").exit_code == 0
    assert [r for r in ostree(repo, "refs").split() if r.startswith("rpmostree/pkg/")] == []
    fsck_repo = subprocess.run(["ostree", "fsck", "--repo", str(repo)], capture_output=True)
    assert fsck_repo.returncode == 0, fsck_repo.stderr


def test_rollback_after_install(layerable: Path) -> None:
    base = default(layerable)["checksum"]
    assert install(layerable, "cowsay").exit_code == 0
    assert client(layerable, "rollback").exit_code == 0
    assert default(layerable)["checksum"] == base


# --- upgrade -----------------------------------------------------------------------------


def test_upgrade_keeps_the_layer_and_reports_inactive_requests(
    layerable: Path, server: Server, trees: Trees, layer_rpms: Path
) -> None:
    assert install(layerable, "cowsay", "newtool").exit_code == 0
    server.publish(REF, trees.v2)  # v2 gains newtool
    r = client(layerable, "upgrade")
    assert r.exit_code == 0, r.stderr
    assert "Inactive requests: newtool" in r.stdout
    new = default(layerable)
    assert new["base-checksum"] == trees.v2
    assert new["inactive-requests"] == ["newtool"] and new["packages"] == ["cowsay"]
    root = root_of(layerable, new)
    assert (root / "usr/bin/cowsay").is_file() and (root / "usr/bin/newtool").is_file()
    assert "InactiveRequests: newtool" in client(layerable, "status").stdout
    # nothing new: nothing rebuilt
    r = client(layerable, "upgrade")
    assert (r.exit_code, r.stdout) == (0, "No upgrade available.\n"), r.stderr
    assert default(layerable)["checksum"] == new["checksum"]
    for flags in (("--unchanged-exit-77",), ("--check",), ("--preview",)):
        r = client(layerable, "upgrade", *flags)
        assert (r.exit_code, r.stdout) == (77, "No upgrade available.\n"), (flags, r.stderr)
    assert default(layerable)["checksum"] == new["checksum"]


# --- bad input: one line naming the package, nothing deployed ------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nonesuch"], 2, "nonesuch: no package in the enabled repositories provides it"),
        (["broken"], 1, "cannot layer the packages: nothing provides nothing-provides-this "
                        "needed by broken-1.0-1.x86_64"),
        (["clash"], 1, "cannot layer the packages: package clash-1.0-1.x86_64 conflicts "
                       "with hello provided by hello-2.10-1.x86_64"),
        (["failpost"], 1, "failpost: %post scriptlet failed with exit status 3: "
                          "cannot set up failpost"),
    ],
)  # fmt: skip
def test_bad_requests_deploy_nothing(
    layerable: Path, args: list[str], code: int, message: str
) -> None:
    before = snapshot(layerable)
    r = install(layerable, *args)
    assert error_message(r, code) == message
    assert snapshot(layerable) == before


def test_bad_local_rpms(layerable: Path, layer_rpms: Path, tmp_path: Path) -> None:
    not_rpm = tmp_path / "junk.rpm"
    not_rpm.write_text("not an rpm\n")
    before = snapshot(layerable)
    assert error_message(install(layerable, str(not_rpm)), 2).startswith(f"{not_rpm}: not an RPM")
    arm = layer_rpms / "local/armtool-1.0-1.aarch64.rpm"
    assert error_message(install(layerable, str(arm)), 2) == (
        f"{arm}: armtool-1.0-1.aarch64 is for architecture aarch64, this system is x86_64"
    )
    corrupt = tmp_path / "localtool-0.1-1.x86_64.rpm"
    data = bytearray((layer_rpms / "local" / corrupt.name).read_bytes())
    start = len(read_header_blob(layer_rpms / "local" / corrupt.name))
    data[start + 16] ^= 0xFF  # in the payload: only its digest can tell
    corrupt.write_bytes(bytes(data))
    assert error_message(install(layerable, str(corrupt)), 2) == (
        f"{corrupt}: localtool-0.1-1.x86_64: corrupt package (payload digest mismatch)"
    )
    assert snapshot(layerable) == before


def test_no_repositories(deployed: Path) -> None:
    r = install(deployed, "cowsay")
    message = error_message(r, 2)
    assert message.endswith("etc/yum.repos.d: no enabled repository (add a .repo file to "
                            "the deployment's /etc/yum.repos.d)")  # fmt: skip


def test_cache_only(layerable: Path, layer_rpms: Path) -> None:
    r = install(layerable, "--cache-only", "cowsay")
    assert error_message(r, 2) == (
        "--cache-only: no cached metadata for repository 'layer-repo' (run once without -C)"
    )
    assert install(layerable, "--dry-run", "cowsay").exit_code == 0  # metadata now cached
    r = install(layerable, "--cache-only", "cowsay")
    assert error_message(r, 2).startswith("--cache-only: ") and "was never downloaded" in r.stderr
    assert install(layerable, "--download-only", "cowsay").exit_code == 0
    r = install(layerable, "--cache-only", "cowsay")
    assert r.exit_code == 0, r.stderr


def test_status_json_keys(layerable: Path) -> None:
    assert install(layerable, "cowsay").exit_code == 0
    r = client(layerable, "status", "--json")
    d = json.loads(r.stdout)["deployments"][0]
    rollback = json.loads(r.stdout)["deployments"][1]
    assert d["base-checksum"] == rollback["checksum"] and rollback["base-checksum"] is None
    assert (d["requested-packages"], d["requested-local-packages"], d["packages"]) == (
        ["cowsay"], [], ["cowsay"])  # fmt: skip
    assert d["package-count"] == rollback["package-count"] + 3  # cowsay and two dependencies


def test_a_killed_install_deploys_nothing_and_the_next_one_works(layerable: Path) -> None:
    """SIGKILL to the whole process group while a %post runs (the tree is half built):
    deployments, boot entries and the repository are as before; the next run cleans up."""
    before = snapshot(layerable)
    argv = [sys.executable, "-m", "fedostree", "install", "--sysroot", str(layerable), "slowpost"]
    started = ("fedostree-layer-*/rootfs/usr/etc/slowpost-started",
               "fedostree-layer-*/rootfs/etc/slowpost-started")  # fmt: skip
    tmp = layerable / "ostree/repo/tmp"
    kill_when_started(argv, tmp, started, timeout=60)
    assert snapshot(layerable) == before
    r = install(layerable, "fortune")
    assert r.exit_code == 0, r.stderr
    assert list(tmp.glob("fedostree-layer-*")) == []
    assert default(layerable)["requested-packages"] == ["fortune"]
    fsck = subprocess.run(["ostree", "fsck", "--repo", str(layerable / "ostree/repo")],
                          capture_output=True, text=True)  # fmt: skip
    assert fsck.returncode == 0, fsck.stderr


def test_a_relative_sysroot_path(layerable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """librpm ignores a relative root: the rpmdb written must still be the tree's."""
    monkeypatch.chdir(layerable.parent)
    r = client(Path(layerable.name), "install", "cowsay")
    assert r.exit_code == 0, r.stderr
    assert "cowsay" in rpm_qa(root_of(layerable, default(layerable)))
    assert "hello" in rpm_qa(root_of(layerable, default(layerable)))


def test_the_commit_of_what_changed_is_the_full_commit(layerable: Path, tmp_path: Path) -> None:
    """engine/tree_delta.py commits only the directories the transaction changed; the
    tree must be the one a full commit of the same directory gives, checksum for checksum
    (one tree: two transactions differ in the rpmdb's install times)."""
    from fedostree.client.layering import base_of, layered_of
    from fedostree.engine import ostree as ot
    from fedostree.engine.commit import commit_rootfs
    from fedostree.engine.derive import Transaction, derive_tree
    from fedostree.engine.ostree import OSTree
    from fedostree.engine.pkgcache import PackageCache, cached_refs

    assert install(layerable, "cowsay").exit_code == 0
    repo_path = layerable / "ostree/repo"
    repo = ot.open_repo(repo_path)
    layered_commit = default(layerable)["checksum"]
    base = base_of(repo, layered_commit)
    cache = PackageCache(repo)
    by_nevra = {}
    for ref in cached_refs(repo):
        md = ot.commit_metadata(repo, ot.resolve_rev(repo, ref) or "")
        by_nevra[md["rpmostree.nevra"]] = cache.lookup(ref, md["rpmostree.sha256"])
    order = ["libcow-1.0-1.x86_64", "cowsay-data-1.0-1.x86_64", "cowsay-3.7-1.x86_64"]
    assert sorted(order) == sorted(layered_of(repo, layered_commit))
    tx = Transaction(start=base, base=base, install=[by_nevra[n] for n in order], layered=order)
    delta = derive_tree(repo, tx, tmp_path)
    full = commit_rootfs(repo, tmp_path / "rootfs", OSTree.RepoDevInoCache.new(),
                         subject="full", parent=None, metadata={})  # fmt: skip
    root = [ostree(repo_path, "ls", "-d", "-C", c, "/").split()[4:6] for c in (delta, full)]
    assert root[0] == root[1]
    assert ostree(repo_path, "diff", delta, full).strip() == ""
    assert ostree(repo_path, "diff", base, delta).strip() != ""  # the packages are in it
