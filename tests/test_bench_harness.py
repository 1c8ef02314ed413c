"""The benchmark harness: its pure parts (medians, ratios, results.json, the table, the
byte-counting server, the package rebuild), and one small run end to end on the
sample universe. `make test` never runs the benchmark itself."""

from __future__ import annotations

import cProfile
import json
import pstats
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console

from fedostree.bench.harness import SPECS, Options, run_benchmark, select_groups
from fedostree.bench.httpcount import CountingServer, kind_of
from fedostree.bench.layer_clients import DnfLayer, installing
from fedostree.bench.layer_pick import (
    candidates,
    pick_packages,
    pool_resolver,
    universe_pool,
)
from fedostree.bench.measure_layering import NAMES as LAYERING
from fedostree.bench.profile_phases import OTHER, PHASES, START_UP, Site, phase_times
from fedostree.bench.rebuild import rebuild_rpm, regenerate
from fedostree.bench.results import (
    Entry,
    Sample,
    Spec,
    median,
    ratio,
    read_results,
    render_table,
    summarize,
    write_results,
)
from fedostree.bench.traditional import nevras_from_lockfile
from fedostree.engine.rpmfile import header_from_blob, iter_payload, read_header_blob
from fedostree.errors import ConfigError, FedostreeError
from tests.support.rpms import Pkg, build_rpms, createrepo

SPEC = Spec("cold-compose", "s", 0.5, "ours", "theirs")
SCHEMA = {"name", "ours", "peer", "ratio", "unit", "runs", "target", "notes"}


def test_median_and_ratio() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0]) == 1.5
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) is None
    with pytest.raises(ValueError):
        median([])


def test_summarize_takes_medians_and_their_ratio() -> None:
    samples = [Sample(10.0, 40.0), Sample(30.0, 20.0), Sample(20.0, 30.0, "last run")]
    entry = summarize(SPEC, samples)
    assert (entry.ours, entry.peer, entry.runs, entry.target) == (20.0, 30.0, 3, 0.5)
    assert entry.ratio == pytest.approx(2 / 3)
    assert entry.passed is False
    assert "ours: ours; peer: theirs" in entry.notes
    assert "10.0 s/40.0 s" in entry.notes and "last run" in entry.notes


def test_results_json_is_a_list_of_entries_in_the_agreed_shape(tmp_path: Path) -> None:
    entries = [
        summarize(SPEC, [Sample(1.0, 4.0)]),
        Entry("depsolve-load", 1.0, 0.0, None, "s", 1, None, ""),
    ]
    out = tmp_path / "bench" / "results.json"
    write_results(out, entries)
    data = json.loads(out.read_text())
    assert [set(e) for e in data] == [SCHEMA, SCHEMA]
    assert data[0]["ratio"] == 0.25 and data[1]["ratio"] is None
    assert read_results(out) == entries


def test_table_shows_ratio_target_and_verdict() -> None:
    entries = [
        summarize(SPEC, [Sample(1.0, 4.0)]),
        summarize(Spec("rollback", "s", 1.5, "a", "b"), [Sample(3.0, 1.0)]),
        summarize(Spec("repo-size-vs-unique", "bytes", None, "a", "b"), [Sample(2**30, 2**29)]),
    ]
    console = Console(record=True, width=120)
    console.print(render_table(entries, "bench"))
    text = console.export_text()
    assert "0.250x" in text and "<= 0.5x" in text and "ok" in text
    assert "3.000x" in text and "MISSED" in text
    assert "1.0 GiB" in text and "512.0 MiB" in text


def test_select_groups_by_group_or_entry_name_in_fixed_order() -> None:
    assert select_groups(["rollback", "cold-compose"]) == ["cold-compose", "rollback"]
    assert select_groups(["upgrade-bytes-delta"]) == ["upgrade-bytes"]
    assert select_groups(["depsolve-solve"]) == ["depsolve"]
    assert select_groups(["layer-ten", "upgrade-layered"]) == ["layering"]
    assert set(LAYERING) <= set(SPECS)
    assert "depsolve" in select_groups([])
    with pytest.raises(ConfigError):
        select_groups(["warp-speed"])


def test_counting_server_counts_every_byte_it_sends(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "objects" / "ab").mkdir(parents=True)
    (repo / "config").write_text("[core]\nmode=archive-z2\n")
    (repo / "objects" / "ab" / "cdef.filez").write_bytes(b"x" * 100_000)
    with CountingServer(repo) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        received = fetch_raw(port, "/objects/ab/cdef.filez") + fetch_raw(port, "/config")
        assert server.counter.total == len(received)
        assert server.counter.by_kind["objects"] > 100_000
        assert server.counter.requests == {"objects": 1, "metadata": 1}
        server.counter.reset()
        assert server.counter.total == 0
    assert (kind_of("/deltas/ab/cd/0"), kind_of("/summary")) == ("deltas", "metadata")


def fetch_raw(port: int, path: str) -> bytes:
    """Everything the server sends for one request: status line, headers, body."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_regenerate_keeps_size_and_alphabet_but_not_content() -> None:
    data = bytes(0x20 + (i * 7 % 16) for i in range(5000))
    new = regenerate("/usr/bin/tool", data)
    assert len(new) == len(data) and new != data
    assert set(new) <= set(data)
    assert regenerate("/usr/bin/tool", data) == new  # deterministic
    assert regenerate("/x", b"") == b""


def test_rebuild_raises_the_release_and_changes_every_file(tmp_path: Path) -> None:
    pkg = Pkg(
        "tool",
        version="2.0",
        release="3",
        requires=["filesystem"],
        provides=["tool-api = 2.0-3"],
        files={"/usr/bin/tool": "#!/bin/sh\necho tool\n", "/usr/lib/tool": ("dir",)},
        attrs={"/usr/bin/tool": "0755,root,root"},
    )
    (source,) = build_rpms([pkg], tmp_path / "rpms", tmp_path / "work")
    rebuilt = rebuild_rpm(source, tmp_path / "rebuild")
    hdr = header_from_blob(read_header_blob(rebuilt))
    assert (hdr["name"], hdr["version"], hdr["release"]) == ("tool", "2.0", "3.bench1")
    assert "tool-api = 2.0-3.bench1" in [d.DNEVR()[2:] for d in hdr.dsFromHeader("providename")]
    assert "filesystem" in hdr["requires"]
    old = {e.path: e for e in iter_payload(source)}
    new = {e.path: e for e in iter_payload(rebuilt)}
    assert old.keys() == new.keys()
    assert new["/usr/bin/tool"].mode == old["/usr/bin/tool"].mode
    assert new["/usr/bin/tool"].data != old["/usr/bin/tool"].data


def test_lockfile_nevras(tmp_path: Path) -> None:
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"packages": {
        "bash": {"evra": "5.1.8-2.el9.x86_64", "digest": "sha256:00"},
        "shadow-utils": {"evra": "2:4.9-3.el9.x86_64", "digest": "sha256:11"},
    }}))  # fmt: skip
    assert nevras_from_lockfile(lock) == [
        "bash-5.1.8-2.el9.x86_64",
        "shadow-utils-2:4.9-3.el9.x86_64",
    ]


# --- layering -------------------------------------------------------------------------------

# The tree has base; tool needs two packages the tree lacks; app1 and app2 one each;
# overlap shares a dependency with tool; big needs four; kernel-extra is never picked.
LAYER_UNIVERSE = [
    Pkg("base", files={"/usr/lib/base.txt": "base\n"}),
    Pkg("tool", requires=["base", "libtool-a", "libtool-b"], files={"/usr/bin/tool": "t\n"}),
    Pkg("libtool-a", files={"/usr/lib64/libtool-a.so": "a\n"}),
    Pkg("libtool-b", files={"/usr/lib64/libtool-b.so": "b\n"}),
    Pkg("aaa-overlap", requires=["libtool-a"], files={"/usr/bin/aaa": "o\n"}),
    Pkg("app1", requires=["base", "lib1"], files={"/usr/bin/app1": "1\n"}),
    Pkg("app2", requires=["lib2"], files={"/usr/bin/app2": "2\n"}),
    Pkg("lib1", files={"/usr/lib64/lib1.so": "1\n"}),
    Pkg("lib2", files={"/usr/lib64/lib2.so": "2\n"}),
    Pkg("big", requires=["lib1", "lib2", "libz", "liby"], files={"/usr/bin/big": "b\n"}),
    Pkg("libz", files={"/usr/lib64/libz.so": "z\n"}),
    Pkg("liby", files={"/usr/lib64/liby.so": "y\n"}),
    Pkg("kernel-extra", requires=["lib1"], files={"/usr/lib/kextra": "k\n"}),
]


@pytest.fixture(scope="module")
def layer_universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layer-universe")
    build_rpms(LAYER_UNIVERSE, root / "repo", root / "work")
    createrepo(root / "repo")
    return root / "repo"


def rpm_of(repo: Path, name: str) -> Path:
    (path,) = repo.glob(f"{name}-1.0-1.*.rpm")
    return path


def test_pick_on_the_trees_rpmdb(layer_universe: Path) -> None:
    """libsolv resolves each candidate on the tree's packages: the one with exactly two
    missing dependencies, then the first ones adding a few, disjoint from it."""
    installed = [read_header_blob(rpm_of(layer_universe, "base"))]
    pool = universe_pool(layer_universe, installed, "x86_64")
    names = candidates(pool)
    assert "base" not in names and "kernel-extra" not in names
    assert names == sorted(names)
    pick = pick_packages(names, pool_resolver(pool), count=2)
    assert pick.one == "tool"
    assert pick.one_adds == ("libtool-a-1.0-1.x86_64", "libtool-b-1.0-1.x86_64",
                             "tool-1.0-1.x86_64")  # fmt: skip
    assert pick.ten == ("app1", "app2")  # aaa-overlap shares libtool-a; big adds five
    assert pick.ten_adds == ("app1-1.0-1.x86_64", "app2-1.0-1.x86_64", "lib1-1.0-1.x86_64",
                             "lib2-1.0-1.x86_64")  # fmt: skip
    assert "tool" in pick.describe() and "app2" in pick.describe()
    with pytest.raises(FedostreeError, match="only 2 packages to layer"):
        pick_packages(names, pool_resolver(pool), count=3)


def test_pick_skips_what_cannot_be_layered_together() -> None:
    adds = {"one": {"one", "d1", "d2"}, "a": {"a", "x"}, "b": {"b", "y"}, "c": {"c", "z"}}

    def resolve(names: Sequence[str]) -> frozenset[str] | None:
        if {"a", "b"} <= set(names):  # a conflicts with b
            return None
        if any(n not in adds for n in names):
            return None
        return frozenset().union(*(adds[n] for n in names))

    pick = pick_packages(["a", "b", "c", "nonesuch", "one"], resolve, count=2)
    assert (pick.one, pick.ten) == ("one", ("a", "c"))
    with pytest.raises(FedostreeError, match="exactly 3 missing"):
        pick_packages(["a", "b"], resolve, deps=3)


def test_installing_reads_what_fedostree_install_reports() -> None:
    out = "  Installing: a-1.0-1.x86_64\n  Installing: b-2:1-1.noarch\nDeployed 0123; ...\n"
    assert installing(out) == ("a-1.0-1.x86_64", "b-2:1-1.noarch")
    assert installing("No change.\n") == ()


def test_dnf_installs_into_a_tree_with_its_rpmdb_at_usr_share_rpm(
    layer_universe: Path, tmp_path: Path
) -> None:
    """The peer sees the tree's packages where the tree keeps them: dnf adds tool and its
    two libraries, not base, and downloads them from the served repository."""
    root = tmp_path / "root"
    subprocess.run(["rpm", "--root", str(root), "--dbpath", "/usr/share/rpm", "-i", "--nodeps",
                    str(rpm_of(layer_universe, "base"))], check=True, capture_output=True)  # fmt: skip
    with CountingServer(layer_universe, files=True) as server:
        dnf = DnfLayer(tmp_path / "dnf", "9").setup(server.url)
        dnf.makecache(root)
        server.counter.reset()
        layered = dnf.install(root, ["tool"])
        assert server.counter.total > 0
    assert layered.added == ("libtool-a-1.0-1.x86_64", "libtool-b-1.0-1.x86_64",
                             "tool-1.0-1.x86_64")  # fmt: skip
    assert (root / "usr/bin/tool").read_text() == "t\n"
    assert not list(dnf.cachedir.glob("*/packages/*.rpm"))  # not kept for the next install


def _leaf() -> int:
    return sum(range(20_000))


def _caller_a() -> int:
    return _leaf()


def _caller_b() -> int:
    return _leaf() + _leaf()


def _main() -> int:
    return _caller_a() + _caller_b()


def _unused() -> None:
    pass


def test_phase_times_split_a_profile_without_double_counting() -> None:
    profile = cProfile.Profile()
    profile.runcall(_main)
    stats = pstats.Stats(profile)
    here = "tests/test_bench_harness.py"
    phases = {
        "a": (Site(here, "_caller_a"),),
        "leaf from b": (Site(here, "_leaf", (here, "_caller_b")),),
        "never": (Site(here, "_unused"),),
    }
    times = phase_times(stats, phases, main=Site(here, "_main"))
    assert list(times) == [START_UP, "a", "leaf from b", "never", OTHER, "total"]
    assert times["never"] == 0.0
    parts = sum(v for k, v in times.items() if k != "total")
    assert parts == pytest.approx(times["total"])
    leaf_all = phase_times(stats, {"leaf": (Site(here, "_leaf"),)}, main=Site(here, "_main"))
    assert times["leaf from b"] <= leaf_all["leaf"]


def test_the_layering_phases_name_functions_that_exist() -> None:
    """A renamed function would silently drop out of the profile summary."""
    src = Path(__file__).parents[1] / "src/fedostree"
    for sites in PHASES.values():
        for site in sites:
            for file, name in [(site.file, site.name), *([site.caller] if site.caller else [])]:
                if file.endswith("shutil.py"):
                    continue
                assert f"def {name}(" in (src / file).read_text(), (file, name)


@pytest.mark.slow
def test_small_run_end_to_end_on_the_sample_universe(tmp_path: Path, sample_repo: Path) -> None:
    """One tree of the sample universe: the no-op recompose, the repository size against
    the dnf roots, and the bytes of an upgrade over HTTP."""
    (tmp_path / "work" / "universe").mkdir(parents=True)
    (tmp_path / "work" / "universe" / "sample-universe").symlink_to(sample_repo)
    only = ["noop-recompose", "upgrade-bytes", "repo-size"]
    opts = Options(scale=1.0, runs=1, out=tmp_path / "results.json", workdir=tmp_path / "work",
                   only=tuple(only), trees=("base/minimal",), universe="sample", reps=1)  # fmt: skip
    entries = {e.name: e for e in run_benchmark(opts, Console(record=True, width=120))}
    assert {e["name"] for e in json.loads(opts.out.read_text())} == set(entries)
    noop = entries["noop-recompose"]
    assert noop.ratio is not None and noop.ratio < 1
    delta, objects = entries["upgrade-bytes-delta"], entries["upgrade-bytes-no-delta"]
    assert 0 < delta.ours < objects.ours
    assert delta.peer == objects.peer > 0
    assert entries["repo-size-vs-standalone"].ours < entries["repo-size-vs-standalone"].peer
    assert not (tmp_path / "work" / "run").exists()


@pytest.mark.slow
def test_layering_figures_end_to_end_on_the_sample_universe(
    tmp_path: Path, sample_repo: Path
) -> None:
    """The four layering figures on the sample universe's smallest tree (its packages run
    scriptlets): both sides add exactly the picked packages, and --profile leaves one
    profile per fedostree command that the phase summary reads."""
    (tmp_path / "work" / "universe").mkdir(parents=True)
    (tmp_path / "work" / "universe" / "sample-universe").symlink_to(sample_repo)
    profiles = tmp_path / "profiles"
    opts = Options(scale=1.0, runs=1, out=tmp_path / "results.json", workdir=tmp_path / "work",
                   only=("layering",), trees=("base/minimal",), universe="sample", reps=1,
                   profile=profiles)  # fmt: skip
    entries = {e.name: e for e in run_benchmark(opts, Console(record=True, width=120))}
    assert set(entries) == set(LAYERING)
    for name in ("layer-one", "layer-ten"):
        assert "(ours as picked, dnf as picked)" in entries[name].notes
    assert "(as picked) vs on none" in entries["layer-incremental"].notes
    assert entries["layer-incremental"].peer == entries["layer-one"].ours
    assert all(e.ours > 0 and e.peer > 0 for e in entries.values())
    written = sorted(p.stem for p in profiles.glob("*.prof"))
    assert written == sorted([*LAYERING, "upgrade-none"])
    times = phase_times(pstats.Stats(str(profiles / "layer-one.prof")))
    assert times["commit"] > 0 and times["deploy"] > 0 and times["pull"] == 0
    assert not (tmp_path / "work" / "run").exists()
