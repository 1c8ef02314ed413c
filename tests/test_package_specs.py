"""The treefile's package keys resolved against small real repositories (rpmbuild +
createrepo_c): every dnf spec form, path provides, `repo-packages`, `recommends` and
`exclude-packages` with rpm-ostree's semantics."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import solv

from fedostree.engine.depsolve import load_comps
from fedostree.engine.resolve import Request, check_treefile_request, request_for, resolve
from fedostree.errors import ConfigError, ResolveError
from fedostree.model.package_spec import check_package_names, check_package_specs, spec_problem
from fedostree.model.treefile import RepoPackages, Treefile
from fedostree.model.treefile_load import load_treefile
from tests.support.data import DATA
from tests.support.resolve_repos import build_resolve_repos, local_metadata, pool_of

TREEFILE = Path("/config/treefile.yaml")


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_resolve_repos(tmp_path_factory.mktemp("specs"))


@pytest.fixture(scope="module")
def pool(repos: dict[str, Path]) -> solv.Pool:
    return pool_of(repos, ["main", "updates"])


def installed(pool: solv.Pool, *specs: str, **request: object) -> dict[str, str]:
    """name -> EVRA of what resolving specs installs."""
    packages = resolve(pool, Request(packages=specs, where=str(TREEFILE), **request))  # type: ignore[arg-type]
    return {p.name: p.evra for p in packages}


# --- every form dnf takes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "name", "evra"),
    [
        ("foo", "foo", "2.0-1.x86_64"),
        ("foo-1.0", "foo", "1.0-2.x86_64"),  # name-version: the newest release
        ("foo-1.0-1", "foo", "1.0-1.x86_64"),
        ("foo-1.0-1.x86_64", "foo", "1.0-1.x86_64"),  # full NEVRA
        ("foo-0:1.0-1.x86_64", "foo", "1.0-1.x86_64"),  # zero epoch spelled out
        ("foo.x86_64", "foo", "2.0-1.x86_64"),
        ("multi.noarch", "multi", "1.0-1.noarch"),
        ("multi.x86_64", "multi", "1.0-1.x86_64"),
        ("ep-2:1.0-1", "ep", "2:1.0-1.x86_64"),
        ("ep-1.0-1", "ep", "2:1.0-1.x86_64"),  # no epoch given: any epoch, as dnf
        ("ep-2:1.0-1.x86_64", "ep", "2:1.0-1.x86_64"),
        ("ep = 2:1.0-1", "ep", "2:1.0-1.x86_64"),
        ("foo >= 2", "foo", "2.0-1.x86_64"),
        ("foo>=2", "foo", "2.0-1.x86_64"),
        ("foo < 2", "foo", "1.0-2.x86_64"),
        ("foo <= 1.0-1", "foo", "1.0-1.x86_64"),
        ("foo = 1.0-1", "foo", "1.0-1.x86_64"),
        ("foo == 1.0-1", "foo", "1.0-1.x86_64"),
        ("foo > 1.0-1", "foo", "2.0-1.x86_64"),
        ("fo?", "foo", "2.0-1.x86_64"),
        ("libfoo.so.1()(64bit)", "libfoo", "1.0-1.x86_64"),  # a provide
        ("/usr/bin/thing", "hasfile", "1.0-1.x86_64"),  # primary.xml's file list
        ("/opt/data/table", "hasfile", "1.0-1.x86_64"),  # only filelists.xml has it
        ("/bin/sh", "shprov", "1.0-1.x86_64"),  # an explicit Provides, in no file list
    ],
)
def test_spec_forms(pool: solv.Pool, spec: str, name: str, evra: str) -> None:
    assert spec_problem(spec) is None
    assert installed(pool, spec) == {name: evra}


def test_a_name_glob_installs_every_matching_name(pool: solv.Pool) -> None:
    assert set(installed(pool, "kernel-*")) == {"kernel-core", "kernel-modules"}
    assert set(installed(pool, "kernel*")) == {"kernel", "kernel-core", "kernel-modules"}


def test_a_path_in_one_file_list_and_another_provides_installs_one(pool: solv.Pool) -> None:
    got = installed(pool, "/usr/libexec/both")
    assert len(got) == 1 and set(got) <= {"pathfile", "pathprov"}


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["foo >= 99"], "packages: 'foo >= 99' not found in any repository"),
        (["ep = 1.0-1"], "packages: 'ep = 1.0-1' not found in any repository"),  # epoch 0
        (["multi.i686"], "packages: 'multi.i686' not found in any repository"),
        (
            ["foo", "nosuch", "/usr/bin/nosuch", "kernel-nosuch*"],
            "packages: 'nosuch', '/usr/bin/nosuch', 'kernel-nosuch*' not found in any repository",
        ),
    ],
)
def test_unmatched_specs_are_not_found(pool: solv.Pool, specs: list[str], message: str) -> None:
    with pytest.raises(ResolveError) as info:
        installed(pool, *specs)
    assert str(info.value) == message
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("foo >=", "expected NAME OP VERSION, OP one of <, <=, =, ==, >=, >"),
        (">= 1", "expected NAME OP VERSION, OP one of <, <=, =, ==, >=, >"),
        ("foo >= 1 2", "expected NAME OP VERSION, OP one of <, <=, =, ==, >=, >"),
        ("foo => 1", "unknown operator '=>' (expected one of <, <=, =, ==, >=, >)"),
        ("foo != 1", "unknown operator '!=' (expected one of <, <=, =, ==, >=, >)"),
        (
            "foo bar",
            "expected one of NAME, NAME.ARCH, NAME-[EPOCH:]VERSION[-RELEASE][.ARCH], "
            "/PATH, @GROUP or 'NAME OP VERSION'",
        ),
        ("@", "expected @GROUP-ID"),
    ],
)
def test_malformed_specs_are_refused_before_fetching(spec: str, problem: str) -> None:
    assert spec_problem(spec) == problem
    tf = Treefile(TREEFILE, repos=("main",), packages=("foo", spec))
    with pytest.raises(ConfigError) as info:
        check_treefile_request(tf, None)
    assert str(info.value) == f"{TREEFILE}: packages: '{spec}': {problem}"
    assert info.value.exit_code == 2


def test_the_real_treefiles_specs_are_all_specs() -> None:
    """Every package key of the historical and upstream treefiles in data/ (Fedora CoreOS,
    Silverblue and its siblings, fedora-atomic) passes the checks made before fetching."""
    checked = 0
    for path in sorted((DATA / "treefiles").rglob("*.[jy]*")):
        if "lock" in path.name or "products" in path.name:
            continue
        try:
            tf = load_treefile(path)
        except ConfigError:
            continue  # a fragment that is not a whole treefile, or a key it refuses
        check_package_specs(tf.packages, str(path))
        check_package_names(tf.exclude_packages, str(path))
        for rp in tf.repo_packages:
            check_package_specs(rp.packages, str(path))
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("name", ["python3 >= 3", "python*", "/usr/bin/python3", "@core"])
def test_exclude_packages_takes_names(name: str) -> None:
    tf = Treefile(TREEFILE, repos=("main",), packages=("foo",), exclude_packages=("a", name))
    with pytest.raises(ConfigError) as info:
        check_treefile_request(tf, None)
    assert str(info.value) == f"{TREEFILE}: exclude-packages: '{name}': expected a package name"


# --- repo-packages -------------------------------------------------------------------------


def test_repo_packages_pins_a_package_to_its_repository(pool: solv.Pool) -> None:
    assert installed(pool, "usestool") == {"usestool": "1.0-1.x86_64", "tool": "2.0-1.x86_64"}
    pinned = (RepoPackages("main", ("tool",)),)
    got = installed(pool, "usestool", repo_packages=pinned)
    assert got == {"usestool": "1.0-1.x86_64", "tool": "1.0-1.x86_64"}
    packages = resolve(pool, Request(packages=("usestool",), repo_packages=pinned))
    assert {p.name: p.repo_id for p in packages} == {"usestool": "main", "tool": "main"}


def test_repo_packages_alone(pool: solv.Pool) -> None:
    got = installed(pool, repo_packages=(RepoPackages("updates", ("tool", "onlyupdates")),))
    assert got == {"tool": "2.0-1.x86_64", "onlyupdates": "1.0-1.x86_64"}


def test_repo_packages_spec_the_repository_does_not_have(pool: solv.Pool) -> None:
    with pytest.raises(ResolveError) as info:
        installed(pool, repo_packages=(RepoPackages("main", ("onlyupdates",)),))
    assert str(info.value) == (
        "repo-packages[0].packages: 'onlyupdates' not found in repository 'main' (it is in updates)"
    )


def test_repo_packages_repository_must_be_the_treefiles() -> None:
    tf = Treefile(
        TREEFILE,
        repos=("main", "updates"),
        packages=("foo",),
        repo_packages=(RepoPackages("updates", ("tool",)), RepoPackages("nosuch", ("foo",))),
    )
    with pytest.raises(ConfigError) as info:
        check_treefile_request(tf, None)
    assert str(info.value) == (
        f"{TREEFILE}: repo-packages[1].repo: 'nosuch' is not one of the treefile's repos "
        "(main, updates)"
    )
    assert info.value.exit_code == 2


# --- recommends and exclude-packages ----------------------------------------------------


def test_recommends_and_supplements_are_installed_by_default(pool: solv.Pool) -> None:
    assert set(installed(pool, "app")) == {"app", "extra", "app-langpack"}


def test_recommends_false_installs_no_weak_dependencies(pool: solv.Pool) -> None:
    assert set(installed(pool, "app", recommends=False)) == {"app"}
    assert set(installed(pool, "needy", recommends=False)) == {"needy", "extra"}


def test_an_excluded_recommended_package_is_omitted(pool: solv.Pool) -> None:
    assert set(installed(pool, "app", exclude=("extra",))) == {"app", "app-langpack"}


def test_a_hard_dependency_on_an_excluded_package_is_fatal(pool: solv.Pool) -> None:
    with pytest.raises(ResolveError) as info:
        installed(pool, "needy", exclude=("extra",))
    assert str(info.value) == (
        "cannot resolve the package set (1 problem): needy-1.0-1.x86_64 requires extra, "
        "provided only by extra-1.0-1.x86_64 (exclude-packages)"
    )
    assert info.value.problems == ["nothing provides extra needed by needy-1.0-1.x86_64"]
    assert info.value.exit_code == 1


def test_a_package_both_listed_and_excluded_is_fatal(pool: solv.Pool) -> None:
    tf = Treefile(TREEFILE, repos=("main",), packages=("app", "extra"), exclude_packages=("extra",))
    with pytest.raises(ConfigError) as info:
        check_treefile_request(tf, None)
    assert str(info.value) == f"{TREEFILE}: packages: 'extra' is also in exclude-packages"
    assert info.value.exit_code == 2
    # A spec only excluded packages match, found when resolving.
    with pytest.raises(ConfigError) as info:
        installed(pool, "/bin/sh", exclude=("shprov",))
    assert str(info.value) == (
        f"{TREEFILE}: packages: '/bin/sh' is excluded by exclude-packages (shprov)"
    )


def test_exclusions_do_not_stick_to_the_pool(pool: solv.Pool) -> None:
    with pytest.raises(ResolveError):
        installed(pool, "needy", exclude=("extra",))
    assert set(installed(pool, "needy")) == {"needy", "extra"}


# --- groups --------------------------------------------------------------------------------


def test_group_members_missing_or_excluded_are_skipped(
    repos: dict[str, Path], pool: solv.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    comps = load_comps([local_metadata("main", repos["main"])])
    tf = Treefile(TREEFILE, repos=("main",), packages=("@tools",), exclude_packages=("extra",))
    request = request_for(tf, comps)
    assert request.groups == {"tools": ("foo", "extra", "nosuch")}
    with caplog.at_level(logging.WARNING):
        packages = resolve(pool, request)
    assert [p.name for p in packages] == ["foo"]
    assert [r.getMessage() for r in caplog.records] == [
        "@tools: nosuch skipped: no package matches it"
    ]
