"""The integration checks on composed trees: hand-built trees with real ELF files compiled
by gcc (and the host's busybox and glibc copied in), real rpmdbs written by librpm from
real RPMs, real bubblewrap; and one tree assembled by the pipeline from real RPMs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from fedostree.engine.assemble import assemble_tree
from fedostree.engine.commit import input_hash
from fedostree.engine.ostree import OSTree
from fedostree.engine.pkgcache import ensure_cached
from fedostree.engine.rpmdb import write_rpmdb
from fedostree.engine.rpmfile import read_header_blob
from fedostree.engine.sandbox import bwrap_available
from fedostree.errors import ConfigError
from fedostree.model.treefile import Treefile, TreeTest
from fedostree.model.treefile_load import load_treefile
from fedostree.server.checks import run_checks
from fedostree.server.pipeline import ComposeOptions, Session, resolve_packages
from fedostree.server.results import CheckResult
from tests.support.cli import error_message, run
from tests.support.rpms import BUSYBOX, Pkg, build_rpms, write_treefile

APPLETS = ("sh", "echo", "cat", "sleep", "touch", "ls", "true", "grep")
GLIBC = Path(subprocess.run(["gcc", "-print-file-name=libc.so.6"], capture_output=True,
                            text=True).stdout.strip()).resolve()  # fmt: skip
LD_SO = Path("/lib64/ld-linux-x86-64.so.2").resolve()
needs_bwrap = pytest.mark.skipif(bwrap_available() is not None, reason=str(bwrap_available()))


# --- building trees ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """libfoo.so.1 (64- and 32-bit) and programs that need it: plain, with a DT_RUNPATH of
    $ORIGIN/../lib/foo, and with a DT_RPATH of /opt/foo/lib."""
    d = tmp_path_factory.mktemp("elf")
    (d / "foo.c").write_text('const char *foo(void) { return "hello from libfoo"; }\n')
    (d / "prog.c").write_text(
        "#include <stdio.h>\nconst char *foo(void);\nint main(void) { puts(foo()); return 0; }\n"
    )
    soname = ["-shared", "-fPIC", "-Wl,-soname,libfoo.so.1"]
    gcc(d, *soname, "-o", "libfoo.so.1", "foo.c")
    gcc(d, "-m32", "-nostdlib", *soname, "-o", "libfoo32.so.1", "foo.c")
    (d / "libfoo.so").symlink_to("libfoo.so.1")
    gcc(d, "-o", "prog", "prog.c", "-L.", "-lfoo")
    gcc(d, "-o", "prog-origin", "prog.c", "-L.", "-lfoo",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib/foo")  # fmt: skip
    gcc(
        d,
        "-o",
        "prog-rpath",
        "prog.c",
        "-L.",
        "-lfoo",
        "-Wl,--disable-new-dtags,-rpath,/opt/foo/lib",
    )
    return d


def gcc(cwd: Path, *args: str) -> None:
    subprocess.run(["gcc", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("check-rpms")
    pkgs = [Pkg("alpha", files={"/usr/share/alpha": "a\n"}), Pkg("beta", version="2.0")]
    return build_rpms(pkgs, root / "rpms", root / "work")


NEVRAS = ["alpha-1.0-1.x86_64", "beta-2.0-1.x86_64"]


def make_tree(root: Path, elf: Path, rpms: list[Path]) -> Path:
    """A tree as the pipeline leaves it: /etc in /usr/etc, /var empty, /bin and /lib64
    symlinks into /usr, a busybox shell, glibc, libfoo and a program needing it."""
    for d in ("usr/bin", "usr/sbin", "usr/lib64", "usr/lib/tmpfiles.d", "usr/etc", "usr/share"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for d in ("var", "tmp", "run", "proc", "dev", "sys", "root", "boot"):
        (root / d).mkdir()
    for name in ("bin", "sbin", "lib", "lib64"):
        (root / name).symlink_to(f"usr/{name}")
    shutil.copy2(BUSYBOX, root / "usr/sbin/busybox")
    for applet in APPLETS:
        (root / "usr/bin" / applet).symlink_to("../sbin/busybox")
    shutil.copy2(LD_SO, root / "usr/lib64/ld-linux-x86-64.so.2")
    shutil.copy2(GLIBC, root / "usr/lib/libc.so.6")
    shutil.copy2(elf / "libfoo.so.1", root / "usr/lib/libfoo.so.1")
    shutil.copy2(elf / "prog", root / "usr/bin/prog")
    write(root, "usr/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    write(root, "usr/etc/group", "root:x:0:\n")
    write(root, "usr/lib/os-release", 'NAME=Test\nPRETTY_NAME="Test OS 1"\n')
    (root / "usr/etc/os-release").symlink_to("../usr/lib/os-release")
    (root / "usr/etc/mtab").symlink_to("../proc/self/mounts")
    write(root, "usr/lib/tmpfiles.d/base.conf", "d /var/tmp 1777 root root 30d\n")
    (root / "usr/tmp").symlink_to("../var/tmp")
    write(root, "usr/bin/script", "#!/bin/sh\necho not ELF\n", mode=0o755)
    write_rpmdb(root, [read_header_blob(p) for p in rpms])
    return root


def write(root: Path, rel: str, text: str, mode: int = 0o644) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def tree(tmp_path: Path, elf: Path, rpms: list[Path]) -> Path:
    return make_tree(tmp_path / "rootfs", elf, rpms)


def checks(rootfs: Path, *tests: TreeTest, nevras: list[str] = NEVRAS) -> dict[str, CheckResult]:
    tf = Treefile(path=Path("treefile.yaml"), tests=tests)
    return {r.name: r for r in run_checks(rootfs, tf, nevras)}


def failed(rootfs: Path, name: str, **kwargs: list[str]) -> str:
    """The log of the named check, which must have failed."""
    result = checks(rootfs, **kwargs)[name]
    assert result.outcome == "failed", result.log
    return result.log


def snapshot(rootfs: Path) -> dict[str, tuple[int, int, int, float]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.join(dirpath, name)] = (st.st_ino, st.st_size, st.st_mode, st.st_mtime)
    return out


# --- the whole set ----------------------------------------------------------------------


@needs_bwrap
def test_a_good_tree_passes_every_check_and_is_not_written_to(tree: Path) -> None:
    before = snapshot(tree)
    results = checks(tree, TreeTest("hello", ("/bin/sh", "-c", "echo hi")))
    assert list(results) == [
        "elf-needed", "usr-symlinks", "file-owners", "rpmdb", "var-tmpfiles", "os-release",
        "sh", "test:hello",
    ]  # fmt: skip
    for r in results.values():
        assert r.outcome == "passed", f"{r.name}: {r.log}"
        assert r.duration >= 0 and r.log
    # prog, libfoo, libc, ld.so and the static busybox; prog needs 2, libc needs ld.so
    assert results["elf-needed"].log == (
        "5 ELF executables and shared libraries, 3 DT_NEEDED entries\n"
    )
    assert "the rpmdb lists 2 packages" in results["rpmdb"].log
    assert snapshot(tree) == before  # not even the rpmdb's -shm/-wal files


# --- elf-needed -------------------------------------------------------------------------


def test_missing_library_names_the_program_and_the_search(tree: Path) -> None:
    (tree / "usr/lib/libfoo.so.1").unlink()
    log = failed(tree, "elf-needed")
    assert (
        "/usr/bin/prog: libfoo.so.1 not found (searched /usr/lib64, /lib64, /usr/lib, /lib)" in log
    )


def test_the_hosts_libraries_are_never_used(tree: Path) -> None:
    """libc.so.6 is on the host, and /lib64 -> /usr/lib64 is followed inside the tree."""
    (tree / "usr/lib/libc.so.6").unlink()
    (tree / "lib64").unlink()
    (tree / "lib64").symlink_to("/usr/lib64")  # absolute: the tree's /usr/lib64
    log = failed(tree, "elf-needed")
    assert "/usr/bin/prog: libc.so.6 not found" in log
    assert "interpreter" not in log


def test_missing_program_interpreter(tree: Path) -> None:
    (tree / "usr/lib64/ld-linux-x86-64.so.2").unlink()
    log = failed(tree, "elf-needed")
    assert (
        "/usr/bin/prog: program interpreter /lib64/ld-linux-x86-64.so.2 not found in the tree"
        in log
    )
    assert "/usr/lib/libc.so.6: ld-linux-x86-64.so.2 not found" in log


def test_a_library_of_another_elf_class_is_passed_over(tree: Path, elf: Path) -> None:
    shutil.copy2(elf / "libfoo32.so.1", tree / "usr/lib64/libfoo.so.1")
    assert checks(tree)["elf-needed"].outcome == "passed"  # the 64-bit one in /usr/lib
    (tree / "usr/lib/libfoo.so.1").unlink()
    log = failed(tree, "elf-needed")
    assert "/usr/bin/prog: libfoo.so.1 not found" in log
    assert "/usr/lib64/libfoo.so.1 is ELF32 EM_386" in log


def test_runpath_with_origin(tree: Path, elf: Path) -> None:
    shutil.copy2(elf / "prog-origin", tree / "usr/bin/prog")
    (tree / "usr/lib/foo").mkdir()
    os.rename(tree / "usr/lib/libfoo.so.1", tree / "usr/lib/foo/libfoo.so.1")
    assert checks(tree)["elf-needed"].outcome == "passed"
    os.rename(tree / "usr/lib/foo", tree / "usr/lib/bar")
    log = failed(tree, "elf-needed")
    assert "(searched /usr/bin/../lib/foo, /usr/lib64," in log


def test_rpath_and_ld_so_conf(tree: Path, elf: Path) -> None:
    (tree / "opt/foo/lib").mkdir(parents=True)
    os.rename(tree / "usr/lib/libfoo.so.1", tree / "opt/foo/lib/libfoo.so.1")
    shutil.copy2(elf / "prog-rpath", tree / "usr/bin/prog-rpath")
    log = failed(tree, "elf-needed")  # prog finds it only through ld.so.conf
    assert "/usr/bin/prog: libfoo.so.1 not found" in log
    assert "prog-rpath" not in log
    write(tree, "usr/etc/ld.so.conf", "include ld.so.conf.d/*.conf\n")
    write(tree, "usr/etc/ld.so.conf.d/foo.conf", "# foo\n/opt/foo/lib\n")
    assert checks(tree)["elf-needed"].outcome == "passed"


def test_a_truncated_elf_file_is_reported(tree: Path) -> None:
    data = (tree / "usr/bin/prog").read_bytes()
    write(tree, "usr/bin/broken", "", mode=0o755).write_bytes(data[:40])
    log = failed(tree, "elf-needed")
    assert "/usr/bin/broken: not a valid ELF file" in log


# --- usr-symlinks -----------------------------------------------------------------------


def test_dangling_symlinks_under_usr(tree: Path) -> None:
    (tree / "usr/bin/gone").symlink_to("/usr/bin/nothing")
    (tree / "usr/share/hostname").symlink_to("/etc/hostname")  # on the host, not in the tree
    (tree / "usr/share/loop").symlink_to("loop")
    (tree / "usr/share/up").symlink_to("../../../../usr/bin/sh")  # `..` stops at the root
    log = failed(tree, "usr-symlinks")
    lines = log.splitlines()[1:]
    assert lines == [
        "/usr/bin/gone -> /usr/bin/nothing: does not resolve inside the tree",
        "/usr/share/hostname -> /etc/hostname: does not resolve inside the tree",
        "/usr/share/loop -> loop: does not resolve inside the tree",
    ]


def test_symlinks_into_var_need_a_tmpfiles_line(tree: Path) -> None:
    (tree / "usr/lib/tmpfiles.d/base.conf").write_text("")
    log = failed(tree, "usr-symlinks")
    assert "/usr/tmp -> ../var/tmp: does not resolve inside the tree" in log


# --- file-owners ------------------------------------------------------------------------


def test_owners_must_be_in_passwd_and_group(tree: Path) -> None:
    hello = write(tree, "usr/libexec/hello", "x\n")
    os.chown(hello, 990, 990)
    log = failed(tree, "file-owners")
    assert "uid 990 owns /usr/libexec/hello: not in /usr/etc/passwd" in log
    assert "gid 990 owns /usr/libexec/hello: not in /usr/etc/group" in log
    write(tree, "usr/lib/passwd", "hello:x:990:990::/:/sbin/nologin\n")  # nss-altfiles
    write(tree, "usr/lib/group", "hello:x:990:\n")
    assert checks(tree)["file-owners"].outcome == "passed"


def test_owners_without_any_passwd_file(tree: Path) -> None:
    (tree / "usr/etc/passwd").unlink()
    log = failed(tree, "file-owners")
    assert "uid 0 owns /bin, /boot, /dev and " in log
    assert "the tree has no /usr/etc/passwd or /usr/lib/passwd" in log


# --- rpmdb ------------------------------------------------------------------------------


def test_rpmdb_reports_missing_and_extra_packages(tree: Path) -> None:
    log = failed(tree, "rpmdb", nevras=["alpha-1.0-1.x86_64", "gamma-0:3-1.noarch"])
    assert "missing from the rpmdb: gamma-3-1.noarch" in log
    assert "in the rpmdb but not resolved: beta-2.0-1.x86_64" in log
    assert "alpha" not in log.split("\n", 1)[1]


def test_no_rpmdb(tree: Path) -> None:
    shutil.rmtree(tree / "usr/share/rpm")
    assert "no rpmdb in the tree (/usr/share/rpm)" in failed(tree, "rpmdb")


# --- var-tmpfiles -----------------------------------------------------------------------


def test_leftovers_in_var(tree: Path) -> None:
    write(tree, "var/lib/hello/state", "x\n")
    write(tree, "var/cache/junk/a/b", "x\n")
    write(tree, "var/log/old.log", "x\n")
    write(tree, "usr/lib/tmpfiles.d/hello.conf", "d /var/lib/hello 0750 - - -\n"
          "f /var/lib/hello/state 0644 root root - fresh\n")  # fmt: skip
    log = failed(tree, "var-tmpfiles")
    assert log.splitlines()[1:] == [
        "/var/cache: in /var but no tmpfiles.d line creates it",
        "/var/log: in /var but no tmpfiles.d line creates it",
        "(and 4 entries below those directories)",
    ]
    shutil.rmtree(tree / "var/cache")
    shutil.rmtree(tree / "var/log")
    assert checks(tree)["var-tmpfiles"].outcome == "passed"


def test_var_content_copied_by_tmpfiles(tree: Path) -> None:
    write(tree, "var/lib/db/a/b", "x\n")
    write(
        tree, "usr/lib/tmpfiles.d/db.conf", "C /var/lib/db - - - - /usr/share/factory/var/lib/db\n"
    )
    assert checks(tree)["var-tmpfiles"].outcome == "passed"


# --- os-release -------------------------------------------------------------------------


def test_os_release(tree: Path) -> None:
    assert "/usr/lib/os-release is a file: Test OS 1" in checks(tree)["os-release"].log
    (tree / "usr/lib/os-release").unlink()  # /usr/etc/os-release now dangles
    assert "no os-release in the tree" in failed(tree, "os-release")
    (tree / "usr/etc/os-release").unlink()
    write(tree, "usr/etc/os-release", "NAME=Etc\n")
    assert checks(tree)["os-release"].outcome == "passed"


# --- runtime ----------------------------------------------------------------------------


@needs_bwrap
def test_treefile_tests_pass_fail_time_out_and_miss(tree: Path, elf: Path) -> None:
    results = checks(
        tree,
        TreeTest("prog", ("/usr/bin/prog",)),
        TreeTest("fails", ("/bin/sh", "-c", "echo out; echo err >&2; exit 1")),
        TreeTest("slow", ("/bin/sh", "-c", "echo started; sleep 60 & sleep 60"), timeout=1),
        TreeTest("typo", ("/bin/sh", "-c", "no-such-command --flag")),
        TreeTest("argv", ("no-such-command", "x")),
    )
    assert results["test:prog"].log == "$ /usr/bin/prog\nhello from libfoo\nexit status 0\n"
    fails = results["test:fails"]
    assert fails.outcome == "failed"
    assert fails.log.splitlines()[1:] == ["out", "err", "exit status 1"]
    slow = results["test:slow"]
    assert slow.outcome == "failed" and 1 <= slow.duration < 10
    assert "started\n" in slow.log and "timed out after 1 s" in slow.log
    assert (
        "sleep 60"
        not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    )
    typo = results["test:typo"]
    assert typo.outcome == "failed"
    assert "not found" in typo.log and "exit status 127: command not found" in typo.log
    argv = results["test:argv"]
    assert argv.outcome == "failed"
    assert "no-such-command: command not found in the tree (PATH=/usr/sbin:/usr/bin)" in argv.log


@needs_bwrap
def test_the_sandbox_sees_a_read_only_tree_with_etc_and_no_network(tree: Path) -> None:
    script = (
        "cat /etc/passwd; touch /usr/x || echo usr-ro; touch /etc/x || echo etc-ro; "
        "touch /tmp/x /var/x /run/x && echo state-rw; grep -c : /proc/net/dev"
    )
    before = snapshot(tree)
    log = checks(tree, TreeTest("view", ("/bin/sh", "-c", script)))["test:view"].log
    for expected in ("root:x:0:0:root:/root:/bin/sh", "usr-ro", "etc-ro", "state-rw", "1"):
        assert expected in log.splitlines()
    assert snapshot(tree) == before


@needs_bwrap
def test_a_tree_without_a_shell(tree: Path) -> None:
    (tree / "usr/bin/sh").unlink()
    results = checks(tree, TreeTest("a", ("/usr/bin/prog",)), TreeTest("b", ("true",)))
    for name in ("sh", "test:a", "test:b"):
        assert results[name].outcome == "failed"
        assert results[name].log == "no /bin/sh in the tree\n"


@needs_bwrap
def test_sh_must_print_ok(tree: Path) -> None:
    (tree / "usr/bin/sh").unlink()
    write(tree, "usr/bin/sh", "#!/usr/sbin/busybox sh\necho nope\n", mode=0o755)
    log = failed(tree, "sh")
    assert log.endswith("nope\nexit status 0\nexpected the output 'ok'\n")


# --- a tree assembled by the pipeline ---------------------------------------------------


@pytest.mark.slow
@needs_bwrap
def test_checks_on_an_assembled_tree(tmp_path: Path, base_repo: Path) -> None:
    """The pipeline's own rootfs, hardlinked into the package cache, which the checks
    must leave intact (ostree fsck)."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "os-release").write_text("NAME=Test\n")
    path = write_treefile(config, base_repo.as_uri(), """\
        ref: test/x86_64/checked
        repos: [test-repo]
        packages: ["@core"]
        add-files: [[os-release, /usr/lib/os-release]]
        tests:
          - {name: hello, command: hello}
          - {name: fails, command: "exit 3"}
        """)  # fmt: skip
    tf = load_treefile(path)
    session = Session(ComposeOptions(repo=tmp_path / "repo", cachedir=tmp_path / "cache"))
    packages = resolve_packages(tf, session)
    cached = ensure_cached(session.build_repo, packages, tmp_path / "cache")
    rootfs = tmp_path / "cache/rootfs"
    assemble_tree(tf, session.build_repo, cached, rootfs, OSTree.RepoDevInoCache.new())
    results = {r.name: r for r in run_checks(rootfs, tf, [p.nevra for p in packages])}
    assert [n for n, r in results.items() if r.outcome == "failed"] == ["test:fails"]
    assert results["test:hello"].log == "$ /bin/sh -c hello\nhello\nexit status 0\n"
    assert "uids" in results["file-owners"].log
    fsck = subprocess.run(["ostree", f"--repo={tmp_path / 'cache/repo'}", "fsck"],
                          capture_output=True, text=True)  # fmt: skip
    assert fsck.returncode == 0, fsck.stderr
    bad = replace(tf, tests=())
    missing = run_checks(rootfs, bad, [p.nevra for p in packages][1:])
    assert [r.name for r in missing if r.outcome == "failed"] == ["rpmdb"]


# --- the `tests` treefile key -----------------------------------------------------------

TESTS_YAML = """\
tests:
  - name: hello
    command: hello --version
  - name: argv
    command: [/usr/bin/true, "a b"]
    timeout: 2.5
"""


def test_tests_key_in_yaml_and_json(tmp_path: Path) -> None:
    yaml_tf = load_treefile(write(tmp_path, "tree.yaml", TESTS_YAML))
    assert yaml_tf.tests == (
        TreeTest("hello", ("/bin/sh", "-c", "hello --version"), 60.0),
        TreeTest("argv", ("/usr/bin/true", "a b"), 2.5),
    )
    doc = {"tests": [{"name": "hello", "command": "hello --version"},
                     {"name": "argv", "command": ["/usr/bin/true", "a b"], "timeout": 2.5}]}  # fmt: skip
    json_tf = load_treefile(write(tmp_path, "tree.json", json.dumps(doc)))
    assert json_tf.tests == yaml_tf.tests
    assert json_tf.flattened()["tests"] == [
        {"name": "hello", "command": ["/bin/sh", "-c", "hello --version"], "timeout": 60.0},
        {"name": "argv", "command": ["/usr/bin/true", "a b"], "timeout": 2.5},
    ]
    assert "tests" not in load_treefile(write(tmp_path, "bare.yaml", "ref: a\n")).flattened()


def test_tests_merge_through_includes_and_change_the_input_hash(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "tests: [{name: base, command: 'true'}]\n")
    top = write(tmp_path, "top.yaml", "include: base.yaml\ntests: [{name: top, command: 'true'}]\n")
    tf = load_treefile(top)
    assert [t.name for t in tf.tests] == ["base", "top"]
    assert input_hash(tf, []) != input_hash(replace(tf, tests=tf.tests[:1]), [])
    slower = replace(tf, tests=(tf.tests[0], replace(tf.tests[1], timeout=61)))
    assert input_hash(tf, []) != input_hash(slower, [])
    write(tmp_path, "dup.yaml", "include: base.yaml\ntests: [{name: base, command: 'false'}]\n")
    with pytest.raises(ConfigError) as info:
        load_treefile(tmp_path / "dup.yaml")
    assert str(info.value) == (
        f"{tmp_path / 'dup.yaml'}: tests: 'base' is the name of two tests in the include chain"
    )


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("tests: {a: 1}", "tests: expected a list of tests, got dict"),
        ("tests: [echo hi]", "tests[0]: expected a mapping with name and command, got str"),
        ("tests: [{command: x}]", "tests[0]: name: missing"),
        ("tests: [{name: a}]", "tests[0]: command: missing"),
        ("tests: [{name: '', command: x}]", "tests[0].name: expected a non-empty string"),
        ("tests: [{name: 5, command: x}]", "tests[0].name: expected a non-empty string"),
        ("tests: [{name: a b, command: x}]",
         "tests[0].name: 'a b': use letters, digits, '.', '_' and '-'"),
        ("tests: [{name: a, command: x}, {name: a, command: y}]",
         "tests[1].name: 'a' is already the name of a test"),
        ("tests: [{name: a, command: '  '}]", "tests[0].command: must not be empty"),
        ("tests: [{name: a, command: []}]", "tests[0].command: must not be empty"),
        ("tests: [{name: a, command: [x, 3]}]", "tests[0].command[1]: expected a string, got int"),
        ("tests: [{name: a, command: ['', x]}]", "tests[0].command[0]: must name a program"),
        ("tests: [{name: a, command: {x: 1}}]",
         "tests[0].command: expected a string or a list of strings, got dict"),
        ("tests: [{name: a, command: x}, {name: b, command: x, timeout: 0}]",
         "tests[1].timeout: must be a positive number"),
        ("tests: [{name: a, command: x, timeout: -1}]", "tests[0].timeout: must be a positive number"),
        ("tests: [{name: a, command: x, timeout: '10'}]", "tests[0].timeout: must be a positive number"),
        ("tests: [{name: a, command: x, timeout: true}]", "tests[0].timeout: must be a positive number"),
        ("tests: [{name: a, command: x, timeout: .inf}]", "tests[0].timeout: must be a positive number"),
        ("tests: [{name: a, command: x, timout: 5}]",
         "tests[0]: unknown key 'timout' (expected name, command, timeout)"),
    ],
)  # fmt: skip
def test_bad_tests_values_name_the_key_path(tmp_path: Path, value: str, where: str) -> None:
    path = write(tmp_path, "tree.yaml", value + "\n")
    with pytest.raises(ConfigError) as info:
        load_treefile(path)
    assert str(info.value) == f"{path}: {where}"


def test_cli_bad_tests_key_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "tests: [{name: a, command: x, timeout: 0}]\n")
    tree = write(tmp_path, "tree.yaml", "include: base.yaml\nref: a/b\nrepos: [r]\npackages: [p]\n")
    r = run("compose", "tree", tree, "--repo", tmp_path / "R", "--cachedir", tmp_path / "C")
    assert error_message(r, 2) == (
        f"{tree} -> include -> {base.name}: tests[0].timeout: must be a positive number"
    )
    assert not (tmp_path / "R").exists() and not (tmp_path / "C").exists()
