"""The tree's layout and postprocessing, as rpm-ostree builds them: real RPMs, real
composes, and the stock `ostree` CLI as the witness of what was committed."""

from __future__ import annotations

import hashlib
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.cli import compose, error_message, fsck, ostree, published_refs, run
from tests.support.rpms import Pkg, base_packages, demo_packages, make_repo, write_treefile

REF = "test/x86_64/layout"
KVER = "5.14.0-1.fc20.x86_64"
MACHINE_ID = "0123456789abcdef0123456789abcdef"
TREE = f"""\
ref: {REF}
repos: [test-repo]
automatic-version-prefix: "20.1"
"""
OS_RELEASE = """\
NAME=Fedora
VERSION="20 (Heisenbug)"
ID=fedora

VERSION_ID=20
PRETTY_NAME="Fedora 20 (Heisenbug)"
"""


def kernel_package() -> Pkg:
    """The demo kernel, with bootloader files and kernel-install's copy in /boot."""
    kernel = next(p for p in demo_packages() if p.name == "kernel")
    extra = {
        "/boot/loader/entries/old.conf": "title old\n",
        "/boot/efi/EFI/fedora/grub.cfg": "# grub\n",
        f"/boot/{MACHINE_ID}/{KVER}/linux": "kernel-install's copy\n",
    }
    return replace(kernel, files={**kernel.files, **extra})


def layout_packages() -> list[Pkg]:
    return [
        *base_packages(),
        kernel_package(),
        Pkg(
            "release",
            requires=["filesystem"],
            files={
                "/usr/lib/os-release.fedora": OS_RELEASE,
                "/etc/os-release": ("symlink", "../usr/lib/os-release.fedora"),
                "/etc/machine-id": f"{MACHINE_ID}\n",
            },
        ),
        Pkg(
            "units",
            requires=["filesystem"],
            files={
                **{
                    f"/usr/lib/systemd/system/{u}": f"[Unit]\nDescription={u}\n"
                    for u in ("foo.service", "bar.service", "multi-user.target", "graphical.target")
                },
                "/usr/lib/systemd/system/default.target": ("symlink", "graphical.target"),
                "/etc/systemd/system/multi-user.target.wants/bar.service": ("symlink", "/dev/null"),
            },
        ),
        Pkg(
            "tools",
            requires=["bash", "setup"],
            files={
                "/usr/bin/tool": "#!/bin/sh\necho tool\n",
                "/usr/share/tools/data": "data\n",
                "/usr/libexec/tools-helper": "helper\n",
                "/etc/default/useradd": "GROUP=100\nHOME=/home\nSHELL=/bin/bash\n",
                "/opt/tools/readme": "left behind\n",
            },
            attrs={
                "/usr/bin/tool": "0755,root,root",
                "/usr/libexec/tools-helper": "4750,root,tools",
            },
            scripts={
                "pre": "echo 'tools:x:991:991::/:/sbin/nologin' >> /etc/passwd\n"
                "echo 'tools:x:991:' >> /etc/group"
            },
        ),
        Pkg(
            "kmod",
            requires=["bash"],
            files={
                "/usr/sbin/depmod": '#!/bin/sh\necho "depmod $*" > /usr/lib/modules/$2/modules.ran\n'
            },
            attrs={"/usr/sbin/depmod": "0755,root,root"},
        ),
        Pkg(
            "selinux-policy-targeted",
            requires=["filesystem"],
            files={
                "/etc/selinux/config": "SELINUX=enforcing\nSELINUXTYPE=targeted\n",
                "/etc/selinux/targeted/contexts/files/file_contexts": (
                    "/.*\tsystem_u:object_r:default_t:s0\n"
                    "/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0\n"
                    "/etc(/.*)?\tsystem_u:object_r:etc_t:s0\n"
                ),
                "/etc/selinux/targeted/contexts/files/file_contexts.subs_dist": (
                    "/var/home /home\n/etc/systemd/system /usr/lib/systemd/system\n"
                ),
                # libostree checksums the binary policy; a stand-in will do for labeling.
                "/etc/selinux/targeted/policy/policy.33": "not a real policy\n",
            },
        ),
        Pkg(
            "kernel-other",
            requires=["filesystem"],
            files={"/usr/lib/modules/6.0.0/vmlinuz": "other\n"},
        ),
        Pkg(
            "selinux-policy-broken",
            requires=["filesystem"],
            files={"/etc/selinux/config": "SELINUX=enforcing\nSELINUXTYPE=broken\n"},
        ),
    ]


@pytest.fixture(scope="module")
def layout_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout-repo")
    return make_repo(root / "repo", layout_packages(), root / "work")


def compose_tree(tmp_path: Path, repo: Path, text: str, *extra: str | Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    treefile = write_treefile(config, repo.as_uri(), TREE + textwrap.dedent(text))
    return compose(treefile, tmp_path, *extra)


def composed(tmp_path: Path, repo: Path, text: str) -> Path:
    """Compose, expect success, return the published repository."""
    r = compose_tree(tmp_path, repo, text)
    assert r.exit_code == 0, r.stderr
    assert REF in published_refs(tmp_path / "repo")
    return tmp_path / "repo"


def ls(repo: Path, path: str, *flags: str) -> str:
    return ostree(repo, "ls", *flags, REF, path)


def entry(repo: Path, path: str) -> tuple[str, str]:
    """(mode, rest) of one entry as `ostree ls -d` shows it: `-00644 0 0 5 /p` or a
    symlink `l00777 0 0 0 /p -> target`."""
    fields = ls(repo, path, "-d").split(None, 4)
    return fields[0], fields[4].strip()


def cat(repo: Path, path: str) -> str:
    return ostree(repo, "cat", REF, path)


def exists(repo: Path, path: str) -> bool:
    r = subprocess.run(["ostree", f"--repo={repo}", "ls", "-d", REF, path], capture_output=True)
    return r.returncode == 0


# --- /etc during postprocessing ---------------------------------------------------------


def test_postprocess_edits_through_etc_and_usr_etc_land_in_usr_etc(
    tmp_path: Path, layout_repo: Path
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config/post.sh").write_text("#!/bin/sh\nset -e\necho script >> /etc/order\n")
    repo = composed(tmp_path, layout_repo, """\
        packages: [bash, release]
        postprocess-script: post.sh
        postprocess:
          - |
            #!/bin/sh
            set -e
            echo a > /etc/a
            echo b > /usr/etc/b
            readlink /usr/etc > /etc/usr-etc-is
            echo inline0 >> /etc/order
            echo tmp > /tmp/scratch && cat /tmp/scratch > /etc/tmp-works
          - |
            echo inline1 >> /etc/order
        """)  # fmt: skip
    assert cat(repo, "/usr/etc/a") == "a\n"
    assert cat(repo, "/usr/etc/b") == "b\n"
    assert cat(repo, "/usr/etc/usr-etc-is") == "../etc\n"
    assert cat(repo, "/usr/etc/tmp-works") == "tmp\n"
    # inline scripts in order (one without a #! line runs with /bin/sh), then the script
    assert cat(repo, "/usr/etc/order") == "inline0\ninline1\nscript\n"
    assert entry(repo, "/usr/etc")[0].startswith("d")
    assert not exists(repo, "/etc")
    assert "rpmostree" not in ls(repo, "/usr/bin")


def test_a_failing_postprocess_script_is_named_with_its_output(
    tmp_path: Path, layout_repo: Path
) -> None:
    r = compose_tree(tmp_path, layout_repo, """\
        packages: [bash]
        postprocess:
          - "#!/bin/sh\\ntrue\\n"
          - "#!/bin/sh\\necho doing things\\necho boom >&2\\nexit 3\\n"
        """)  # fmt: skip
    assert error_message(r, 1) == "postprocess[1] failed with exit status 3: doing things | boom"
    assert published_refs(tmp_path / "repo") == {}


def test_postprocess_sees_var_read_only(tmp_path: Path, layout_repo: Path) -> None:
    r = compose_tree(tmp_path, layout_repo, """\
        packages: [bash]
        postprocess: ["#!/bin/sh\\nmkdir /var/cache/x\\n"]
        """)  # fmt: skip
    assert error_message(r, 1).startswith("postprocess[0] failed with exit status 1: ")


# --- mutate-os-release ------------------------------------------------------------------


def test_mutate_os_release_names_the_commit_version(tmp_path: Path, layout_repo: Path) -> None:
    repo = composed(tmp_path, layout_repo, """\
        packages: [bash, release]
        mutate-os-release: "20"
        postprocess:
          - |
            #!/bin/sh
            set -eu
            . /etc/os-release
            echo "$OSTREE_VERSION" > /etc/seen-version
        """)  # fmt: skip
    assert cat(repo, "/usr/lib/os-release.fedora") == (
        "NAME=Fedora\n"
        'VERSION="20.1 (Heisenbug)"\n'
        "ID=fedora\n"
        "VERSION_ID=20\n"
        'PRETTY_NAME="Fedora 20.1 (Heisenbug)"\n'
        "OSTREE_VERSION='20.1'\n"
    )
    assert cat(repo, "/usr/etc/seen-version") == "20.1\n"
    assert entry(repo, "/usr/etc/os-release") == (
        "l00777",
        "/usr/etc/os-release -> ../usr/lib/os-release.fedora",
    )
    fsck(tmp_path / "cache/repo")  # the package cache's copy was not edited in place


# --- units and the default target -------------------------------------------------------


def test_units_and_default_target_as_rpm_ostree_makes_them(
    tmp_path: Path, layout_repo: Path
) -> None:
    repo = composed(tmp_path, layout_repo, """\
        packages: [bash, units]
        units: [foo.service, bar.service]
        default-target: multi-user.target
        """)  # fmt: skip
    wants = "/usr/etc/systemd/system/multi-user.target.wants"
    assert entry(repo, f"{wants}/foo.service")[1].endswith("-> /usr/lib/systemd/system/foo.service")
    assert entry(repo, f"{wants}/bar.service")[1].endswith("-> /dev/null")  # kept as it was
    default = entry(repo, "/usr/lib/systemd/system/default.target")
    assert default[1].endswith("-> multi-user.target")
    assert not exists(repo, "/usr/etc/systemd/system/default.target")


def test_a_unit_the_tree_lacks_fails_the_symlink_check(tmp_path: Path, layout_repo: Path) -> None:
    r = compose_tree(tmp_path, layout_repo, "packages: [bash, units]\nunits: [nope.service]\n")
    assert "failed tests, not published" in error_message(r, 1)
    assert "failed tests: usr-symlinks, not published)" in r.stdout


# --- the kernel, /boot and the machine id -----------------------------------------------


def cat_bytes(repo: Path, path: str) -> bytes:
    return subprocess.run(
        ["ostree", f"--repo={repo}", "cat", REF, path], capture_output=True, check=True
    ).stdout


def test_boot_location_new_and_machine_id(tmp_path: Path, layout_repo: Path) -> None:
    (tmp_path / "config").mkdir()
    text = TREE + "packages: [bash, kernel, kmod, release]\n"
    treefile = write_treefile(tmp_path / "config", layout_repo.as_uri(), text)
    repo = tmp_path / "repo"
    r = run(
        "--debug", "compose", "tree", treefile, "--repo", repo, "--cachedir", tmp_path / "cache"
    )
    assert r.exit_code == 0, r.stderr
    # the package's /boot/initramfs goes; the tree's is generated (engine/initramfs.py)
    assert f"info: Removing RPM-generated 'usr/lib/ostree-boot/initramfs-{KVER}.img'" in r.stderr
    vmlinuz = cat_bytes(repo, f"/usr/lib/modules/{KVER}/vmlinuz")
    initramfs = cat_bytes(repo, f"/usr/lib/modules/{KVER}/initramfs.img")
    assert vmlinuz == b"vmlinuz\n"
    assert initramfs.startswith(b"\x1f\x8b")  # gzip; tests/test_initramfs.py reads it
    assert entry(repo, f"/usr/lib/modules/{KVER}/initramfs.img")[0] == "-00644"
    bootcsum = hashlib.sha256(vmlinuz + initramfs).hexdigest()
    assert cat_bytes(repo, f"/usr/lib/ostree-boot/vmlinuz-{KVER}-{bootcsum}") == vmlinuz
    assert cat_bytes(repo, f"/usr/lib/ostree-boot/initramfs-{KVER}.img-{bootcsum}") == initramfs
    assert cat(repo, "/usr/lib/ostree-boot/efi/EFI/fedora/grub.cfg") == "# grub\n"
    assert not exists(repo, "/usr/lib/ostree-boot/loader")
    assert not exists(repo, f"/usr/lib/ostree-boot/{MACHINE_ID}")
    assert ls(repo, "/boot").split()[0] == "d00755" and ls(repo, "/boot").count("\n") == 1
    assert cat(repo, f"/usr/lib/modules/{KVER}/modules.ran") == f"depmod -a {KVER}\n"
    assert cat(repo, "/usr/etc/machine-id") == ""
    show = ostree(repo, "show", "--print-metadata-key=ostree.linux", REF)
    assert show.strip() == f"'{KVER}'"


def test_boot_location_modules_and_no_machine_id(tmp_path: Path, layout_repo: Path) -> None:
    repo = composed(tmp_path, layout_repo, """\
        packages: [bash, kernel, release]
        boot-location: modules
        machineid-compat: false
        """)  # fmt: skip
    assert cat(repo, f"/usr/lib/modules/{KVER}/vmlinuz") == "vmlinuz\n"
    boot = ls(repo, "/usr/lib/ostree-boot")
    assert "vmlinuz" not in boot and "initramfs" not in boot
    assert "/usr/lib/ostree-boot/efi" in boot
    assert not exists(repo, "/usr/etc/machine-id")


def test_two_kernels_are_an_error_and_none_a_warning(tmp_path: Path, layout_repo: Path) -> None:
    r = compose_tree(tmp_path, layout_repo, "packages: [bash, kernel, kernel-other]\n")
    assert error_message(r, 1) == f"more than one kernel in the tree: {KVER}, 6.0.0"
    r = compose_tree(tmp_path, layout_repo, "packages: [bash]\n")
    assert r.exit_code == 0, r.stderr
    assert "warning: no kernel in the tree: it will not be bootable" in r.stderr


def test_kernel_install_boot_location_is_refused_before_any_work(
    tmp_path: Path, layout_repo: Path
) -> None:
    r = compose_tree(tmp_path, layout_repo, "packages: [bash]\nboot-location: kernel-install\n")
    assert "boot-location: 'kernel-install' is not supported" in error_message(r, 2)
    assert not (tmp_path / "cache/rpms").exists()


# --- the top level ----------------------------------------------------------------------


def test_the_2014_layout(tmp_path: Path, layout_repo: Path) -> None:
    r = compose_tree(tmp_path, layout_repo, "packages: [bash, tools]\n")
    assert r.exit_code == 0, r.stderr
    assert "warning: /opt: 1 files left out of the tree" in r.stderr
    repo = tmp_path / "repo"
    symlinks = {
        "/tmp": "sysroot/tmp",
        "/home": "var/home",
        "/root": "var/roothome",
        "/srv": "var/srv",
        "/mnt": "var/mnt",
        "/media": "run/media",
        "/opt": "var/opt",
        "/ostree": "sysroot/ostree",
        "/bin": "usr/bin",
        "/sbin": "usr/sbin",
        "/usr/local": "../var/usrlocal",
        "/usr/lib/sysimage/rpm": "../../share/rpm",
    }
    for path, target in symlinks.items():
        assert entry(repo, path) == ("l00777", f"{path} -> {target}"), path
    for path in ("/dev", "/proc", "/run", "/sys", "/sysroot", "/var", "/boot"):
        assert entry(repo, path) == ("d00755", path), path
    assert ls(repo, "/var").count("\n") == 1  # empty
    assert cat(repo, "/usr/lib/rpm/macros.d/macros.rpm-ostree") == "%_dbpath /usr/share/rpm\n"
    tmpfiles = cat(repo, "/usr/lib/tmpfiles.d/rpm-ostree-0-integration.conf").splitlines()
    assert "L /var/lib/rpm - - - - ../../usr/share/rpm" in tmpfiles
    assert "d /var/roothome 0700 root root -" in tmpfiles
    assert "d /var/usrlocal 0755 root root -" in cat(
        repo, "/usr/lib/tmpfiles.d/rpm-ostree-0-integration-opt-usrlocal.conf"
    )
    assert "HOME=/var/home\n" in cat(repo, "/usr/etc/default/useradd")
    assert "rpmdb.sqlite" in ls(repo, "/usr/lib/sysimage/rpm-ostree-base-db")


def test_tmp_is_dir(tmp_path: Path, layout_repo: Path) -> None:
    repo = composed(tmp_path, layout_repo, "packages: [bash]\ntmp-is-dir: true\n")
    assert entry(repo, "/tmp") == ("d01777", "/tmp")


# --- readonly-executables ---------------------------------------------------------------


def test_readonly_executables(tmp_path: Path, layout_repo: Path) -> None:
    repo = composed(tmp_path, layout_repo, """\
        packages: [bash, tools]
        readonly-executables: true
        postprocess: ["#!/bin/sh\\nprintf '#!/bin/sh\\\\n' > /usr/bin/later\\nchmod 0755 /usr/bin/later\\n"]
        """)  # fmt: skip
    assert entry(repo, "/usr/bin/tool")[0] == "-00555"
    assert ls(repo, "/usr/libexec/tools-helper", "-d").split()[:3] == ["-04550", "0", "991"]
    assert entry(repo, "/usr/share/tools/data")[0] == "-00644"
    assert entry(repo, "/usr/bin/later")[0] == "-00755"  # made by a script, not a package
    fsck(tmp_path / "cache/repo")


def test_executables_keep_their_write_bits_by_default(tmp_path: Path, layout_repo: Path) -> None:
    repo = composed(tmp_path, layout_repo, "packages: [bash, tools]\n")
    assert entry(repo, "/usr/bin/tool")[0] == "-00755"


# --- ostree-layers ----------------------------------------------------------------------


def commit_layer(repo: Path, ref: str, files: dict[str, str], tmp_path: Path) -> str:
    tree = tmp_path / f"layer-{ref.replace('/', '-')}"
    for path, content in files.items():
        (tree / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tree / path.lstrip("/")).write_text(content)
    if not (repo / "config").exists():
        subprocess.run(["ostree", "init", f"--repo={repo}", "--mode=archive"], check=True)
    out = ostree(repo, "commit", "-b", ref, f"--tree=dir={tree}", "--owner-uid=0",
                 "--owner-gid=0", "--no-xattrs", "-s", ref)  # fmt: skip
    return out.strip()


def test_ostree_layers_and_override_layers(tmp_path: Path, layout_repo: Path) -> None:
    repo = tmp_path / "repo"
    commit_layer(repo, "layers/extra", {"/usr/share/extra/file": "extra\n",
                                        "/usr/share/tools/data": "data\n"}, tmp_path)  # fmt: skip
    commit_layer(repo, "layers/override", {"/usr/share/tools/data": "overridden\n"}, tmp_path)
    text = """\
        packages: [bash, tools]
        ostree-layers: [layers/extra]
        ostree-override-layers: [layers/override]
        """
    composed(tmp_path, layout_repo, text)
    assert cat(repo, "/usr/share/extra/file") == "extra\n"
    assert cat(repo, "/usr/share/tools/data") == "overridden\n"
    # a changed layer is a changed input: the tree is composed again
    commit_layer(tmp_path / "repo", "layers/extra", {"/usr/share/extra/file": "v2\n"}, tmp_path)
    r = compose_tree(tmp_path, layout_repo, text)
    assert r.exit_code == 0, r.stderr
    assert f"{REF}: committed 20.1.1 " in r.stdout
    assert cat(repo, "/usr/share/extra/file") == "v2\n"


def test_a_layer_conflicting_with_a_package_is_an_error(tmp_path: Path, layout_repo: Path) -> None:
    commit_layer(tmp_path / "repo", "layers/bad", {"/usr/share/tools/data": "other\n"}, tmp_path)
    r = compose_tree(
        tmp_path, layout_repo, "packages: [bash, tools]\nostree-layers: [layers/bad]\n"
    )
    assert error_message(r, 1) == (
        "ostree-layers[0]: layers/bad: /usr/share/tools/data differs from the packages' file "
        "(use ostree-override-layers to replace files)"
    )
    assert REF not in published_refs(tmp_path / "repo")


def test_a_missing_layer_ref_is_a_config_error_before_any_download(
    tmp_path: Path, layout_repo: Path
) -> None:
    r = compose_tree(tmp_path, layout_repo, "packages: [bash]\nostree-layers: [layers/none]\n")
    treefile = tmp_path / "config/treefile.yaml"
    assert error_message(r, 2) == (
        f"{treefile}: ostree-layers[0]: 'layers/none' is not a ref in {tmp_path / 'repo'}"
    )
    assert not (tmp_path / "cache/rpms").exists()
    assert not (tmp_path / "repo").exists()


# --- SELinux ----------------------------------------------------------------------------


def test_a_tree_with_a_policy_is_labeled_by_it(tmp_path: Path, layout_repo: Path) -> None:
    repo = composed(tmp_path, layout_repo, "packages: [bash, tools, selinux-policy-targeted]\n")
    assert "system_u:object_r:bin_t:s0" in ls(repo, "/usr/bin/tool", "-X")
    assert "system_u:object_r:etc_t:s0" in ls(repo, "/usr/etc/default/useradd", "-X")
    assert "system_u:object_r:default_t:s0" in ls(repo, "/usr/share/tools/data", "-X")
    subs = cat(repo, "/usr/etc/selinux/targeted/contexts/files/file_contexts.subs_dist")
    assert subs.splitlines() == [
        "# https://github.com/projectatomic/rpm-ostree/pull/1754",
        "# /var/home /home",
        "/etc/systemd/system /usr/lib/systemd/system",
        "# https://github.com/projectatomic/rpm-ostree/pull/1754",
        "/home /var/home",
        "# https://github.com/coreos/rpm-ostree/pull/4640",
        "/usr/etc /etc",
        "# https://github.com/coreos/rpm-ostree/pull/5485",
        "/usr/etc/systemd/system /usr/lib/systemd/system",
        "# https://github.com/coreos/rpm-ostree/pull/1795",
        "/usr/lib/opt /opt",
    ]


def test_selinux_false_and_a_tree_without_a_policy_are_unlabeled(
    tmp_path: Path, layout_repo: Path
) -> None:
    repo = composed(tmp_path, layout_repo, "packages: [bash, tools, selinux-policy-targeted]\n"
                    "selinux: false\n")  # fmt: skip
    assert "security.selinux" not in ls(repo, "/usr/bin/tool", "-X")
    other = tmp_path / "other"
    other.mkdir()
    repo = composed(other, layout_repo, "packages: [bash, tools]\n")
    assert "security.selinux" not in ls(repo, "/usr/bin/tool", "-X")


def test_a_policy_that_does_not_load_is_an_error(tmp_path: Path, layout_repo: Path) -> None:
    r = compose_tree(tmp_path, layout_repo, "packages: [bash, selinux-policy-broken]\n")
    message = error_message(r, 1)
    assert message.startswith("selinux: the tree's SELinux policy cannot be loaded: "), message
    assert message.endswith(" (selinux: false commits the tree unlabeled)")
    repo = composed(
        tmp_path, layout_repo, "packages: [bash, selinux-policy-broken]\nselinux: false\n"
    )
    assert "security.selinux" not in ls(repo, "/usr/bin/sh", "-X")
