"""The commit's version and metadata from the treefile, as rpm-ostree makes them:
`automatic-version-prefix` with `<date:FORMAT>` (GLib's g_date_time_format, in UTC) and
`automatic-version-suffix` (util_next_version and its test table in rust/src/utils.rs),
and `add-commit-metadata` as json-glib converts JSON to GVariant."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedostree.engine import ostree as ot
from fedostree.engine.commit import commit_metadata, json_variant, next_version
from fedostree.engine.ostree import GLib
from fedostree.model.treefile import Treefile
from tests.support.cli import compose, ostree
from tests.support.rpms import write_treefile

DAY_2019 = GLib.DateTime.new_utc(2019, 3, 4, 5, 6, 7)
DAY_2020 = GLib.DateTime.new_utc(2020, 1, 2, 3, 4, 5)


def version(
    prefix: str, last: str | None, suffix: str | None = None, now: GLib.DateTime = DAY_2019
) -> str | None:
    tf = Treefile(
        path=Path("t.yaml"), automatic_version_prefix=prefix, automatic_version_suffix=suffix
    )
    return next_version(tf, last, now=now)


def progression(prefix: str, days: list[GLib.DateTime], suffix: str | None = None) -> list[str]:
    out: list[str] = []
    for day in days:
        v = version(prefix, out[-1] if out else None, suffix, day)
        assert v is not None
        out.append(v)
    return out


def test_no_prefix_no_version() -> None:
    assert next_version(Treefile(path=Path("t.yaml")), "1.2") is None


@pytest.mark.parametrize(
    ("prefix", "days", "expected"),
    [
        ("22", [DAY_2019] * 3, ["22", "22.1", "22.2"]),
        ("22.1", [DAY_2019] * 3, ["22.1", "22.1.1", "22.1.2"]),
        ("22.<date:%Y>", [DAY_2019, DAY_2019, DAY_2020], ["22.2019.0", "22.2019.1", "22.2020.0"]),
        (
            "22.<date:%Y>.1",
            [DAY_2019, DAY_2019, DAY_2020],
            ["22.2019.1.0", "22.2019.1.1", "22.2020.1.0"],
        ),
    ],
)
def test_the_documented_progressions(
    prefix: str, days: list[GLib.DateTime], expected: list[str]
) -> None:
    """The table in rpm-ostree's docs/treefile.md."""
    assert progression(prefix, days) == expected


def test_the_suffix_separates_the_counter() -> None:
    assert progression("22", [DAY_2019] * 3, suffix="-") == ["22", "22-1", "22-2"]
    assert version("10.1", "10.1-5", "-") == "10.1-6"
    assert version("10", "10.1", "-") == "10"  # not this suffix: starts over


@pytest.mark.parametrize(
    ("prefix", "last", "expected"),
    [
        ("10", None, "10"),
        ("10", "xyz", "10"),
        ("10", "9", "10"),
        ("10", "11", "10"),
        ("10", "10", "10.1"),
        ("10.1", "10.1", "10.1.1"),
        ("10", "10.0", "10.1"),
        ("10", "10.3", "10.4"),
        ("10", "10.1.5", "10.2"),
        ("10.1", "10.1.5", "10.1.6"),
        ("10.1", "10.1.1.5", "10.1.2"),
        ("10", "10001", "10"),
        ("10", "101.1", "10"),
        ("10", "10x.1", "10"),
        ("10.1", "10", "10.1"),
        ("10.1", "10.", "10.1"),
        ("10.1", "10.2", "10.1"),
        ("10.1", "10.12", "10.1"),
        ("10.1", "10.1x", "10.1"),
        ("10.1", "10.1.x", "10.1.1"),
        ("10.1", "10.1.2x", "10.1.3"),
    ],
)
def test_rpm_ostrees_version_table(prefix: str, last: str | None, expected: str) -> None:
    """rust/src/utils.rs test_next_version, case by case."""
    assert version(prefix, last) == expected


@pytest.mark.parametrize(
    ("prefix", "last", "expected"),
    [
        ("10.<date:%Y%m%d>", "10.20001010", "10.20190304.0"),
        ("10.<date:%Y%m%d>", "10.20001010.5", "10.20190304.0"),
        ("10.<date:%Y%m%d>", "10.20190304.1", "10.20190304.2"),
        ("10.<date:%Y%m%d>", None, "10.20190304.0"),
        ("10.<date:%Y%m%d>.0", "10.20190304", "10.20190304.0.0"),
        ("10.<date:%Y%m%d>.0", "10.20190304.0", "10.20190304.0.0"),
        ("10.<date:%Y%m%d>", "10.20190304.x", "10.20190304.1"),
        ("10.<date:%Y%m%d>.2", "10.20190304.2.x", "10.20190304.2.1"),
        ("10.<date:%Y%m%d>.1", "10.20190304.1.2x", "10.20190304.1.3"),
        ("10.<date: %Y%m%d>", "10.20001010", "10. 20190304.0"),
        ("10.<date:%Y%m%d>.", "10.20001010.", "10.20190304..0"),
        ("10.<date:%Y%m%d>abc", "10.20001010abc", "10.20190304abc.0"),
        ("10.<date:text %Y%m%d here>", "10.20001010", "10.text 20190304 here.0"),
        ("10.<date:%Y%m%d>", "10.20190304", "10.20190304.0"),
        ("10.<date:%Y%m%d>", "10", "10.20190304.0"),
        ("10.<date: >", "10.20001010", "10. .0"),
        ("10.<date:>", "10.20001010", "10..0"),
        ("10.<wrongtag: >", "10.20001010", "10.<wrongtag: >"),
    ],
)
def test_date_tags_as_rpm_ostree_tests_them(prefix: str, last: str, expected: str) -> None:
    assert version(prefix, last) == expected


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("%Y%m%d", "20190304"),
        ("%H%M%S", "050607"),
        ("%j", "063"),
        ("%y", "19"),
        ("%b", "Mar"),
        ("%F", "2019-03-04"),
        ("%-d", "4"),
        ("%V", "10"),
        ("%%", "%"),
    ],
)
def test_glib_date_codes(fmt: str, text: str) -> None:
    assert version(f"v<date:{fmt}>", None) == f"v{text}.0"


def test_the_date_is_in_utc() -> None:
    late = GLib.DateTime.new(GLib.TimeZone.new_offset(-5 * 3600), 2019, 3, 4, 23, 0, 0)
    assert version("<date:%Y%m%d.%H>", None, now=late) == "20190305.04.0"


# --- metadata ---


def test_json_values_become_variants_as_json_glib_makes_them() -> None:
    value = json_variant(
        {"s": "x", "b": True, "i": 1000, "d": 1.5, "a": ["a", 1], "o": {"n": "t"}, "z": None}
    )
    assert value.get_type_string() == "a{sv}"
    assert value.print_(True) == (
        "{'a': <[<'a'>, <int64 1>]>, 'b': <true>, 'd': <1.5>, 'i': <int64 1000>, "
        "'o': <{'n': <'t'>}>, 's': <'x'>, 'z': <@mv nothing>}"
    )


def test_commit_metadata_has_the_treefiles_and_fedostrees_keys_win() -> None:
    tf = Treefile(
        path=Path("t.yaml"),
        add_commit_metadata={"fedora-coreos.stream": "testing-devel", "version": "mine", "n": 3},
        container_cmd=("/usr/bin/bash",),
    )
    md = commit_metadata(tf, [], version="40.1", inputhash="abc", kernel=None)
    assert md["fedora-coreos.stream"].unpack() == "testing-devel"
    assert md["n"].get_type_string() == "x"
    assert md["version"].unpack() == "40.1"
    assert md["ostree.container-cmd"].unpack() == ["/usr/bin/bash"]
    assert md["rpmostree.inputhash"].unpack() == "abc"


def test_add_commit_metadata_is_part_of_the_input_hash() -> None:
    a = Treefile(path=Path("t.yaml"), add_commit_metadata={"k": "a"})
    b = Treefile(path=Path("t.yaml"), add_commit_metadata={"k": "b"})
    assert a.flattened() != b.flattened()
    assert Treefile(path=Path("t.yaml")).flattened() == {}


def test_composed_commit_carries_the_treefiles_metadata_and_version(
    tmp_path: Path, base_repo: Path
) -> None:
    tree = write_treefile(
        tmp_path / "config",
        base_repo.as_uri(),
        """\
        ref: test/x86_64/meta
        repos: [test-repo]
        packages: ["@core"]
        variables: {stream: next}
        automatic-version-prefix: "20"
        automatic-version-suffix: "-"
        add-commit-metadata: {os.stream: "${stream}", os.build: 7}
        """,
    )
    assert compose(tree, tmp_path).exit_code == 0
    r = compose(tree, tmp_path, "--force-nocache")
    assert r.exit_code == 0, r.stderr
    assert "committed 20-1 " in r.stdout
    repo = tmp_path / "repo"
    show = "--print-metadata-key={}"
    assert ostree(repo, "show", show.format("os.stream"), "test/x86_64/meta").strip() == "'next'"
    # an integer in native byte order, as rpm-ostree writes it (`ostree show` prints
    # every value byteswapped on a little-endian machine, so it is read with libostree)
    metadata = ot.commit_metadata(
        ot.open_repo(repo), ot.resolve_rev(ot.open_repo(repo), "test/x86_64/meta") or ""
    )
    assert metadata["os.build"] == 7
    assert ostree(repo, "show", show.format("version"), "test/x86_64/meta").strip() == "'20-1'"
