"""Scriptlets and file triggers of an rpm transaction (engine/transaction.py), as rpm
4.18/4.19 runs them: real packages built by rpmbuild, checked out from a package cache,
their scriptlets run in bubblewrap. Each scriptlet logs its name, arguments and stdin to
/etc/triggers.log (tests/support/transactions.py `logged`), and the tests read the log,
the tree's files, and the errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fedostree.engine.sandbox import bwrap_available
from fedostree.engine.scriptlets import ScriptletError
from fedostree.errors import ConfigError
from tests.support.rpms import Pkg, base_packages
from tests.support.transactions import Packages, RpmTree, Tree, logged, rpm_available

pytestmark = pytest.mark.skipif(bwrap_available() is not None, reason=str(bwrap_available()))

BASE = ("filesystem", "setup", "bash", "args")
KINDS = ("filetriggerin", "filetriggerun", "filetriggerpostun",
         "transfiletriggerin", "transfiletriggerun", "transfiletriggerpostun")  # fmt: skip
PLAIN = ("pre", "post", "posttrans", "preun", "postun")
# A program for `-p`: logs how rpm called it (a file trigger gets a script file, empty, and 0).
ARGS = '#!/bin/sh\n{ echo "args ($#)${1:+ $(test -s "$1" || echo empty-script)} $2"; cat; } >> /etc/triggers.log\n'
SONAME = "libfedostreetest.so.1"


def packages(lib: Path) -> list[Pkg]:
    return [
        *base_packages(),
        Pkg("args", files={"/usr/bin/args": ARGS}, attrs={"/usr/bin/args": "0755,root,root"}),
        Pkg("watcher", files={"/usr/share/things/watcher.conf": "w\n"},
            scripts={f"{k} -- /usr/share/things": logged(f"watcher %{k}") for k in KINDS}),
        Pkg("things-a", files={"/usr/share/other/a3": "a\n", "/usr/share/things/a1": "a\n",
                               "/usr/share/things/shared": "s\n", "/usr/share/things/sub/a2": "a\n",
                               "/var/lib/things/state": "s\n"},
            scripts={k: logged(f"things-a %{k}") for k in PLAIN}),
        Pkg("things-b", files={"/usr/share/things/b1": "b\n", "/usr/share/things/shared": "s\n"}),
        Pkg("prio", files={"/usr/share/prio/p": "p\n"}, scripts={
            **{k: logged(f"prio %{k}") for k in PLAIN},
            "filetriggerin -- /usr/share/prio": logged("prio %filetriggerin"),
            "filetriggerin -P 20000 -- /usr/share/prio": logged("prio %filetriggerin -P 20000"),
            "filetriggerin -P 9999 -- /usr/share/prio": logged("prio %filetriggerin -P 9999"),
            "transfiletriggerin -P 5 -- /usr/share/prio": logged("prio %transfiletriggerin -P 5"),
            "transfiletriggerin -p /usr/bin/args -- /usr/share/prio": "",
            "transfiletriggerin -P 500000 -- /usr/share /usr/share/prio":
                logged("prio %transfiletriggerin -P 500000"),
        }),
        *(Pkg("multi", version=v, files={f"/usr/share/multi-{v}": "m\n"},
              scripts={"posttrans -p /usr/bin/args": "",
                       **{k: logged(f"multi-{v} %{k}") for k in ("pre", "post", "preun", "postun")}})
          for v in ("1.0", "2.0")),
        Pkg("glibc", files={"/usr/sbin/ldconfig": ("copy", "/sbin/ldconfig"), "/usr/lib64": ("dir",),
                            "/etc/ld.so.conf": "/usr/lib64\n"},
            attrs={"/usr/sbin/ldconfig": "0755,root,root"}, config=["/etc/ld.so.conf"],
            scripts={"transfiletriggerin -P 2000000 -- /lib64 /usr/lib64": "/usr/sbin/ldconfig",
                     "transfiletriggerpostun -P 2000000 -- /lib64 /usr/lib64": "/usr/sbin/ldconfig"}),
        Pkg("libtest", files={f"/usr/lib64/{SONAME}.0": ("copy", str(lib))}),
        Pkg("breaker", files={"/usr/share/breaker": "b\n"},
            scripts={"transfiletriggerin -- /usr/share/things": 'echo "cannot take $(cat)"; exit 3'}),
        Pkg("etc-watcher", files={"/etc/things/own.conf": "o\n"},
            scripts={"post": "echo 'from %post' > /etc/foo",
                     "transfiletriggerin -- /etc/things": logged("etc-watcher %transfiletriggerin")}),
        Pkg("owned", files={"/usr/share/owned": "o\n"}, attrs={"/usr/share/owned": "0644,ownd,ownd"},
            scripts={"pre": "echo 'ownd:x:990:990::/:/sbin/nologin' >> /etc/passwd\n"
                            "echo 'ownd:x:990:' >> /etc/group"}),
        Pkg("lua-trigger", scripts={"filetriggerin -p <lua> -- /usr/share/things": "print(1)"}),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def pkgs(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    work = tmp_path_factory.mktemp("triggers")
    (work / "lib.c").write_text("int fedostree_test(void) { return 42; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{SONAME}", "-o", work / "lib.so",
                    work / "lib.c"], check=True)  # fmt: skip
    return Packages(packages(work / "lib.so"), work)


def tree(pkgs: Packages, tmp_path: Path, *keys: str, etc_in_usr: bool = False) -> Tree:
    """A tree with the base and keys installed in one transaction, its log emptied."""
    t = Tree(pkgs, tmp_path / "tree", etc_in_usr=etc_in_usr)
    t.install(*BASE, *keys)
    t.log()
    return t


def cached_libraries(root: Path) -> str:
    """What `ldconfig -p` lists from the tree's ld.so.cache ("" without one)."""
    cache = root / "etc/ld.so.cache"
    if not cache.exists():
        return ""
    return subprocess.run(["/sbin/ldconfig", "-p", "-C", cache], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


LIB_ENTRY = f"{SONAME} (libc6,x86-64) => /usr/lib64/{SONAME}"


def test_installed_glibc_ldconfig_trigger_caches_a_new_library(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "glibc")
    assert LIB_ENTRY not in cached_libraries(t.root)
    t.install("libtest")
    assert LIB_ENTRY in cached_libraries(t.root)
    assert (t.root / f"usr/lib64/{SONAME}").resolve().name == f"{SONAME}.0"
    t.erase("libtest")  # %transfiletriggerpostun runs ldconfig again
    assert LIB_ENTRY not in cached_libraries(t.root)


def test_new_glibc_ldconfig_trigger_caches_installed_libraries(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "libtest")
    assert not (t.root / "etc/ld.so.cache").exists()
    t.install("glibc")
    assert LIB_ENTRY in cached_libraries(t.root)


def test_triggers_of_an_installed_package_read_the_new_files(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "watcher", "things-a")
    t.install("things-b")
    assert t.log() == (
        "watcher %filetriggerin (1) 0\n"
        "/usr/share/things/b1\n/usr/share/things/shared\n"
        "watcher %transfiletriggerin (1) 0\n"
        "/usr/share/things/b1\n/usr/share/things/shared\n"
    )


def test_triggers_of_a_new_package_read_the_installed_files(pkgs: Packages, tmp_path) -> None:
    """rpm runs a new package's %filetriggerin twice: as one of the rpmdb's triggers, for
    its own files; then as its own trigger, over the rpmdb, where its own files have no
    state yet. Paths come package by package, in install order, as often as owned."""
    t = tree(pkgs, tmp_path, "things-a", "things-b")
    t.install("watcher")
    assert t.log() == (
        "watcher %filetriggerin (1) 0\n"
        "/usr/share/things/watcher.conf\n"
        "watcher %filetriggerin (1) 0\n"
        "/usr/share/things/a1\n/usr/share/things/shared\n/usr/share/things/sub/a2\n"
        "/usr/share/things/b1\n/usr/share/things/shared\n"
        "watcher %transfiletriggerin (1) 0\n"
        "/usr/share/things/a1\n/usr/share/things/shared\n/usr/share/things/sub/a2\n"
        "/usr/share/things/b1\n/usr/share/things/shared\n"
        "/usr/share/things/watcher.conf\n"
    )


def test_erasing_sets_off_the_remaining_packages_triggers(pkgs: Packages, tmp_path) -> None:
    """%transfiletriggerun reads every installed file of the package; the per-package
    triggers only those it erases (not /usr/share/things/shared, which things-b keeps)."""
    t = tree(pkgs, tmp_path, "things-b", "watcher", "things-a")
    t.erase("things-a")
    erased = "/usr/share/things/a1\n/usr/share/things/sub/a2\n"
    assert t.log() == (
        "watcher %transfiletriggerun (1) 0\n"
        "/usr/share/things/a1\n/usr/share/things/shared\n/usr/share/things/sub/a2\n"
        f"watcher %filetriggerun (1) 0\n{erased}"
        "things-a %preun (1) 0\n"
        f"watcher %filetriggerpostun (1) 0\n{erased}"
        "things-a %postun (1) 0\n"
        "watcher %transfiletriggerpostun (1) 0\n"
    )
    assert (t.root / "usr/share/things/shared").is_file()
    assert not (t.root / "usr/share/things/a1").exists()


def test_erasing_a_trigger_package_runs_its_un_triggers(pkgs: Packages, tmp_path) -> None:
    """Its own %filetriggerun runs over the rpmdb, then as one of the rpmdb's triggers for
    its own files; its %transfiletriggerpostun is gone with it."""
    t = tree(pkgs, tmp_path, "things-b", "watcher")
    t.erase("watcher")
    everything = "/usr/share/things/b1\n/usr/share/things/shared\n/usr/share/things/watcher.conf\n"
    own = "/usr/share/things/watcher.conf\n"
    assert t.log() == (
        f"watcher %transfiletriggerun (1) 0\n{everything}"
        f"watcher %filetriggerun (1) 0\n{everything}"
        f"watcher %filetriggerun (1) 0\n{own}"
        f"watcher %filetriggerpostun (1) 0\n{own}"
    )


def test_trigger_priorities_and_arguments(pkgs: Packages, tmp_path) -> None:
    """%filetriggerin of priority 10000 and above runs before %post, highest first; a
    `-p` trigger gets rpm's empty script file and 0, a bare `-p` scriptlet nothing."""
    t = tree(pkgs, tmp_path)
    t.install("prio")
    paths = "/usr/share/prio/p\n"
    assert t.log() == (
        "prio %pre (1) 1\n"
        f"prio %filetriggerin (1) 0\n{paths}"
        f"prio %filetriggerin -P 20000 (1) 0\n{paths}"
        "prio %post (1) 1\n"
        f"prio %filetriggerin -P 9999 (1) 0\n{paths}"
        "prio %posttrans (1) 1\n"
        f"args (2) empty-script 0\n{paths}"
        f"prio %transfiletriggerin -P 500000 (1) 0\n{paths}{paths}"
        f"prio %transfiletriggerin -P 5 (1) 0\n{paths}"
    )


def test_scriptlet_arguments_count_the_instances_of_a_name(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "multi")
    t.install("multi-2.0")
    assert t.log() == "multi-2.0 %pre (1) 2\nmulti-2.0 %post (1) 2\nargs (0) \n"
    t.erase("multi")
    assert t.log() == "multi-1.0 %preun (1) 1\nmulti-1.0 %postun (1) 1\n"
    t.erase("multi-2.0")
    assert t.log() == "multi-2.0 %preun (1) 0\nmulti-2.0 %postun (1) 0\n"


def test_erase_removes_exactly_the_unshared_files(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "things-b", "things-a")
    (t.root / "usr/share/other/left-by-a-script").write_text("x\n")
    before = {p.relative_to(t.root) for p in t.root.rglob("*")}
    t.erase("things-a")
    after = {p.relative_to(t.root) for p in t.root.rglob("*")}
    assert {str(p) for p in before - after} == {
        "usr/share/things/a1", "usr/share/things/sub/a2", "usr/share/other/a3",
        # its /var content, as the package cache imported it
        "usr/share/factory/var/lib/things/state", "usr/lib/tmpfiles.d/pkg-things-a.conf"}  # fmt: skip
    # the directories were not the package's; usr/share/other is not empty anyway
    assert (t.root / "usr/share/things/sub").is_dir()


def test_a_failing_trigger_names_its_package_and_trigger(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "breaker")
    with pytest.raises(ScriptletError) as e:
        t.install("things-b")
    assert str(e.value) == (
        "breaker: %transfiletriggerin scriptlet (-- /usr/share/things) failed with exit "
        "status 3: cannot take /usr/share/things/b1 | /usr/share/things/shared"
    )


def test_a_lua_trigger_is_refused_before_anything_runs(pkgs: Packages, tmp_path) -> None:
    t = tree(pkgs, tmp_path, "lua-trigger")
    with pytest.raises(ConfigError, match=r"lua-trigger-1.0-1.x86_64: %filetriggerin is a Lua "):
        t.install("things-a")
    assert t.log() == ""  # not even things-a's %pre
    t.install("things-b", ignore=["lua-trigger.filetriggerin"])


def test_etc_in_usr_puts_etc_in_usr_etc(pkgs: Packages, tmp_path) -> None:
    """In the final OSTree layout, scriptlets see usr/etc as /etc, and a package's /etc
    files there are installed files to the triggers."""
    t = tree(pkgs, tmp_path, "libtest", etc_in_usr=True)
    t.install("glibc")
    assert LIB_ENTRY in cached_libraries(t.root / "usr")
    t.install("etc-watcher")
    assert (t.root / "usr/etc/foo").read_text() == "from %post\n"
    assert t.log() == "etc-watcher %transfiletriggerin (1) 0\n/etc/things/own.conf\n"
    t.install("owned")  # its %pre adds the user to usr/etc/passwd, then its file is chowned
    assert (t.root / "usr/share/owned").stat().st_uid == 990
    t.erase("etc-watcher", "glibc")
    assert not (t.root / "etc").exists()
    assert not (t.root / "usr/etc/things/own.conf").exists()
    assert not (t.root / "usr/etc/ld.so.conf").exists()
    assert (t.root / "usr/etc/passwd").is_file()


@pytest.mark.skipif(rpm_available() is not None, reason=str(rpm_available()))
def test_the_same_transactions_run_by_rpm_log_the_same(pkgs: Packages, tmp_path) -> None:
    """The host's rpm (4.18) runs the same transactions in a root of its own."""
    ours, theirs = Tree(pkgs, tmp_path / "ours"), RpmTree(pkgs, tmp_path / "rpm")
    # one package a transaction: rpm orders a transaction's packages its own way
    steps = [("install", BASE), *(("install", (k,)) for k in ("watcher", "things-a", "prio")),
             ("install", ("things-b",)), ("erase", ("things-b",)), ("erase", ("prio",)),
             ("install", ("multi",)), ("install", ("multi-2.0",)), ("erase", ("multi",)),
             ("erase", ("watcher",))]  # fmt: skip
    for verb, keys in steps:
        for t in (ours, theirs):
            getattr(t, verb)(*keys)
        assert ours.log() == theirs.log(), (verb, keys)
