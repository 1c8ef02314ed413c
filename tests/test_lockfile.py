"""rpm-ostree's lockfiles: the model (JSON and YAML, merged in order, written in
rpm-ostree's shape, Fedora CoreOS's real files), and pinning a resolution with them
against small real repositories."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import solv

from fedostree.engine.pinning import lockfile_for
from fedostree.engine.resolve import Request, resolve
from fedostree.errors import ConfigError, FedostreeError, ResolveError
from fedostree.model.lockfile import (
    LockedPackage,
    Lockfile,
    load_lockfiles,
    read_lockfile,
    write_lockfile,
)
from tests.support.data import DATA
from tests.support.resolve_repos import build_resolve_repos, local_metadata, pool_of

FCOS = DATA / "treefiles/upstream/fedora-coreos-config"


def write(path: Path, content: object) -> Path:
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(textwrap.dedent(text))
    return path


# --- the model -----------------------------------------------------------------------------


def test_fedora_coreos_lockfile_and_overrides(tmp_path: Path) -> None:
    lock = load_lockfiles(
        [FCOS / "manifest-lock.x86_64.json", FCOS / "manifest-lock.overrides.yaml"]
    )
    assert lock is not None
    nm = lock.packages["NetworkManager"]
    assert (nm.evr, nm.arch, nm.digest) == ("1:1.46.2-1.fc40", "x86_64", None)
    assert nm.metadata == {"sourcerpm": "NetworkManager"}
    assert nm.source == FCOS / "manifest-lock.x86_64.json"
    ignition = lock.packages["ignition"]  # only in the overrides, by EVR
    assert (ignition.evr, ignition.arch) == ("2.20.0-1.fc40", None)
    assert ignition.metadata["type"] == "fast-track"
    assert ignition.source == FCOS / "manifest-lock.overrides.yaml"
    assert lock.packages["podman"].evra == "5:5.2.5-1.fc40"  # the override replaced the pin
    assert lock.generated == "2024-10-23T00:00:00Z"
    assert lock.rpmmd_repos["fedora-coreos-pool"] == "2024-10-23T19:10:40Z"
    # Written back in rpm-ostree's shape, it reads the same.
    write_lockfile(tmp_path / "lock.json", lock)
    again = read_lockfile(tmp_path / "lock.json")
    assert again.packages.keys() == lock.packages.keys()
    assert again.packages["podman"] == LockedPackage(
        "podman", "5:5.2.5-1.fc40", None, None, ignition_like(lock), tmp_path / "lock.json"
    )


def ignition_like(lock: Lockfile) -> dict[str, object]:
    return dict(lock.packages["podman"].metadata)


def test_later_lockfiles_override_earlier_ones(tmp_path: Path) -> None:
    base = write(tmp_path / "base.json", {"packages": {
        "a": {"evra": "1-1.x86_64", "digest": "sha256:aa"},
        "b": {"evra": "1-1.noarch"},
    }})  # fmt: skip
    overrides = write(
        tmp_path / "overrides.yaml",
        """\
        packages:
          a:
            evr: 2-1
            metadata:
              reason: https://example.com/1
        """,
    )
    lock = load_lockfiles([base, overrides])
    assert lock is not None
    assert lock.packages["a"] == LockedPackage(
        "a", "2-1", None, None, {"reason": "https://example.com/1"}, overrides
    )
    assert lock.packages["b"].evra == "1-1.noarch"
    assert lock.sources == (base, overrides)
    assert load_lockfiles([]) is None


def test_written_shape_is_rpm_ostrees(tmp_path: Path) -> None:
    lock = Lockfile(
        {
            "b": LockedPackage("b", "1:2-3", "x86_64", "sha256:beef", {"sourcerpm": "bsrc"}),
            "a": LockedPackage("a", "1-1", "noarch", "sha256:cafe"),
        },
        "2026-01-02T00:00:00Z",
        {"fedora": "2025-12-31T23:59:59Z"},
    )
    path = tmp_path / "lock.json"
    write_lockfile(path, lock)
    assert path.read_text() == textwrap.dedent("""\
        {
          "packages": {
            "a": {
              "evra": "1-1.noarch",
              "digest": "sha256:cafe"
            },
            "b": {
              "evra": "1:2-3.x86_64",
              "digest": "sha256:beef",
              "metadata": {
                "sourcerpm": "bsrc"
              }
            }
          },
          "metadata": {
            "generated": "2026-01-02T00:00:00Z",
            "rpmmd_repos": {
              "fedora": {
                "generated": "2025-12-31T23:59:59Z"
              }
            }
          }
        }
        """)
    assert [p.name for p in tmp_path.iterdir()] == ["lock.json"]


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("l.json", "not json", "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        ("l.yaml", "packages: [", "not valid YAML: while parsing a flow node"),
        ("l.json", "[]", "expected a mapping at the top level, got list"),
        ("l.json", {}, "packages: missing"),
        ("l.json", {"packages": {}, "pkgs": 1}, "unknown key 'pkgs' (expected packages, metadata)"),
        ("l.json", {"packages": []}, "packages: expected a mapping, got list"),
        (
            "l.json",
            {"packages": {"foo": "1-1.x86_64"}},
            "packages.foo: expected a mapping, got str",
        ),
        ("l.json", {"packages": {"foo": {}}}, "packages.foo: expected exactly one of evra, evr"),
        (
            "l.json",
            {"packages": {"foo": {"evr": "1-1", "evra": "1-1.x86_64"}}},
            "packages.foo: expected exactly one of evra, evr",
        ),
        (
            "l.json",
            {"packages": {"foo": {"evra": "1-1", "version": 1}}},
            "packages.foo: unknown key 'version' (expected evra, evr, digest, metadata)",
        ),
        (
            "l.json",
            {"packages": {"foo": {"evra": "1.0-1"}}},
            "packages.foo.evra: '1.0-1' is not [EPOCH:]VERSION-RELEASE.ARCH",
        ),
        (
            "l.json",
            {"packages": {"foo": {"evr": "1.0"}}},
            "packages.foo.evr: '1.0' is not [EPOCH:]VERSION-RELEASE",
        ),
        (
            "l.json",
            {"packages": {"foo": {"evra": 1}}},
            "packages.foo.evra: expected a string, got int",
        ),
        (
            "l.json",
            {"packages": {"foo": {"evr": "1-1", "digest": "beef"}}},
            "packages.foo.digest: 'beef' is not ALGORITHM:HEX (sha256:...)",
        ),
        (
            "l.json",
            {"packages": {}, "metadata": {"generated": "yesterday"}},
            "metadata.generated: 'yesterday' is not an RFC 3339 time",
        ),
        (
            "l.json",
            {"packages": {}, "metadata": {"rpmmd_repos": {"fedora": {}}}},
            "metadata.rpmmd_repos.fedora.generated: missing",
        ),
        ("l.lock", {"packages": {}}, "unknown lockfile format (expected .json, .yaml or .yml)"),
    ],
)
def test_invalid_lockfiles_name_the_file_and_key(
    tmp_path: Path, name: str, content: object, error: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(ConfigError) as info:
        read_lockfile(path)
    assert str(info.value).startswith(f"{path}: {error}")
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_missing_lockfile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.json: no such file$"):
        read_lockfile(tmp_path / "nope.json")


# --- pinning a resolution ------------------------------------------------------------------


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_resolve_repos(tmp_path_factory.mktemp("locks"))


@pytest.fixture(scope="module")
def pool(repos: dict[str, Path]) -> solv.Pool:
    """main and updates, and `locked` as a lockfile-repos repository."""
    return pool_of(repos, ["main", "updates", "locked"], lockfile_only=["locked"])


def lock_of(path: Path, packages: dict[str, dict[str, str]]) -> Lockfile:
    write(path, {"packages": packages})
    return read_lockfile(path)


def installed(
    pool: solv.Pool, lock: Lockfile | None, *specs: str, strict: bool = False
) -> dict[str, str]:
    packages = resolve(pool, Request(packages=specs, lock=lock, strict=strict))
    return {p.name: p.evra for p in packages}


def digest_of(pool: solv.Pool, nevra: str) -> str:
    (s,) = [s for s in pool.solvables_iter() if str(s) == nevra]
    return f"sha256:{s.lookup_checksum(solv.SOLVABLE_CHECKSUM).hex()}"


def test_a_lockfile_pins_versions(pool: solv.Pool, tmp_path: Path) -> None:
    assert installed(pool, None, "foo", "usestool") == {
        "foo": "2.0-1.x86_64", "usestool": "1.0-1.x86_64", "tool": "2.0-1.x86_64",
    }  # fmt: skip
    lock = lock_of(tmp_path / "lock.json", {
        "foo": {"evra": "1.0-1.x86_64", "digest": digest_of(pool, "foo-1.0-1.x86_64")},
        "tool": {"evr": "1.0-1"},
        "app": {"evra": "1.0-1.x86_64"},  # locked, not asked for: not installed
    })  # fmt: skip
    assert installed(pool, lock, "foo", "usestool") == {
        "foo": "1.0-1.x86_64", "usestool": "1.0-1.x86_64", "tool": "1.0-1.x86_64",
    }  # fmt: skip


def test_overrides_replace_the_base_lockfile(pool: solv.Pool, tmp_path: Path) -> None:
    base = write(tmp_path / "lock.json", {"packages": {"foo": {"evra": "1.0-1.x86_64"}}})
    overrides = write(tmp_path / "overrides.yaml", "packages:\n  foo:\n    evr: 1.0-2\n")
    assert installed(pool, load_lockfiles([base]), "foo") == {"foo": "1.0-1.x86_64"}
    assert installed(pool, load_lockfiles([base, overrides]), "foo") == {"foo": "1.0-2.x86_64"}


def test_a_digest_mismatch_is_refused(pool: solv.Pool, tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    lock = lock_of(path, {"foo": {"evra": "1.0-1.x86_64", "digest": "sha256:" + "0" * 64}})
    with pytest.raises(FedostreeError) as info:
        installed(pool, lock, "foo")
    actual = digest_of(pool, "foo-1.0-1.x86_64")
    assert str(info.value) == (
        f"{path}: packages.foo: foo-1.0-1.x86_64 in repository 'main' has digest {actual}, "
        f"the lockfile says sha256:{'0' * 64}"
    )
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        (
            {"gone": {"evra": "1-1.x86_64"}, "foo": {"evra": "1.0-1.x86_64"}},
            "packages.gone: no repository has a package named gone",
        ),
        (
            {"foo": {"evra": "9.9-1.x86_64"}, "tool": {"evr": "0:9-1"}},
            "packages.foo: 9.9-1.x86_64 is in no repository; they have foo-1.0-1.x86_64 (main), "
            "foo-1.0-2.x86_64 (main), foo-2.0-1.x86_64 (main) (and 1 more lockfile entry)",
        ),
    ],
)
def test_a_lock_entry_no_repository_has(
    pool: solv.Pool, tmp_path: Path, entries: dict[str, dict[str, str]], error: str
) -> None:
    """Even for a package the treefile does not ask for (rpm-ostree only warns)."""
    path = tmp_path / "lock.json"
    with pytest.raises(ConfigError) as info:
        installed(pool, lock_of(path, entries), "app")
    assert str(info.value) == f"{path}: {error}"
    assert info.value.exit_code == 2


def test_a_spec_the_lockfile_contradicts(pool: solv.Pool, tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    lock = lock_of(path, {"foo": {"evra": "1.0-1.x86_64"}})
    with pytest.raises(ConfigError) as info:
        resolve(pool, Request(packages=("foo >= 2",), lock=lock, where="tf.yaml"))
    assert str(info.value) == f"tf.yaml: packages: 'foo >= 2': {path} locks foo to 1.0-1.x86_64"


def test_a_dependency_the_lockfile_rules_out(pool: solv.Pool, tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    lock = lock_of(path, {"tool": {"evr": "1.0-1"}})
    with pytest.raises(ResolveError) as info:
        installed(pool, lock, "needsnewtool")
    assert str(info.value) == (
        "cannot resolve the package set (1 problem): needsnewtool-1.0-1.x86_64 requires "
        f"tool >= 2, provided only by tool-2.0-1.x86_64 ({path} locks tool to 1.0-1)"
    )


def test_lockfile_repos_give_only_locked_packages(pool: solv.Pool, tmp_path: Path) -> None:
    assert installed(pool, Lockfile({}), "tool") == {"tool": "2.0-1.x86_64"}
    lock = lock_of(tmp_path / "lock.json", {"tool": {"evra": "3.0-1.x86_64"}})
    packages = resolve(pool, Request(packages=("usestool",), lock=lock))
    assert {p.name: (p.evra, p.repo_id) for p in packages} == {
        "usestool": ("1.0-1.x86_64", "main"), "tool": ("3.0-1.x86_64", "locked"),
    }  # fmt: skip
    with pytest.raises(ResolveError) as info:
        installed(pool, lock, "lockedonly")
    assert str(info.value) == (
        "packages: 'lockedonly' not found: not locked, and locked is in lockfile-repos"
    )
    assert info.value.exit_code == 1


def test_strict_mode_allows_only_locked_packages(pool: solv.Pool, tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    lock = lock_of(path, {"foo": {"evra": "1.0-2.x86_64"}, "usestool": {"evr": "1.0-1"}})
    assert installed(pool, lock, "foo", strict=True) == {"foo": "1.0-2.x86_64"}
    with pytest.raises(ResolveError) as info:
        installed(pool, lock, "foo", "app", strict=True)
    assert str(info.value) == f"packages: 'app' not found: not in {path} (--lockfile-strict)"
    with pytest.raises(ResolveError) as info:
        installed(pool, lock, "usestool", strict=True)
    assert str(info.value) == (
        "cannot resolve the package set (1 problem): usestool-1.0-1.x86_64 requires tool, "
        f"provided only by tool-1.0-1.x86_64 (not in {path} (--lockfile-strict))"
    )


def test_the_written_lockfile_pins_the_same_set(
    pool: solv.Pool, repos: dict[str, Path], tmp_path: Path
) -> None:
    packages = resolve(pool, Request(packages=("foo-1.0", "usestool", "app")))
    metas = [local_metadata(name, repos[name]) for name in ("main", "updates")]
    lock = lockfile_for(packages, metas)
    path = tmp_path / "lock.json"
    write_lockfile(path, lock)
    data = json.loads(path.read_text())
    assert list(data) == ["packages", "metadata"]
    assert data["packages"]["foo"] == {
        "evra": "1.0-2.x86_64",
        "digest": digest_of(pool, "foo-1.0-2.x86_64"),
        "metadata": {"sourcerpm": "foo"},
    }
    assert data["metadata"]["generated"].endswith("T00:00:00Z")
    assert set(data["metadata"]["rpmmd_repos"]) == {"main", "updates"}
    assert data["metadata"]["rpmmd_repos"]["main"]["generated"].endswith("Z")
    again = resolve(pool, Request(packages=("foo", "usestool", "app"), lock=read_lockfile(path)))
    assert again == packages
