"""What client-side package layering needs from the sample universe: the file triggers
that rebuild caches (glibc, hicolor-icon-theme, glib2), an application in no tree to
layer (sample-editor), the .repo file that the trees ship and `serve --rpm-repo` that
answers it."""

from __future__ import annotations

import configparser
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import libcomps
import pytest
import rpm
import solv

from fedostree.sample.catalog import SAMPLE_REPO_URL
from fedostree.server.serve import RPMS_PATH
from tests.support.sample import (
    TREES,
    bwrap_works,
    expand,
    extract,
    file_table,
    file_triggers,
    header,
    resolve,
    rpm_list,
    rpm_path,
)

HICOLOR = "/usr/share/icons/hicolor"
SCHEMAS = "/usr/share/glib-2.0/schemas"
# The file triggers of the universe: package -> (path prefix, the command they run).
TRIGGERS = {
    "glibc": ("/usr/lib64", "/sbin/ldconfig"),
    "hicolor-icon-theme": (HICOLOR, f"/usr/bin/gtk-update-icon-cache --force {HICOLOR}"),
    "glib2": (SCHEMAS, f"/usr/bin/glib-compile-schemas {SCHEMAS}"),
}
# The layerable application, in no tree, and the dependencies that no tree has either.
LAYERED = "sample-editor"
LAYERED_DEPS = {"libsample-widgets", "sample-editor-data"}
REPO_FILE = "/etc/yum.repos.d/fedostree-sample.repo"


@pytest.mark.parametrize("name", list(TRIGGERS))
def test_cache_owners_carry_transaction_file_triggers(sample_repo: Path, name: str) -> None:
    """Rebuild the cache after a transaction that added (in) or removed (postun) files
    below the prefix, with a /bin/sh script (busybox sh in the trees), as Fedora does."""
    prefix, command = TRIGGERS[name]
    triggers = file_triggers(rpm_path(sample_repo, name))
    assert [(kind, path, program) for kind, path, program, _ in triggers] == [
        ("in", prefix, "/bin/sh"),
        ("postun", prefix, "/bin/sh"),
    ]
    assert all(command in script for *_, script in triggers)
    assert "/bin/sh" in rpm_list(rpm_path(sample_repo, name), "--requires")


def test_only_the_cache_owners_have_file_triggers(sample_repo: Path) -> None:
    with_triggers = set()
    for rpm_file in (sample_repo / "Packages").glob("*.rpm"):
        hdr = header(rpm_file)
        if hdr[rpm.RPMTAG_TRANSFILETRIGGERNAME] or hdr[rpm.RPMTAG_FILETRIGGERNAME]:
            with_triggers.add(hdr[rpm.RPMTAG_NAME])
    assert with_triggers == set(TRIGGERS)


def test_cache_builders_and_what_the_triggers_match(sample_repo: Path) -> None:
    """gtk3 and glib2 ship the commands; applications ship icons and schemas."""
    assert "/usr/bin/gtk-update-icon-cache" in file_table(rpm_path(sample_repo, "gtk3"))
    glib2 = file_table(rpm_path(sample_repo, "glib2"))
    assert "/usr/bin/glib-compile-schemas" in glib2 and glib2[SCHEMAS][0].startswith("d")
    hicolor = file_table(rpm_path(sample_repo, "hicolor-icon-theme"))
    assert {f"{HICOLOR}/index.theme", f"{HICOLOR}/scalable/apps"} <= set(hicolor)
    for name in ("firefox", "nautilus", "gnome-terminal"):
        assert f"{HICOLOR}/scalable/apps/{name}.svg" in file_table(rpm_path(sample_repo, name))
    for name, schema_id in [("gsettings-desktop-schemas", "org.gnome.desktop.interface"),
                            ("gtk3", "org.gtk.Settings.FileChooser")]:  # fmt: skip
        schema = f"{SCHEMAS}/{schema_id}.gschema.xml"
        assert schema in file_table(rpm_path(sample_repo, name))


def test_layerable_editor_fires_all_three_triggers(sample_repo: Path) -> None:
    data = file_table(rpm_path(sample_repo, "sample-editor-data"))
    assert f"{HICOLOR}/scalable/apps/sample-editor.svg" in data
    assert f"{SCHEMAS}/org.fedostree.SampleEditor.gschema.xml" in data
    widgets = file_table(rpm_path(sample_repo, "libsample-widgets"))
    assert widgets["/usr/lib64/libsample-widgets-1.0.so.0"][4] == "libsample-widgets-1.0.so.0.0.0"
    editor = rpm_path(sample_repo, LAYERED)
    assert "/usr/bin/sample-editor" in file_table(editor)
    requires = rpm_list(editor, "--requires")
    assert "libsample-widgets-1.0.so.0()(64bit)" in requires
    assert "sample-editor-data = 3.10.0-1.fc20" in requires


@pytest.mark.parametrize("tree", list(TREES))
def test_layerable_editor_and_its_dependencies_are_in_no_tree(
    comps: libcomps.Comps, pool: solv.Pool, tree: str
) -> None:
    base = resolve(pool, expand(comps, TREES[tree]))
    assert not ({LAYERED} | LAYERED_DEPS) & base
    layered = resolve(pool, [*expand(comps, TREES[tree]), LAYERED])
    assert {LAYERED} | LAYERED_DEPS <= layered - base
    assert {"glibc", "bash", "glib2"} <= base
    if tree.startswith("workstation/"):  # GTK+ and the icon theme are there already
        assert layered - base == {LAYERED} | LAYERED_DEPS
        assert {"gtk3", "hicolor-icon-theme", "gsettings-desktop-schemas"} <= base


def test_release_package_ships_the_sample_repo_file(sample_repo: Path) -> None:
    release = rpm_path(sample_repo, "fedora-release")
    assert REPO_FILE in rpm_list(release, "--configfiles")
    assert file_table(release)["/etc/yum.repos.d"][0].startswith("d")
    text = subprocess.run(
        f"rpm2cpio {release} | cpio -i --quiet --to-stdout .{REPO_FILE}",
        shell=True, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser.sections() == ["fedostree-sample"]
    section = parser["fedostree-sample"]
    assert section["baseurl"] == SAMPLE_REPO_URL == f"http://127.0.0.1:8080{RPMS_PATH}"
    assert (section["enabled"], section["gpgcheck"]) == ("1", "0")


def test_triggers_run_under_busybox_sh_in_a_layered_tree(
    sample_repo: Path, comps: libcomps.Comps, pool: solv.Pool, tmp_path: Path
) -> None:
    """base/minimal extracted, sample-editor layered onto it: each trigger script, run in
    the tree as rpm would after the transaction, rebuilds its cache; after the editor's
    files are removed, the postun triggers drop them from the caches."""
    reason = bwrap_works()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    root.mkdir()
    for name in sorted(resolve(pool, [*expand(comps, TREES["base/minimal"]), LAYERED])):
        extract(rpm_path(sample_repo, name), root)
    triggers = {
        (name, kind): script
        for name in TRIGGERS
        for kind, _, _, script in file_triggers(rpm_path(sample_repo, name))
    }

    def run_triggers(kind: str) -> None:
        for name in TRIGGERS:
            argv = ["bwrap", "--bind", str(root), "/", "--proc", "/proc", "--dev", "/dev",
                    "--clearenv", "--setenv", "PATH", "/usr/sbin:/usr/bin"]  # fmt: skip
            result = subprocess.run(
                [*argv, "/usr/bin/sh", "-c", triggers[name, kind]],
                capture_output=True, text=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            assert result.returncode == 0, (name, kind, result.stderr)

    assert (root / "usr/bin/sh").readlink() == Path("../sbin/busybox")
    run_triggers("in")
    ld_cache = (root / "etc/ld.so.cache").read_bytes()
    assert b"libsample-widgets-1.0.so.0" in ld_cache and b"libglib-2.0.so.0" in ld_cache
    icons = (root / HICOLOR.lstrip("/") / "icon-theme.cache").read_text().splitlines()
    assert icons[1:] == ["scalable/apps/sample-editor.svg"]
    schemas = (root / SCHEMAS.lstrip("/") / "gschemas.compiled").read_text().splitlines()
    assert schemas[1:] == [
        "org.fedostree.SampleEditor", "org.gnome.desktop.interface",
        "org.gtk.Settings.FileChooser",
    ]  # fmt: skip
    for path in ("usr/lib64/libsample-widgets-1.0.so.0", "usr/lib64/libsample-widgets-1.0.so.0.0.0",
                 f"{HICOLOR.lstrip('/')}/scalable/apps/sample-editor.svg",
                 f"{SCHEMAS.lstrip('/')}/org.fedostree.SampleEditor.gschema.xml"):  # fmt: skip
        (root / path).unlink()
    run_triggers("postun")
    assert b"libsample-widgets" not in (root / "etc/ld.so.cache").read_bytes()
    icons = (root / HICOLOR.lstrip("/") / "icon-theme.cache").read_text().splitlines()
    assert icons == [f"# icon-theme.cache of {HICOLOR} (fedostree sample)"]
    schemas = (root / SCHEMAS.lstrip("/") / "gschemas.compiled").read_text().splitlines()
    assert "org.fedostree.SampleEditor" not in schemas and len(schemas) == 3


def test_serve_rpm_repo_serves_the_sample_repository(sample_repo: Path, tmp_path: Path) -> None:
    """`fedostree serve --rpm-repo`: the rpm-md repository under /rpms/, the OSTree
    repository everywhere else, and nothing outside either."""
    ostree_repo = tmp_path / "repo"
    subprocess.run(["ostree", "init", "--mode=archive", f"--repo={ostree_repo}"], check=True)
    argv = [sys.executable, "-u", "-m", "fedostree", "serve", "--repo", str(ostree_repo),
            "--port", "0", "--rpm-repo", str(sample_repo)]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ")[1].strip()
        server.stdout.readline()  # the status page
        assert server.stdout.readline().strip() == f"RPM repository {sample_repo}: {url}rpms/"

        def get(path: str) -> bytes:
            with urllib.request.urlopen(url + path) as response:
                return bytes(response.read())

        repomd = sample_repo / "repodata" / "repomd.xml"
        assert get("rpms/repodata/repomd.xml") == repomd.read_bytes()
        editor = rpm_path(sample_repo, LAYERED)
        assert get(f"rpms/Packages/{editor.name}") == editor.read_bytes()
        assert b"repodata/" in get("rpms")  # redirected to the listing of rpms/
        config = (ostree_repo / "config").read_bytes()
        assert get("config") == config and get("rpms/%2e%2e/config") == config
        for outside in ("rpms/../../etc/passwd", "rpms/config"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                get(outside)
            assert missing.value.code == 404, outside
    finally:
        server.terminate()
        server.wait()


def test_serve_refuses_an_rpm_repo_without_metadata(tmp_path: Path) -> None:
    ostree_repo = tmp_path / "repo"
    subprocess.run(["ostree", "init", "--mode=archive", f"--repo={ostree_repo}"], check=True)
    argv = [sys.executable, "-m", "fedostree", "serve", "--repo", str(ostree_repo), "--port", "0",
            "--rpm-repo", str(tmp_path)]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{tmp_path}: not an rpm-md repository" in result.stderr
