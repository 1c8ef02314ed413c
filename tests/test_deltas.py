"""Static deltas after publishing (server/deltas.py, `fedostree compose deltas`): the
compose publishes the ref and the summary first; the delta from the previous commit
comes afterwards and the summary is regenerated to list it. A generation killed midway
leaves nothing listed, and the next run finishes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import compose, error_message, fsck, ostree, run
from tests.support.rpms import write_treefile

REF = "test/x86_64/base"
TREE = f"""\
ref: {REF}
repos: [test-repo]
packages: ["@core"]
automatic-version-prefix: "20"
"""


@pytest.fixture
def published(tmp_path: Path, base_repo: Path) -> tuple[Path, str, str]:
    """Two published commits of the ref, the second from the first, without deltas."""
    treefile = write_treefile(tmp_path / "config", base_repo.as_uri(), TREE)
    commits = []
    for extra in ((), ("--force-nocache",)):
        r = compose(treefile, tmp_path, "--no-deltas", *extra)
        assert r.exit_code == 0, r.stderr
        commits.append(ostree(tmp_path / "repo", "rev-parse", REF).strip())
    return tmp_path / "repo", commits[0], commits[1]


def deltas(repo: Path) -> str:
    return ostree(repo, "static-delta", "list")


def summary_view(repo: Path) -> str:
    return ostree(repo, "summary", "--view")


def compose_deltas(repo: Path) -> str:
    r = run("compose", "deltas", "--repo", repo)
    assert r.exit_code == 0, r.stderr
    return r.stdout.strip()


def test_deltas_come_after_publishing(published: tuple[Path, str, str]) -> None:
    repo, v1, v2 = published
    assert f"{v1}-{v2}" not in deltas(repo)
    assert REF in summary_view(repo)  # published, clients fetch objects meanwhile
    assert compose_deltas(repo) == "1 static deltas generated"
    assert f"{v1}-{v2}" in deltas(repo)
    assert f"{v1}-{v2}" in summary_view(repo)
    assert compose_deltas(repo) == "0 static deltas generated"
    fsck(repo)


def test_compose_generates_them_once_the_trees_are_out(
    published: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _v1, v2 = published
    r = compose(tmp_path / "config/treefile.yaml", tmp_path, "--force-nocache")
    assert r.exit_code == 0, r.stderr
    v3 = ostree(repo, "rev-parse", REF).strip()
    listed = summary_view(repo)
    assert f"{v2}-{v3}" in listed
    assert f"{_v1}-{v2}" in listed  # the older one too, which nothing had generated
    assert f"{v2}-{v3}" in deltas(repo)


def test_a_killed_generation_is_never_listed_and_is_finished_next_time(
    published: tuple[Path, str, str],
) -> None:
    repo, v1, v2 = published
    ostree(repo, "static-delta", "generate", f"--from={v1}", f"--to={v2}")
    # killed after its parts, before its superblock (libostree writes that last)
    (superblock,) = (repo / "deltas").glob("*/*/superblock")
    superblock.unlink()
    assert f"{v1}-{v2}" not in deltas(repo)
    ostree(repo, "summary", "-u")
    assert f"{v1}-{v2}" not in summary_view(repo)
    assert compose_deltas(repo) == "1 static deltas generated"
    assert f"{v1}-{v2}" in summary_view(repo)
    assert all((d / "superblock").is_file() for d in (repo / "deltas").glob("*/*"))
    fsck(repo)


def test_a_delta_missing_from_the_summary_is_added(published: tuple[Path, str, str]) -> None:
    """Killed after the delta, before the summary was regenerated."""
    repo, v1, v2 = published
    ostree(repo, "static-delta", "generate", f"--from={v1}", f"--to={v2}")
    assert f"{v1}-{v2}" not in summary_view(repo)
    assert compose_deltas(repo) == "0 static deltas generated"
    assert f"{v1}-{v2}" in summary_view(repo)


def test_compose_deltas_refuses_what_is_not_a_repository(tmp_path: Path) -> None:
    r = run("compose", "deltas", "--repo", tmp_path / "nowhere")
    assert error_message(r, 2) == f"--repo {tmp_path / 'nowhere'}: not an OSTree repository"
