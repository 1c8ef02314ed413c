"""The benchmark universe, synthesized from the real CentOS Stream 9 BaseOS metadata:
the same packages, dependencies, file lists and groups as the real repository (so a
depsolve over it picks exactly the real package sets), with payloads of scale x the
real installed sizes. Built once here at a tiny scale (about 20 s on 2 cores)."""

from __future__ import annotations

import collections
import hashlib
import subprocess
from pathlib import Path

import pytest
import solv

from fedostree.bench import payload, universe
from fedostree.bench.metadata import DEP_KINDS, RealPackage, load_packages, open_source
from fedostree.bench.payload import REAL_CONTENT, real_content
from fedostree.bench.plan import Build, plan_builds, spread_bytes, symlinked_dirs
from fedostree.bench.spec import files_path
from fedostree.bench.universe import TREES, build_rpms, build_universe, universe_path
from fedostree.engine.depsolve import expand_groups, load_comps, load_pool
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import RepoMetadata
from fedostree.engine.resolve import Request, resolve
from fedostree.engine.rpmfile import header_from_blob, read_header_blob
from fedostree.errors import CommandError, FedostreeError
from tests.support.data import DATA

SOURCE = DATA / "centos-stream-9" / "baseos-2022-02"
SCALE = 0.001
# The real metadata lists these provides twice; a spec cannot say the same provide twice.
DUPLICATE_PROVIDES = {
    "openldap-compat", "python3", "python3-pip-wheel", "python3-setuptools-wheel",
}  # fmt: skip


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("universe-cache")


@pytest.fixture(scope="module")
def synth(cache_root: Path) -> Path:
    return build_universe(cache_root, scale=SCALE, source=SOURCE)


@pytest.fixture(scope="module")
def real_list() -> list[RealPackage]:
    return load_packages(open_source(SOURCE))


@pytest.fixture(scope="module")
def real_packages(real_list: list[RealPackage]) -> dict[str, RealPackage]:
    return {p.nevra: p for p in real_list}


@pytest.fixture(scope="module")
def builds(real_list: list[RealPackage]) -> list[Build]:
    return plan_builds(real_list, SCALE)


@pytest.fixture(scope="module")
def synth_packages(synth: Path) -> dict[str, RealPackage]:
    return {p.nevra: p for p in load_packages(open_source(synth))}


def rpm_of(repo: Path, package: RealPackage) -> Path:
    return repo / "Packages" / f"{package.name}-{package.vr}.{package.arch}.rpm"


def by_name(packages: dict[str, RealPackage], name: str, arch: str = "x86_64") -> RealPackage:
    return next(p for p in packages.values() if p.name == name and p.arch in (arch, "noarch"))


def rpm_query(rpm: Path, *args: str) -> str:
    return subprocess.run(
        ["rpm", "-qp", *args, str(rpm)], check=True, capture_output=True, text=True
    ).stdout


def load(path: Path) -> tuple[solv.Pool, object]:
    meta = RepoMetadata(RepoConfig("baseos", Path("x"), ("file:///unused",)), path, "rev")
    return load_pool([meta], "x86_64"), load_comps([meta])


# --- faithfulness ------------------------------------------------------------------------


@pytest.mark.parametrize("tree", sorted(TREES))
def test_depsolve_picks_the_real_package_set(synth: Path, tree: str) -> None:
    real_pool, real_comps = load(SOURCE)
    synth_pool, synth_comps = load(synth)
    real = resolve(real_pool, Request(tuple(expand_groups(real_comps, TREES[tree]))))
    synthesized = resolve(synth_pool, Request(tuple(expand_groups(synth_comps, TREES[tree]))))
    assert {p.nevra for p in synthesized} == {p.nevra for p in real}
    assert 300 <= len(real) <= 470


def test_every_package_keeps_its_metadata(
    real_packages: dict[str, RealPackage], synth_packages: dict[str, RealPackage]
) -> None:
    assert synth_packages.keys() == real_packages.keys()
    assert len(real_packages) == 1125
    for nevra, real in real_packages.items():
        ours = synth_packages[nevra]
        for kind in DEP_KINDS:
            if kind == "provides" and real.name in DUPLICATE_PROVIDES:
                assert set(ours.deps[kind]) == set(real.deps[kind]), (nevra, kind)
            else:
                counts = collections.Counter(ours.deps[kind]), collections.Counter(real.deps[kind])
                assert counts[0] == counts[1], (nevra, kind)
        assert sorted(ours.files, key=str) == sorted(real.files, key=str), nevra
        for attr in ("summary", "description", "license", "url", "sourcerpm", "epoch"):
            assert getattr(ours, attr) == getattr(real, attr), (nevra, attr)


def test_comps_groups_are_the_real_ones(synth: Path) -> None:
    real, ours = load(SOURCE)[1], load(synth)[1]
    assert [g.id for g in ours.groups] == [g.id for g in real.groups]  # type: ignore[attr-defined]
    assert expand_groups(ours, ["@core"]) == expand_groups(real, ["@core"])


# --- the RPMs as rpm sees them -----------------------------------------------------------


def test_rpm_reports_the_real_identity_and_dependencies(
    synth: Path, real_packages: dict[str, RealPackage]
) -> None:
    mapper = by_name(real_packages, "device-mapper")  # epoch 9, built from lvm2-2.03.14
    assert rpm_query(rpm_of(synth, mapper), "--qf", "%{NEVRA} %{EPOCH} %{SOURCERPM}") == (
        "device-mapper-9:1.02.181-3.el9.x86_64 9 lvm2-2.03.14-3.el9.src.rpm"
    )
    firmware = by_name(real_packages, "iwl1000-firmware")  # its own version and epoch
    assert rpm_query(rpm_of(synth, firmware), "--qf", "%{EPOCH}:%{VERSION}") == "1:39.31.5.1"
    cockpit = rpm_of(synth, by_name(real_packages, "cockpit-ws"))
    requires = rpm_query(cockpit, "--requires").splitlines()
    assert "(policycoreutils if selinux-policy-targeted)" in requires
    assert "(selinux-policy >= 34.1.22-1.el9 if selinux-policy-targeted)" in requires
    glibc = by_name(real_packages, "glibc")
    provides = set(rpm_query(rpm_of(synth, glibc), "--provides").splitlines())
    assert provides == {d.render() for d in glibc.deps["provides"]}
    pre = rpm_query(rpm_of(synth, glibc), "--qf", "[%{REQUIRENAME} %{REQUIREFLAGS:deptype}\n]")
    assert "basesystem pre" in pre.splitlines()


@pytest.mark.parametrize(
    "name", ["coreutils", "python3-setuptools", "systemd", "linux-firmware", "filesystem"]
)
def test_rpm_lists_the_real_files(
    synth: Path, real_packages: dict[str, RealPackage], name: str
) -> None:
    """Paths with `[`, spaces and backslashes included."""
    package = by_name(real_packages, name)
    listed = rpm_query(rpm_of(synth, package), "--qf", "[%{FILENAMES}\n]").splitlines()
    assert sorted(listed) == sorted(f.path for f in package.files)


def test_symlinks_where_the_real_packages_have_them(
    synth: Path, real_packages: dict[str, RealPackage]
) -> None:
    filesystem = rpm_of(synth, by_name(real_packages, "filesystem"))
    links = rpm_query(filesystem, "--qf", "[%{FILENAMES} %{FILELINKTOS}\n]").splitlines()
    assert {"/bin usr/bin", "/lib64 usr/lib64", "/sbin usr/sbin"} <= set(links)
    bash = rpm_of(synth, by_name(real_packages, "bash"))
    entries = [
        line.split(" ")
        for line in rpm_query(bash, "--qf", "[%{FILENAMES} %{FILELINKTOS}\n]").splitlines()
    ]
    build_ids = [target for path, target in entries if path.startswith("/usr/lib/.build-id/")]
    assert sorted(build_ids) == ["", "../../../../usr/bin/bash"]  # a directory, a link


def test_installed_sizes_are_scaled(
    synth: Path, real_packages: dict[str, RealPackage], builds: list[Build]
) -> None:
    """rpm's SIZE counts regular files and symlink targets; when the scaled size is
    smaller than the symlinks alone, the regular files are empty. The few files with real
    content (payload.REAL_CONTENT) are padded to their size, or longer when it is smaller."""
    planned = {p.real.nevra: p for b in builds for p in b.packages}
    for package in real_packages.values():
        hdr = header_from_blob(read_header_blob(rpm_of(synth, package)))
        link_bytes = sum(len(target) for target in hdr["filelinktos"])
        longer = sum(
            len(real_content(f)) - f.size
            for f in planned[package.nevra].files
            if f.kind == "file" and f.path in REAL_CONTENT
        )
        assert hdr["longsize"] == max(round(package.installed_size * SCALE), link_bytes) + longer


# --- caching and determinism -------------------------------------------------------------


def test_a_second_call_is_served_from_the_cache(cache_root: Path, synth: Path) -> None:
    built = (synth / "repodata/repomd.xml").stat().st_mtime_ns
    assert build_universe(cache_root, scale=SCALE, source=SOURCE) == synth
    assert (synth / "repodata/repomd.xml").stat().st_mtime_ns == built  # not built again
    assert universe_path(cache_root, scale=SCALE, source=SOURCE) == synth
    assert universe_path(cache_root, scale=0.01, source=SOURCE) != synth
    assert universe_path(cache_root, scale=1.0, source=SOURCE).name.startswith("universe-v")
    assert [p.name for p in cache_root.iterdir() if p.is_dir()] == [synth.name]


def test_a_rebuilt_rpm_is_identical(synth: Path, builds: list[Build], tmp_path: Path) -> None:
    coreutils = next(b for b in builds if b.packages[0].real.name == "coreutils")
    (tmp_path / "rpms").mkdir()
    for rpm in build_rpms(coreutils, tmp_path / "work", tmp_path / "rpms"):
        rebuilt = hashlib.sha256(rpm.read_bytes()).hexdigest()
        assert rebuilt == hashlib.sha256((synth / "Packages" / rpm.name).read_bytes()).hexdigest()


def test_an_interrupted_build_leaves_no_cache_entry(
    tmp_path: Path, real_list: list[RealPackage], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_createrepo(*args: object) -> None:
        raise CommandError("createrepo_c: interrupted")

    bash = [p for p in real_list if p.sourcerpm.startswith("bash-")]
    monkeypatch.setattr(universe, "load_packages", lambda source: bash)
    monkeypatch.setattr(universe, "run_createrepo", failing_createrepo)
    with pytest.raises(CommandError, match="interrupted"):
        build_universe(tmp_path, scale=SCALE, source=SOURCE)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_a_failing_rpmbuild_names_the_command(
    tmp_path: Path, builds: list[Build], monkeypatch: pytest.MonkeyPatch
) -> None:
    build = next(b for b in builds if b.packages[0].real.name == "bash")
    monkeypatch.setitem(universe.RPMBUILD_DEFINES, "_binary_payload", "w1.nosuchio")
    (tmp_path / "rpms").mkdir()
    with pytest.raises(CommandError, match=r"rpmbuild -bb"):
        build_rpms(build, tmp_path / "work", tmp_path / "rpms")


def test_buildroots_are_staged_on_disk_when_memory_is_short(tmp_path: Path) -> None:
    with universe.scratch_dir(tmp_path, needed=1 << 62) as work:
        assert work.parent == tmp_path
    assert not work.exists()


def test_a_source_without_metadata_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FedostreeError, match=r"repomd\.xml"):
        build_universe(tmp_path / "cache", scale=SCALE, source=tmp_path)
    with pytest.raises(FedostreeError, match="scale"):
        universe_path(tmp_path, scale=-1.0, source=SOURCE)


# --- the pieces ----------------------------------------------------------------------------


def test_payload_bytes_are_seeded_and_as_compressible_as_asked(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    payload.write_payload(a, 100_000, b"seed", 4)
    payload.write_payload(b, 100_000, b"seed", 4)
    payload.write_payload(c, 100_000, b"other", 8)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert a.read_bytes().startswith(payload.SIGNATURE)
    assert len(set(a.read_bytes()[len(payload.SIGNATURE) :])) == 16
    assert a.stat().st_size == c.stat().st_size == 100_000


def test_sizes_add_up_and_dir_symlinks_are_found(real_list: list[RealPackage]) -> None:
    sizes = spread_bytes(1_000_003, [f"/usr/lib/f{i}" for i in range(50)])
    assert sum(sizes.values()) == 1_000_003 and min(sizes.values()) >= 4
    assert sum(spread_bytes(7, ["/a", "/b", "/c"]).values()) == 7
    assert symlinked_dirs(real_list) == {
        "/bin": "usr/bin", "/lib": "usr/lib", "/lib64": "usr/lib64", "/sbin": "usr/sbin",
    }  # fmt: skip


def test_files_paths_name_exactly_one_file() -> None:
    assert files_path("/usr/bin/[") == "/usr/bin/[[]"
    assert files_path("/a b/c*?") == '"/a b/c[*][?]"'
    assert files_path("/x/100%") == "/x/100%%"
    with pytest.raises(FedostreeError, match="cannot name"):
        files_path('/x/"quoted"')
