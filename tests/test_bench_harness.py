"""The benchmark harness: its pure parts (medians, ratios, results.json, the table, the
byte-counting server, the package rebuild), and one small run end to end on the
sample universe. `make test` never runs the benchmark itself."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from rich.console import Console

from fedostree.bench.harness import Options, run_benchmark, select_groups
from fedostree.bench.httpcount import CountingServer, kind_of
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
from fedostree.errors import ConfigError
from tests.support.rpms import Pkg, build_rpms

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
