"""What is checked out: `documentation: false` and `install-langs` as rpm applies them
(the rpm CLI installing the same package is the witness), `remove-from-packages` as
rpm-ostree does, with real composes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fedostree.engine.checkout_filter import cache_path, lang_installed
from tests.support.cli import compose, rpmdb_names
from tests.support.rpms import Pkg, base_packages, make_repo, write_treefile

REF = "test/x86_64/filtered"
SHARED = "/usr/share/shared/NOTES"  # not under /usr/share/doc: rpmbuild flags all there %doc


def docpkg(host_file: Path) -> Pkg:
    files: dict[str, object] = {
        "/usr/bin/docpkg": "#!/bin/sh\necho docpkg\n",
        "/usr/share/doc/docpkg": ("dir",),
        "/usr/share/doc/docpkg/README": "read me\n",
        "/usr/share/doc/docpkg/host": ("symlink", str(host_file)),
        "/usr/share/man/man1/docpkg.1": "man\n",
        "/usr/share/licenses/docpkg/COPYING": "license\n",
        "/usr/share/locale/fr/LC_MESSAGES/docpkg.mo": "fr\n",
        "/usr/share/locale/fr_CA/LC_MESSAGES/docpkg.mo": "fr_CA\n",
        "/usr/share/locale/de/LC_MESSAGES/docpkg.mo": "de\n",
        "/usr/share/locale/sr@latin/LC_MESSAGES/docpkg.mo": "sr\n",
        "/etc/docpkg.conf": "conf\n",
        "/usr/lib/docpkg/plugins/a.so": "a\n",
        "/usr/lib/docpkg/plugins/b.so": "b\n",
        "/usr/lib/docpkg/other.so": "other\n",
        SHARED: "shared notes\n",
    }
    flags = {
        "/usr/share/doc/docpkg/README": "%doc",
        "/usr/share/doc/docpkg/host": "%doc",
        "/usr/share/man/man1/docpkg.1": "%doc",
        "/usr/share/licenses/docpkg/COPYING": "%license",
        "/usr/share/locale/fr/LC_MESSAGES/docpkg.mo": "%lang(fr)",
        "/usr/share/locale/fr_CA/LC_MESSAGES/docpkg.mo": "%lang(fr_CA)",
        "/usr/share/locale/de/LC_MESSAGES/docpkg.mo": "%lang(de)",
        "/usr/share/locale/sr@latin/LC_MESSAGES/docpkg.mo": "%lang(sr@latin)",
        SHARED: "%doc",
    }
    return Pkg("docpkg", requires=["bash"], files=files, flags=flags, config=["/etc/docpkg.conf"])


@pytest.fixture(scope="module")
def host_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file outside any tree that a %doc symlink points at."""
    path = tmp_path_factory.mktemp("host") / "precious"
    path.write_text("keep me\n")
    return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, host_file: Path) -> Path:
    root = tmp_path_factory.mktemp("filter-repo")
    sharer = Pkg("sharer", files={SHARED: "shared notes\n"})
    return make_repo(root / "repo", [*base_packages(), docpkg(host_file), sharer], root / "work")


def compose_tree(tmp_path: Path, repo: Path, extra: str, packages: str = "[bash, docpkg]") -> Path:
    text = f"ref: {REF}\nrepos: [test-repo]\npackages: {packages}\n{extra}"
    tf = write_treefile(tmp_path / "config", repo.as_uri(), text)
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    co = tmp_path / "co"
    subprocess.run(["ostree", f"--repo={tmp_path / 'repo'}", "checkout", REF, str(co)], check=True)
    return co


def rpm_query(dbroot: Path, *args: str) -> list[str]:
    r = subprocess.run(
        ["rpm", "--root", str(dbroot), "--dbpath", "/usr/share/rpm", *args],
        capture_output=True,
        text=True,
    )
    return r.stdout.splitlines()


def installed_by_rpm(repo: Path, tmp_path: Path, *options: str) -> tuple[Path, set[str]]:
    """The witness: what the rpm CLI installs of docpkg with the options, as paths the
    way a composed tree stores them."""
    root = tmp_path / "witness"
    root.mkdir()
    (rpm_file,) = repo.glob("docpkg-*.rpm")
    r = subprocess.run(
        ["rpm", "--root", str(root), "--dbpath", "/usr/share/rpm", "-i", "--nodeps",
         "--noscripts", *options, str(rpm_file)],
        capture_output=True, text=True,
    )  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"the rpm CLI cannot install into a directory here: {r.stderr.strip()}")
    listed = rpm_query(root, "-ql", "docpkg")
    return root, {cache_path(p) for p in listed if os.path.lexists(f"{root}{p}")}


def present(co: Path, listed: list[str]) -> set[str]:
    return {cache_path(p) for p in listed if os.path.lexists(co / cache_path(p).lstrip("/"))}


def test_documentation_false_and_install_langs_check_out_what_rpm_installs(
    tmp_path: Path, repo: Path, host_file: Path
) -> None:
    extra = "documentation: false\ninstall-langs: [fr_FR, sr@latin]\n"
    co = compose_tree(tmp_path, repo, extra, "[bash, docpkg, sharer]")
    witness, expected = installed_by_rpm(
        repo, tmp_path, "--nodocs", "--define", "_install_langs fr_FR:sr@latin"
    )
    listed = rpm_query(co, "-ql", "docpkg")
    assert present(co, listed) == expected | {SHARED}  # sharer ships it too, as a plain file
    assert (co / SHARED.lstrip("/")).read_text() == "shared notes\n"
    for gone in ("usr/share/doc/docpkg", "usr/share/man", "usr/share/locale/de"):
        assert not (co / gone).exists() and not (witness / gone).exists(), gone
    assert (co / "usr/share/locale/fr/LC_MESSAGES/docpkg.mo").exists()  # fr is in fr_FR
    assert not (co / "usr/share/locale/fr_CA").exists()
    assert (co / "usr/share/licenses/docpkg/COPYING").exists()  # %license is not %doc
    assert host_file.read_text() == "keep me\n"  # the %doc symlink went, not its target
    # the rpmdb lists the package whole, as rpm-ostree's does
    assert rpm_query(co, "-qd", "docpkg") == rpm_query(witness, "-qd", "docpkg")
    assert len(listed) == len(rpm_query(witness, "-ql", "docpkg"))


def test_documentation_is_checked_out_by_default(tmp_path: Path, repo: Path) -> None:
    co = compose_tree(tmp_path, repo, "")
    listed = rpm_query(co, "-ql", "docpkg")
    assert present(co, listed) == {cache_path(p) for p in listed}


def test_remove_from_packages_leaves_out_matching_files(tmp_path: Path, repo: Path) -> None:
    """Regexes match anywhere in the path as rpm-ostree's cache stores it (/usr/etc),
    and a match on a directory leaves out everything of the package under it; a
    package that is not in the tree is ignored, as rpm-ostree does."""
    extra = """\
remove-from-packages:
  - [docpkg, /etc/docpkg\\.conf$, "/plugins$", "^/usr/share/man/"]
  - [not-in-the-tree, .*]
  - [sharer, .*]
"""
    co = compose_tree(tmp_path, repo, extra, "[bash, docpkg, sharer]")
    assert not (co / "usr/etc/docpkg.conf").exists()
    assert not (co / "usr/lib/docpkg/plugins").exists()
    assert (co / "usr/lib/docpkg/other.so").exists()
    assert not (co / "usr/share/man").exists()
    assert (co / "usr/share/doc/docpkg/README").exists()
    assert (co / SHARED.lstrip("/")).exists()  # docpkg still ships it
    # the rpmdb is not altered
    assert "/usr/lib/docpkg/plugins/a.so" in rpm_query(co, "-ql", "docpkg")
    assert rpmdb_names(co) == ["bash", "docpkg", "filesystem", "setup", "sharer"]


def test_rpm_language_matching() -> None:
    assert lang_installed("", ["fr_FR"])
    assert lang_installed("fr", ["fr_FR"])
    assert not lang_installed("fr_FR", ["fr"])
    assert lang_installed("de|fr", ["fr"])
    assert lang_installed("de", ["all"])
    assert not lang_installed("de", ["fr", "en_US"])
    assert lang_installed("de", [])
    assert cache_path("/etc/x") == "/usr/etc/x" and cache_path("/etc") == "/usr/etc"
    assert cache_path("/boot/vmlinuz") == "/usr/lib/ostree-boot/vmlinuz"
    assert cache_path("/boot") == "/boot" and cache_path("/etcetera") == "/etcetera"
