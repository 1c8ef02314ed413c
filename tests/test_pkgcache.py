"""The package cache: real RPMs imported into a real bare OSTree repository, and
payloads that would write outside the tree refused (directly and through the CLI)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from fedostree.engine import ostree as ot
from fedostree.engine.pkgcache import (
    CachedPackage,
    PackageCache,
    UnsafePayload,
    cache_ref,
    cached_refs,
)
from fedostree.engine.rpmfile import header_from_blob
from tests.support.cli import compose, error_message, fsck, ostree, refs
from tests.support.evil import build_climbing_rpm, rpm_file_list
from tests.support.rpms import Pkg, build_rpms, createrepo, write_treefile

PLAIN = Pkg(
    "plain",
    version="2.1",
    release="3",
    files={
        "/usr/bin/tool": "#!/bin/sh\necho tool\n",
        "/usr/bin/tool-link": ("symlink", "tool"),
        "/usr/bin/up-to-root": ("symlink", "../../etc/plain.conf"),
        "/usr/bin/absolute": ("symlink", "/usr/bin/tool"),
        "/usr/bin/hl-a": "shared content\n",
        "/usr/bin/hl-b": ("hardlink", "/usr/bin/hl-a"),
        "/usr/libexec/plain-suid": "suid\n",
        "/usr/share/plain": ("dir",),
        "/usr/share/plain/data": "data\n",
        "/etc/plain.conf": "key=value\n",
        "/var/lib/plain": ("dir",),
        "/var/lib/plain/state": "initial\n",
        "/var/lib/plain/current": ("symlink", "state"),
        "/var/log/plain.log": "",
    },
    attrs={
        "/usr/bin/tool": "0755,root,root",
        "/usr/libexec/plain-suid": "4750,root,plaingroup",
        "/usr/share/plain": "0750,plainuser,plaingroup",
        "/usr/share/plain/data": "0640,plainuser,plaingroup",
        "/var/lib/plain": "0700,plainuser,plaingroup",
    },
    config=["/etc/plain.conf"],
)
EVIL_SYMLINK = Pkg(
    "evil-symlink",
    files={
        "/usr/bin/fine": "fine\n",
        "/usr/bin/evil": ("symlink", "../../../../../etc/shadow"),
    },
)


@pytest.fixture(scope="module")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pkgcache-rpms")
    built = build_rpms([PLAIN, EVIL_SYMLINK], root / "rpms", root / "work")
    climbing = build_climbing_rpm(root / "rpms", root / "work", name="evil")
    return {p.name.split("-1.0-")[0].split("-2.1-")[0]: p for p in [*built, climbing]}


@pytest.fixture
def repo(tmp_path: Path):
    return ot.open_repo(tmp_path / "cache-repo", create_mode="bare")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_rpm(repo, path: Path, ref: str) -> str:
    with ot.transaction(repo):
        return PackageCache(repo).import_rpm(path, ref, sha256(path))


def listing(repo_path: Path, rev: str) -> dict[str, tuple[str, str]]:
    """path -> (mode column, checksum or symlink target), from `ostree ls -R -C`."""
    out = {}
    for line in ostree(repo_path, "ls", "-R", "-C", rev).splitlines():
        fields = line.split()
        mode, uid, gid = fields[:3]
        if mode[0] == "d":  # mode uid gid size checksum dirmeta-checksum path
            path, value = fields[6], fields[4]
        elif mode[0] == "l":  # ... checksum path -> target
            path, value = fields[5], fields[7]
        else:
            path, value = fields[5], fields[4]
        out[path] = (f"{mode} {uid}:{gid}", value)
    return out


PLAIN_REF = cache_ref("plain", "2.1-3", "x86_64")


def test_cache_ref_escapes_what_a_ref_cannot_hold() -> None:
    assert cache_ref("plain", "2.1-3", "x86_64") == "rpmostree/pkg/plain/2.1-3.x86_5F64"
    assert cache_ref("libstdc++", "1:11.2-1", "noarch") == (
        "rpmostree/pkg/libstdc_2B_2B/1_3A11.2-1.noarch"
    )


def test_import_writes_files_modes_and_symlinks(repo, rpms, tmp_path: Path) -> None:
    commit = import_rpm(repo, rpms["plain"], PLAIN_REF)
    path = tmp_path / "cache-repo"
    assert refs(path) == {PLAIN_REF: commit}
    files = listing(path, PLAIN_REF)
    assert files["/usr/bin/tool"][0] == "-00755 0:0"
    assert files["/usr/bin/tool-link"] == ("l00777 0:0", "tool")
    assert files["/usr/bin/up-to-root"] == ("l00777 0:0", "../../etc/plain.conf")
    assert files["/usr/bin/absolute"] == ("l00777 0:0", "/usr/bin/tool")
    assert files["/usr/libexec/plain-suid"][0] == "-04750 0:0"
    assert files["/usr/share/plain"][0] == "d00750 0:0"
    assert files["/usr/share/plain/data"][0] == "-00640 0:0"
    assert files["/etc/plain.conf"][0] == "-00644 0:0"
    assert ostree(path, "cat", PLAIN_REF, "/usr/bin/tool") == "#!/bin/sh\necho tool\n"
    assert ostree(path, "cat", PLAIN_REF, "/etc/plain.conf") == "key=value\n"
    show = ostree(path, "show", "--print-metadata-key=rpmostree.nevra", PLAIN_REF)
    assert show.strip() == "'plain-2.1-3.x86_64'"
    log = ostree(path, "log", PLAIN_REF)
    assert "plain-2.1-3.x86_64" in log and "2023-11-14" in log  # the RPM's buildtime
    fsck(path)


def test_hardlinked_files_in_one_rpm_each_get_the_content(repo, rpms, tmp_path: Path) -> None:
    import_rpm(repo, rpms["plain"], PLAIN_REF)
    path = tmp_path / "cache-repo"
    files = listing(path, PLAIN_REF)
    assert files["/usr/bin/hl-a"] == files["/usr/bin/hl-b"]
    assert ostree(path, "cat", PLAIN_REF, "/usr/bin/hl-b") == "shared content\n"
    assert ostree(path, "cat", PLAIN_REF, "/usr/bin/hl-a") == "shared content\n"


def test_var_content_becomes_tmpfiles_lines(repo, rpms, tmp_path: Path) -> None:
    import_rpm(repo, rpms["plain"], PLAIN_REF)
    path = tmp_path / "cache-repo"
    files = listing(path, PLAIN_REF)
    assert not [f for f in files if f == "/var" or f.startswith("/var/")]
    tmpfiles = ostree(path, "cat", PLAIN_REF, "/usr/lib/tmpfiles.d/pkg-plain.conf").splitlines()
    assert tmpfiles == [
        "d /var/lib/plain 0700 plainuser plaingroup - -",
        "L /var/lib/plain/current - - - - state",
        "C /var/lib/plain/state 0644 root root - /usr/share/factory/var/lib/plain/state",
        "f /var/log/plain.log 0644 root root - -",
    ]
    factory = "/usr/share/factory/var/lib/plain/state"
    assert ostree(path, "cat", PLAIN_REF, factory) == "initial\n"


def test_lookup_returns_the_header_and_nonroot_owners(repo, rpms) -> None:
    commit = import_rpm(repo, rpms["plain"], PLAIN_REF)
    cached = PackageCache(repo).lookup(PLAIN_REF, sha256(rpms["plain"]))
    assert isinstance(cached, CachedPackage)
    assert (cached.nevra, cached.commit) == ("plain-2.1-3.x86_64", commit)
    assert rpms["plain"].read_bytes().startswith(cached.header_blob)
    hdr = header_from_blob(cached.header_blob)
    rpm_q = subprocess.run(
        ["rpm", "-qp", "--qf", "%{NEVRA} %{SIZE}", str(rpms["plain"])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"{hdr['nevra']} {hdr['size']}" == rpm_q
    assert "/usr/bin/hl-b" in hdr["filenames"]
    assert sorted(cached.nonroot) == [
        ("/usr/libexec/plain-suid", "root", "plaingroup"),
        ("/usr/share/plain", "plainuser", "plaingroup"),
        ("/usr/share/plain/data", "plainuser", "plaingroup"),
    ]


def test_lookup_with_another_digest_or_ref_is_a_miss(repo, rpms) -> None:
    import_rpm(repo, rpms["plain"], PLAIN_REF)
    cache = PackageCache(repo)
    assert cache.lookup(PLAIN_REF, "0" * 64) is None
    assert cache.lookup(cache_ref("plain", "9-9", "x86_64"), sha256(rpms["plain"])) is None
    assert cache.lookup(PLAIN_REF, sha256(rpms["plain"])) is not None


def test_reimport_with_another_digest_replaces_the_entry(repo, rpms) -> None:
    first = import_rpm(repo, rpms["plain"], PLAIN_REF)
    with ot.transaction(repo):
        second = PackageCache(repo).import_rpm(rpms["plain"], PLAIN_REF, "1" * 64)
    assert second != first
    assert PackageCache(repo).lookup(PLAIN_REF, "1" * 64).commit == second
    assert PackageCache(repo).lookup(PLAIN_REF, sha256(rpms["plain"])) is None


# --- unsafe payloads ---


def test_the_climbing_rpm_is_a_valid_rpm_listing_a_dotdot_path(rpms) -> None:
    assert rpm_file_list(rpms["evil"]) == ["/usr/../evil"]


def test_symlink_climbing_out_of_the_tree_is_refused(repo, rpms, tmp_path: Path) -> None:
    import_rpm(repo, rpms["plain"], PLAIN_REF)
    evil_ref = cache_ref("evil-symlink", "1.0-1", "x86_64")
    with pytest.raises(UnsafePayload) as info:
        import_rpm(repo, rpms["evil-symlink"], evil_ref)
    assert str(info.value) == (
        "evil-symlink-1.0-1.x86_64: symlink /usr/bin/evil -> ../../../../../etc/shadow "
        "points out of the tree"
    )
    assert UnsafePayload.exit_code == 1
    path = tmp_path / "cache-repo"
    assert list(refs(path)) == [PLAIN_REF]
    assert list(cached_refs(repo)) == [PLAIN_REF]
    fsck(path)


def test_payload_path_with_dotdot_is_refused(repo, rpms, tmp_path: Path) -> None:
    with pytest.raises(UnsafePayload) as info:
        import_rpm(repo, rpms["evil"], cache_ref("evil", "1.0-1", "x86_64"))
    assert str(info.value) == "evil-1.0-1.x86_64: unsafe path in payload: /usr/../evil"
    assert refs(tmp_path / "cache-repo") == {}
    fsck(tmp_path / "cache-repo")


def test_failed_import_in_a_transaction_keeps_the_others_out_too(repo, rpms, tmp_path) -> None:
    cache = PackageCache(repo)
    with pytest.raises(UnsafePayload), ot.transaction(repo):
        cache.import_rpm(rpms["plain"], PLAIN_REF, sha256(rpms["plain"]))
        cache.import_rpm(rpms["evil"], cache_ref("evil", "1.0-1", "x86_64"), "x")
    assert refs(tmp_path / "cache-repo") == {}
    fsck(tmp_path / "cache-repo")


# --- the same, end to end through `fedostree compose tree` ---


@pytest.fixture(scope="module")
def evil_repo(tmp_path_factory: pytest.TempPathFactory, base_repo: Path, rpms) -> Path:
    """The base repository plus the two unsafe packages."""
    repo = tmp_path_factory.mktemp("evil-repo") / "repo"
    shutil.copytree(base_repo, repo, ignore=shutil.ignore_patterns("repodata"))
    for name in ("evil", "evil-symlink"):
        shutil.copy(rpms[name], repo)
    createrepo(repo)
    return repo


TREE = """\
ref: test/evil
repos: [test-repo]
packages: [bash]
"""


@pytest.mark.parametrize(
    ("package", "message"),
    [
        (
            "evil-symlink",
            "evil-symlink-1.0-1.x86_64: symlink /usr/bin/evil -> ../../../../../etc/shadow "
            "points out of the tree",
        ),
        ("evil", "evil-1.0-1.x86_64: unsafe path in payload: /usr/../evil"),
    ],
)
def test_compose_refuses_an_unsafe_package(
    tmp_path: Path, evil_repo: Path, package: str, message: str
) -> None:
    treefile = write_treefile(tmp_path / "config", evil_repo.as_uri(), TREE)
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    before = refs(tmp_path / "repo")
    treefile.write_text(TREE.replace("[bash]", f"[bash, {package}]"))
    r = compose(treefile, tmp_path)
    assert error_message(r, 1) == message
    assert r.stdout == ""
    assert refs(tmp_path / "repo") == before
    fsck(tmp_path / "repo")
    cache_repo = tmp_path / "cache/repo"
    assert not [ref for ref in refs(cache_repo) if package in ref]
    fsck(cache_repo)


# --- assembling a tree must change neither the cache nor the build host ---


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directories of the build host that packages below point their symlinks at."""
    root = tmp_path_factory.mktemp("host")
    (root / "tmp").mkdir(mode=0o700)
    (root / "boot").mkdir()
    (root / "boot/vmlinuz-9.9.9").write_text("the host's kernel\n")
    (root / "boot/grub.cfg").write_text("the host's boot menu\n")
    (root / "modules").mkdir()
    (root / "shared").mkdir()
    (root / "shared/precious").write_text("the host's data\n")
    return root


def host_snapshot(host: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(host)): (p.lstat().st_mode, p.read_text() if p.is_file() else "")
        for p in sorted(host.rglob("*"))
    }


@pytest.fixture(scope="module")
def symlink_repo(tmp_path_factory: pytest.TempPathFactory, base_repo: Path, host: Path) -> Path:
    root = tmp_path_factory.mktemp("symlink-repo")
    repo = root / "repo"
    shutil.copytree(base_repo, repo, ignore=shutil.ignore_patterns("repodata"))
    make_user = (
        "grep -q '^linker:' /etc/passwd || echo 'linker:x:991:991::/:/sbin/nologin' >> /etc/passwd\n"
        "grep -q '^linker:' /etc/group || echo 'linker:x:991:' >> /etc/group"
    )
    pkgs = [
        Pkg(
            "owned-symlink",
            requires=["setup"],
            files={
                "/usr/share/owned/target": "target\n",
                "/usr/share/owned/link": ("symlink", "target"),
            },
            attrs={"/usr/share/owned/link": "-,linker,linker"},
            scripts={"pre": make_user},
        ),
        Pkg("tmp-out", files={"/tmp": ("symlink", str(host / "tmp"))}),
        Pkg("boot-out", files={"/boot": ("symlink", str(host / "boot"))}),
        Pkg(
            "modules-out",
            files={
                "/boot/vmlinuz-9.9.9": "the package's kernel\n",
                "/usr/lib/modules/9.9.9": ("symlink", str(host / "modules")),
            },
        ),
        Pkg("dir-out", files={"/usr/share/shared": ("symlink", str(host / "shared"))}),
        Pkg("through-dir", requires=["dir-out"], files={"/usr/share/shared/dropped": "x\n"}),
    ]
    build_rpms(pkgs, repo, root / "work")
    createrepo(repo)
    return repo


def test_nonroot_symlink_does_not_corrupt_the_cache(tmp_path: Path, symlink_repo: Path) -> None:
    treefile = write_treefile(
        tmp_path / "config", symlink_repo.as_uri(), TREE.replace("[bash]", "[bash, owned-symlink]")
    )
    r = compose(treefile, tmp_path)
    assert r.exit_code == 0, r.stderr
    fsck(tmp_path / "cache/repo")
    fsck(tmp_path / "repo")
    co = tmp_path / "co"
    ostree(tmp_path / "repo", "checkout", "test/evil", str(co))
    link = (co / "usr/share/owned/link").lstat()
    assert (link.st_uid, link.st_gid) == (991, 991)
    assert (co / "usr/share/owned/target").stat().st_uid == 0


@pytest.mark.parametrize("package", ["tmp-out", "boot-out", "modules-out"])
def test_absolute_symlink_out_of_the_tree_leaves_the_host_alone(
    tmp_path: Path, symlink_repo: Path, host: Path, package: str
) -> None:
    before = host_snapshot(host)
    treefile = write_treefile(
        tmp_path / "config", symlink_repo.as_uri(), TREE.replace("[bash]", f"[bash, {package}]")
    )
    r = compose(treefile, tmp_path)
    assert host_snapshot(host) == before
    if package == "tmp-out":  # /tmp is not taken from the packages: the layout makes it
        assert r.exit_code == 0, r.stderr
        tmp = ostree(tmp_path / "repo", "ls", "-d", "test/evil", "/tmp")
        assert tmp.split(None, 4)[4] == "/tmp -> sysroot/tmp\n"
    else:
        link = "/boot" if package == "boot-out" else "/usr/lib/modules/9.9.9"
        target = host / ("boot" if package == "boot-out" else "modules")
        assert error_message(r, 1) == (
            f"{link} in the tree is a symlink to {target}, not a directory"
        )
        assert refs(tmp_path / "repo") == {}
    fsck(tmp_path / "cache/repo")


def test_checkout_does_not_write_through_another_packages_symlink(
    tmp_path: Path, symlink_repo: Path, host: Path
) -> None:
    before = host_snapshot(host)
    treefile = write_treefile(
        tmp_path / "config", symlink_repo.as_uri(), TREE.replace("[bash]", "[bash, through-dir]")
    )
    r = compose(treefile, tmp_path)
    try:
        assert host_snapshot(host) == before
        assert "cannot check out through an absolute symlink" in error_message(r, 1)
    finally:
        (host / "shared/dropped").unlink(missing_ok=True)


def test_remove_files_does_not_follow_a_symlink_out_of_the_tree(
    tmp_path: Path, symlink_repo: Path, host: Path
) -> None:
    before = host_snapshot(host)
    tree = TREE.replace("[bash]", "[bash, dir-out]") + "remove-files: [usr/share/shared/precious]\n"
    treefile = write_treefile(tmp_path / "config", symlink_repo.as_uri(), tree)
    compose(treefile, tmp_path)
    try:
        assert host_snapshot(host) == before
    finally:
        (host / "shared/precious").write_text("the host's data\n")
