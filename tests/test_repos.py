"""Repositories as rpm-ostree and dnf read them: `.repo` files (only the named sections,
baseurl lists, metalink, mirrorlist, variables, enabled=), and fetching metadata and
packages through librepo's mirror handling, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from fedostree.engine import depsolve
from fedostree.engine.download import download_packages
from fedostree.engine.repofile import RepoConfig, load_repo_configs, repo_variables, substitute
from fedostree.engine.repomd import RepoMetadata, fetch_metadata, fetch_revision
from fedostree.engine.resolve import Request, resolve
from fedostree.errors import ConfigError, FedostreeError
from tests.support.cli import compose, error_message, ostree, rpmdb_names
from tests.support.data import DATA
from tests.support.rpms import base_packages, make_repo, sha256_file

UPSTREAM = DATA / "treefiles/upstream"
METALINK = Path(__file__).resolve().parent / "data/metalink.xml"
DEAD = "http://127.0.0.1:9/repo"  # nothing listens on the discard port: refused at once
VARIABLES = {"basearch": "x86_64", "releasever": "40"}

Serve = Callable[[Path], str]


def write_repo_file(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load(
    directory: Path,
    repos: list[str],
    lockfile_repos: tuple[str, ...] = (),
    variables: dict[str, str] = VARIABLES,
) -> list[RepoConfig]:
    return load_repo_configs(repos, lockfile_repos, [directory], variables, "treefile.yaml")


def config_error(directory: Path, repos: list[str], **kwargs: object) -> str:
    with pytest.raises(ConfigError) as e:
        load(directory, repos, **kwargs)  # type: ignore[arg-type]
    message = str(e.value)
    assert "\n" not in message
    return message


# --- reading .repo files ---


def test_only_the_named_sections_are_read(tmp_path: Path) -> None:
    write_repo_file(
        tmp_path,
        "fedora.repo",
        """\
        # a comment
        [fedora]
        name=Fedora $releasever - $basearch
        baseurl=https://dl.example.org/releases/$releasever/Everything/$basearch/os/
                https://dl2.example.org/releases/${releasever}/Everything/${basearch}/os/,
                https://dl3.example.org/releases/$releasever/os/
        #metalink=https://mirrors.example.org/metalink?repo=fedora-$releasever&arch=$basearch
        enabled=1
        gpgcheck=1
        gpgkey=file:///usr/share/keys/RPM-GPG-KEY-fedora-$releasever-primary
        skip_if_unavailable=False

        [fedora-debuginfo]
        name=no URL at all, and an undefined $variable: never named, never validated
        """,
    )
    (config,) = load(tmp_path, ["fedora"])
    assert config.id == "fedora"
    assert config.source == tmp_path / "fedora.repo"
    assert config.baseurls == (
        "https://dl.example.org/releases/40/Everything/x86_64/os/",
        "https://dl2.example.org/releases/40/Everything/x86_64/os/",
        "https://dl3.example.org/releases/40/os/",
    )
    assert (config.metalink, config.mirrorlist) == (None, None)
    assert config.gpgkeys == ("file:///usr/share/keys/RPM-GPG-KEY-fedora-40-primary",)
    assert not config.lockfile_only


def test_a_named_section_without_urls(tmp_path: Path) -> None:
    path = write_repo_file(tmp_path, "fedora.repo", "[fedora]\nname=Fedora\nenabled=1\n")
    message = config_error(tmp_path, ["fedora"])
    assert message == f"{path}: [fedora]: no baseurl, metalink or mirrorlist"


def test_an_undefined_repository_names_the_key_and_the_directories(tmp_path: Path) -> None:
    write_repo_file(tmp_path, "fedora.repo", "[fedora]\nbaseurl=https://example.org/\n")
    message = config_error(tmp_path, ["fedora", "updates"])
    assert (
        message
        == f"treefile.yaml: repos[1]: 'updates' is not defined in any *.repo file in {tmp_path}"
    )


def test_a_repository_defined_twice_is_refused(tmp_path: Path) -> None:
    """dnf warns and keeps one; libdnf (rpm-ostree) keeps whichever readdir lists first.
    Neither says which URLs a tree came from, so a named id defined twice is an error."""
    a = write_repo_file(tmp_path, "a.repo", "[fedora]\nbaseurl=https://a.example.org/\n")
    b = write_repo_file(tmp_path, "b.repo", "[fedora]\nbaseurl=https://b.example.org/\n")
    message = config_error(tmp_path, ["fedora"])
    assert message == f"treefile.yaml: repos[0]: 'fedora' is defined more than once: {a}, {b}"
    b.write_text("[other]\nbaseurl=https://b.example.org/\n[other]\nenabled=0\n")
    assert [c.id for c in load(tmp_path, ["fedora"])] == ["fedora"]  # unnamed: not looked at
    assert "'other' is defined more than once: " in config_error(tmp_path, ["other"])


def test_a_file_that_is_not_ini_names_the_file(tmp_path: Path) -> None:
    path = write_repo_file(tmp_path, "broken.repo", "baseurl=https://example.org/\n")
    assert config_error(tmp_path, ["fedora"]).startswith(f"{path}: not a valid .repo file: ")


def test_enabled_0_does_not_matter(tmp_path: Path) -> None:
    """rpm-ostree disables every repository, then enables those the treefile names."""
    write_repo_file(tmp_path, "x.repo", "[x]\nbaseurl=https://example.org/\nenabled=0\n")
    assert [c.id for c in load(tmp_path, ["x"])] == ["x"]


def test_metalink_and_mirrorlist(tmp_path: Path) -> None:
    write_repo_file(
        tmp_path,
        "mirrors.repo",
        """\
        [by-metalink]
        metalink=https://mirrors.example.org/metalink?repo=fedora-$releasever&arch=$basearch
        [by-mirrorlist]
        mirrorlist=https://mirrors.example.org/mirrorlist?repo=fedora-$releasever
        [mirrorlist-naming-a-metalink]
        mirrorlist=https://mirrors.example.org/metalink?repo=updates-released-f$releasever
        """,
    )
    metalink, mirrorlist, as_libdnf = load(
        tmp_path, ["by-metalink", "by-mirrorlist", "mirrorlist-naming-a-metalink"]
    )
    assert metalink.metalink == "https://mirrors.example.org/metalink?repo=fedora-40&arch=x86_64"
    assert metalink.location == f"metalink {metalink.metalink}"
    assert mirrorlist.mirrorlist == "https://mirrors.example.org/mirrorlist?repo=fedora-40"
    assert mirrorlist.metalink is None
    # libdnf: a mirrorlist= whose URL says "metalink" is read as a metalink
    assert as_libdnf.metalink == "https://mirrors.example.org/metalink?repo=updates-released-f40"
    assert as_libdnf.mirrorlist is None


def test_variables_and_repovars(tmp_path: Path) -> None:
    write_repo_file(
        tmp_path,
        "centos.repo",
        "[baseos]\nbaseurl=https://mirror.stream.centos.org/$stream/BaseOS/$basearch/$contentdir\n",
    )
    repovars = {"stream": "9-stream", "contentdir": "os"}
    variables = repo_variables("x86_64", None, repovars, "treefile.yaml")
    assert variables == {"stream": "9-stream", "contentdir": "os", "basearch": "x86_64"}
    (config,) = load(tmp_path, ["baseos"], variables=variables)
    assert config.baseurls == ("https://mirror.stream.centos.org/9-stream/BaseOS/x86_64/os",)


def test_a_variable_is_its_whole_name() -> None:
    variables = {"releasever": "40"}
    assert substitute("$releasever/${releasever}/x", variables) == "40/40/x"
    assert substitute("$releasever_major/$unknown", variables) == "$releasever_major/$unknown"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("releasever", "not allowed; use the releasever key instead"),
        ("basearch", "not allowed; it is filled in automatically"),
        ("my-var", "not a variable name (letters, digits and '_')"),
    ],
)
def test_repovars_that_rpm_ostree_refuses(name: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        repo_variables("x86_64", "40", {name: "1"}, "treefile.yaml")
    assert str(e.value) == f"treefile.yaml: repovars.{name}: {reason}"


def test_an_undefined_variable_in_a_url_names_the_key(tmp_path: Path) -> None:
    path = write_repo_file(
        tmp_path,
        "r.repo",
        "[a]\nbaseurl=https://example.org/$releasever/\n[b]\nmetalink=https://e.org/?r=$stream\n",
    )
    variables = repo_variables("x86_64", None, {}, "treefile.yaml")
    message = config_error(tmp_path, ["a"], variables=variables)
    assert message == (
        f"{path}: [a]: baseurl: $releasever is not defined (set it in the treefile's releasever)"
    )
    message = config_error(tmp_path, ["b"], variables=variables)
    assert message == f"{path}: [b]: metalink: $stream is not defined (set it in repovars)"


def test_lockfile_repos_come_after_repos_and_are_marked(tmp_path: Path) -> None:
    write_repo_file(
        tmp_path,
        "r.repo",
        "[a]\nbaseurl=https://a.example.org/\n[b]\nbaseurl=https://b.example.org/\n"
        "[pool]\nbaseurl=https://pool.example.org/\n",
    )
    configs = load(tmp_path, ["a", "b"], lockfile_repos=("pool", "b"))
    assert [(c.id, c.lockfile_only) for c in configs] == [
        ("a", False),
        ("b", True),  # as rpm-ostree: lockfile-repos restricts it though repos names it
        ("pool", True),
    ]
    assert RepoMetadata(configs[2], tmp_path, "rev").lockfile_only  # what the resolver reads
    message = config_error(tmp_path, ["a"], lockfile_repos=("missing",))
    assert message.startswith("treefile.yaml: lockfile-repos[0]: 'missing' is not defined")


def test_the_upstream_repo_files(tmp_path: Path) -> None:
    """Fedora CoreOS's baseurl lists and the Workstation configs' mirrorlist= metalinks."""
    fcos = UPSTREAM / "fedora-coreos-config"
    configs = load_repo_configs(
        ["fedora", "fedora-updates"], ["fedora-coreos-pool"], [fcos], VARIABLES, "manifest.yaml"
    )
    assert [c.id for c in configs] == ["fedora", "fedora-updates", "fedora-coreos-pool"]
    assert configs[0].baseurls == (
        "https://dl.fedoraproject.org/pub/fedora/linux/releases/40/Everything/x86_64/os/",
        "https://dl.fedoraproject.org/pub/fedora-secondary/releases/40/Everything/x86_64/os/",
    )
    assert configs[2].lockfile_only
    ws = UPSTREAM / "workstation-ostree-config"
    (f37,) = load_repo_configs(["fedora-37"], [], [ws], VARIABLES, "fedora-silverblue.yaml")
    assert f37.metalink == "https://mirrors.fedoraproject.org/metalink?repo=fedora-37&arch=x86_64"


# --- fetching through mirrors ---


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small-repo")
    return make_repo(root / "repo", base_packages(), root / "work")


def write_metalink(path: Path, repomd: bytes, first: str, second: str) -> str:
    """A MirrorManager-style metalink for repomd (its size and digests) and two mirrors."""
    digests = {t: hashlib.new(t, repomd).hexdigest() for t in ("md5", "sha1", "sha256", "sha512")}
    text = METALINK.read_text().format(
        timestamp=1700000000,
        size=len(repomd),
        first_mirror=first,
        second_mirror=second,
        **digests,
    )
    path.write_text(text)
    return path.name


def serve_stale_metalink(site: tuple[Path, str], small_repo: Path) -> tuple[str, bytes]:
    """/metalink.xml with the checksums of another repomd.xml than the mirror serves."""
    www, url = site
    stale = (small_repo / "repodata/repomd.xml").read_bytes() + b"\n"
    write_metalink(www / "metalink.xml", stale, f"{url}/repo", f"{url}/repo")
    return url, stale


@pytest.fixture
def site(tmp_path: Path, small_repo: Path, http_server: Serve) -> tuple[Path, str]:
    """An HTTP site serving the repository at /repo, with room for metalinks."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "repo").symlink_to(small_repo)
    return www, http_server(www)


def resolve_and_download(config: RepoConfig, cachedir: Path) -> dict[str, Path]:
    meta = fetch_metadata(config, cachedir)
    pool = depsolve.load_pool([meta], "x86_64")
    packages = resolve(pool, Request(packages=("bash",)))
    assert {p.repo for p in packages} == {config}
    return download_packages(packages, cachedir)


def assert_downloaded(paths: dict[str, Path], small_repo: Path) -> None:
    assert sorted(paths) == ["bash-1.0-1.x86_64", "filesystem-1.0-1.x86_64", "setup-1.0-1.x86_64"]
    for nevra, path in paths.items():
        assert sha256_file(path) == sha256_file(small_repo / f"{nevra}.rpm")


def test_a_dead_first_baseurl_falls_back_to_the_next(
    site: tuple[Path, str], small_repo: Path, tmp_path: Path
) -> None:
    _, url = site
    config = RepoConfig("mirrored", tmp_path / "x.repo", baseurls=(DEAD, f"{url}/repo"))
    assert_downloaded(resolve_and_download(config, tmp_path / "cache"), small_repo)


def test_a_mirrorlist(site: tuple[Path, str], small_repo: Path, tmp_path: Path) -> None:
    www, url = site
    (www / "mirrorlist").write_text(f"# the mirrors, best first\n{DEAD}/\n{url}/repo/\n")
    config = RepoConfig("listed", tmp_path / "x.repo", mirrorlist=f"{url}/mirrorlist")
    assert_downloaded(resolve_and_download(config, tmp_path / "cache"), small_repo)


def test_a_metalink(site: tuple[Path, str], small_repo: Path, tmp_path: Path) -> None:
    www, url = site
    repomd = (small_repo / "repodata/repomd.xml").read_bytes()
    name = write_metalink(www / "metalink.xml", repomd, DEAD, f"{url}/repo")
    config = RepoConfig("linked", tmp_path / "x.repo", metalink=f"{url}/{name}")
    assert fetch_revision(config, tmp_path / "cache") == hashlib.sha256(repomd).hexdigest()
    assert_downloaded(resolve_and_download(config, tmp_path / "cache"), small_repo)


def test_a_metalink_whose_checksum_does_not_match(
    site: tuple[Path, str], small_repo: Path, tmp_path: Path
) -> None:
    url, stale = serve_stale_metalink(site, small_repo)
    config = RepoConfig("linked", tmp_path / "x.repo", metalink=f"{url}/metalink.xml")
    with pytest.raises(FedostreeError) as e:
        fetch_metadata(config, tmp_path / "cache")
    message = str(e.value)
    assert message.startswith(
        f"repo 'linked' (metalink {url}/metalink.xml): cannot fetch metadata: "
        f"{url}/repo/repodata/repomd.xml: does not match the metalink's checksum: "
    )
    assert hashlib.sha512(stale).hexdigest() in message  # librepo checks the strongest
    assert not (tmp_path / "cache/repos/linked").exists()


def test_every_mirror_dead(tmp_path: Path, site: tuple[Path, str]) -> None:
    www, url = site
    (www / "mirrorlist").write_text(f"{DEAD}/\n")
    config = RepoConfig("listed", tmp_path / "x.repo", mirrorlist=f"{url}/mirrorlist")
    with pytest.raises(FedostreeError) as e:
        fetch_revision(config, tmp_path / "cache")
    message = str(e.value)
    assert message.startswith(f"repo 'listed' (mirrorlist {url}/mirrorlist): cannot fetch ")
    assert f"{DEAD}/repodata/repomd.xml" in message and "Couldn't connect" in message


# --- composing through a metalink ---

TREE = """\
ref: test/x86_64/mirrored
releasever: "40"
repos: [fedora]
packages: [bash]
"""


def test_compose_through_a_metalink_with_enabled_0(
    site: tuple[Path, str], small_repo: Path, tmp_path: Path
) -> None:
    """The whole compose, packages included, from the mirrors a metalink names; the
    repository is used although its .repo file says enabled=0, as in rpm-ostree."""
    www, url = site
    repomd = (small_repo / "repodata/repomd.xml").read_bytes()
    write_metalink(www / "metalink-fedora-40-x86_64.xml", repomd, DEAD, f"{url}/repo")
    config = tmp_path / "config"
    write_repo_file(
        config,
        "fedora.repo",
        f"""\
        [fedora]
        name=Fedora $releasever - $basearch
        metalink={url}/metalink-fedora-$releasever-$basearch.xml
        enabled=0
        gpgcheck=0
        """,
    )
    (config / "treefile.yaml").write_text(TREE)
    r = compose(config / "treefile.yaml", tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "test/x86_64/mirrored: committed" in r.stdout
    ostree(tmp_path / "repo", "checkout", "test/x86_64/mirrored", str(tmp_path / "co"))
    assert rpmdb_names(tmp_path / "co") == ["bash", "filesystem", "setup"]


def test_compose_with_a_bad_metalink_checksum_exits_1(
    site: tuple[Path, str], small_repo: Path, tmp_path: Path
) -> None:
    url, _ = serve_stale_metalink(site, small_repo)
    config = tmp_path / "config"
    write_repo_file(config, "fedora.repo", f"[fedora]\nmetalink={url}/metalink.xml\n")
    (config / "treefile.yaml").write_text(TREE)
    message = error_message(compose(config / "treefile.yaml", tmp_path), 1)
    assert message.startswith(f"repo 'fedora' (metalink {url}/metalink.xml): cannot fetch ")
    assert not (tmp_path / "repo").exists()


def test_compose_with_a_repo_without_urls_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config"
    path = write_repo_file(config, "fedora.repo", "[fedora]\nname=Fedora\n")
    (config / "treefile.yaml").write_text(TREE)
    message = error_message(compose(config / "treefile.yaml", tmp_path), 2)
    assert message == f"{path}: [fedora]: no baseurl, metalink or mirrorlist"
    assert not (tmp_path / "repo").exists()


def test_compose_with_repovars(small_repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_repo_file(config, "fedora.repo", "[fedora]\nbaseurl=file://$root/${subdir}\n")
    (config / "treefile.yaml").write_text(
        TREE + f"repovars:\n  root: {small_repo.parent}\n  subdir: {small_repo.name}\n"
    )
    r = compose(config / "treefile.yaml", tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "test/x86_64/mirrored: committed" in r.stdout


def test_compose_with_repovars_releasever_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_repo_file(config, "fedora.repo", "[fedora]\nbaseurl=file:///srv/$releasever\n")
    (config / "treefile.yaml").write_text(TREE + "repovars:\n  releasever: '41'\n")
    message = error_message(compose(config / "treefile.yaml", tmp_path), 2)
    assert message == (
        f"{config / 'treefile.yaml'}: repovars.releasever: not allowed (use the releasever key)"
    )
    assert not (tmp_path / "repo").exists()


def test_a_missing_metalink_is_one_error_line(site: tuple[Path, str], tmp_path: Path) -> None:
    """librepo also prints its failures as GLib warnings on fd 2: the user sees one line."""
    _, url = site
    config = tmp_path / "config"
    write_repo_file(config, "fedora.repo", f"[fedora]\nmetalink={url}/missing.xml\n")
    (config / "treefile.yaml").write_text(TREE)
    cmd = [sys.executable, "-m", "fedostree", "compose", "tree", str(config / "treefile.yaml")]
    cmd += ["--repo", str(tmp_path / "repo"), "--cachedir", str(tmp_path / "cache")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"error: repo 'fedora' (metalink {url}/missing.xml): cannot fetch metadata: "
        f"Status code: 404 for {url}/missing.xml (IP: 127.0.0.1)"
    ]


def test_without_repos_every_enabled_repository_beside_the_treefile_is_used(
    small_repo: Path, tmp_path: Path
) -> None:
    """rpm-ostree's treefile.md: "If missing, all yum repos enabled by default are used"."""
    config = tmp_path / "config"
    write_repo_file(
        config,
        "local.repo",
        f"[local]\nbaseurl={small_repo.as_uri()}\n\n"  # enabled by default, as in dnf
        f"[dead]\nbaseurl={DEAD}\nenabled=0\n",
    )
    (config / "treefile.yaml").write_text(TREE.replace("repos: [fedora]\n", ""))
    r = compose(config / "treefile.yaml", tmp_path)
    assert r.exit_code == 0, r.stderr
    ostree(tmp_path / "repo", "checkout", "test/x86_64/mirrored", str(tmp_path / "co"))
    assert rpmdb_names(tmp_path / "co") == ["bash", "filesystem", "setup"]


def test_without_repos_and_none_enabled_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_repo_file(config, "off.repo", f"[off]\nbaseurl={DEAD}\nenabled=0\n")
    tree = config / "treefile.yaml"
    tree.write_text(TREE.replace("repos: [fedora]\n", ""))
    message = error_message(compose(tree, tmp_path), 2)
    assert message == f"{tree}: repos: missing, and no *.repo file beside it enables a repository"
    assert not (tmp_path / "repo").exists()
