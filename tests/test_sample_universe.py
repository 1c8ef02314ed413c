"""The sample package universe: what a user of the repository would check with rpm,
libcomps, libsolv and a shell inside an extracted tree."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libcomps
import pytest
import solv

from fedostree.errors import CommandError, ConfigError, FedostreeError
from fedostree.sample.comps import COMPS_EXTRACT
from fedostree.sample.hostkernel import find_host_kernel
from fedostree.sample.plan import PlannedFile, PlannedPackage, check_paths
from fedostree.sample.universe import CONTENT_TAG, build_sample_repo, is_current, run_command
from tests.support.data import DATA
from tests.support.sample import (
    BASE,
    TREES,
    bwrap_works,
    comps_members,
    expand,
    extract,
    file_table,
    repomd_locations,
    resolve,
    rpm_list,
    rpm_path,
    rpm_query,
)

F20 = DATA / "fedora-20"
F20_COMPS = F20 / "comps-f20.xml.in"
F20_DTD = F20 / "comps.dtd"
GROUPS = [
    "core", "standard", "freeipa-server", "gnome-desktop", "firefox", "gnome-games",
    "libreoffice", "virtualization", "development-tools",
]  # fmt: skip
KVER = "3.11.10-301.fc20.x86_64"


# --- helpers --------------------------------------------------------------------------------


def f20_groups(path: Path) -> dict[str, dict]:
    """The F20 groups as a person reads the .xml.in: no type = mandatory; x86_64 only."""
    groups = {}
    for group in ET.parse(path).getroot().iter("group"):
        members = {}
        for req in group.iter("packagereq"):
            kind = req.get("type", "mandatory")
            if kind in ("mandatory", "default") and req.get("arch", "x86_64") == "x86_64":
                members[req.text] = kind
        groups[group.findtext("id")] = {
            "name": group.findtext("_name"), "description": group.findtext("_description"),
            "members": members,
        }  # fmt: skip
    return groups


def sha256s(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- fixtures -------------------------------------------------------------------------------


# --- the repository and its groups ----------------------------------------------------------


def test_repository_metadata(sample_repo: Path) -> None:
    locations = repomd_locations(sample_repo)
    assert {"primary", "filelists", "other", "group"} <= set(locations)
    assert all(path.is_file() for path in locations.values())
    rpms = list((sample_repo / "Packages").glob("*.rpm"))
    assert len(rpms) > 400
    assert sum(p.stat().st_size for p in sample_repo.rglob("*") if p.is_file()) < 30 * 2**20


def test_vendored_comps_extract_is_verbatim_fedora_20() -> None:
    if not F20_COMPS.is_file():
        pytest.skip(f"{F20_COMPS} is not available")
    real, extract = f20_groups(F20_COMPS), f20_groups(COMPS_EXTRACT)
    assert sorted(extract) == sorted(GROUPS)
    assert all(extract[gid] == real[gid] for gid in GROUPS)


@pytest.mark.parametrize("gid", GROUPS)
def test_group_matches_fedora_20(comps: libcomps.Comps, gid: str) -> None:
    expected = f20_groups(F20_COMPS if F20_COMPS.is_file() else COMPS_EXTRACT)[gid]
    (group,) = [g for g in comps.groups if g.id == gid]
    assert (group.name, group.desc) == (expected["name"], expected["description"])
    assert comps_members(comps, gid) == expected["members"]


def test_comps_is_valid_per_dtd(sample_repo: Path) -> None:
    if not F20_DTD.is_file():
        pytest.skip(f"{F20_DTD} is not available")
    dtd = F20_DTD.read_text()
    models = {}
    for name, model in re.findall(r"<!ELEMENT\s+(\S+)\s+(.*?)>", dtd, re.S):
        model = re.sub(r"\s+", "", model)
        if "#PCDATA" not in model:
            models[name] = re.sub(r"[A-Za-z_]+", r"(?:\g<0> )", model).replace(",", "")
    attrs = {
        name: set(re.findall(r"(\w+)\s+(?:CDATA|NMTOKEN)", body))
        for name, body in re.findall(r"<!ATTLIST\s+(\S+)\s+(.*?)>", dtd, re.S)
    }
    text = repomd_locations(sample_repo)["group"].read_text()
    assert '<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">' in text
    for element in ET.fromstring(text).iter():
        children = "".join(f"{child.tag} " for child in element)
        if element.tag in models:
            assert re.fullmatch(models[element.tag], children), (element.tag, children)
        else:
            assert element.tag in attrs and not children, element.tag
        assert set(element.attrib) <= attrs[element.tag], element.tag
    assert "_name" not in text and "optional" not in text and "conditional" not in text


def test_every_group_member_is_a_package(comps: libcomps.Comps, pool: solv.Pool) -> None:
    for gid in GROUPS:
        for name in comps_members(comps, gid):
            assert not pool.select(name, solv.Selection.SELECTION_NAME).isempty(), name


# --- dependency resolution ------------------------------------------------------------------


@pytest.mark.parametrize("tree", list(TREES))
def test_tree_resolves_without_problems(comps: libcomps.Comps, pool: solv.Pool, tree: str) -> None:
    resolved = resolve(pool, expand(comps, TREES[tree]))
    listed = set(expand(comps, TREES[tree]))
    print(f"{tree}: {len(resolved)} packages")
    assert listed <= resolved
    assert {"filesystem", "setup", "glibc", "bash", "busybox", "coreutils"} <= resolved
    assert len(resolved - listed) >= 20, "groups pull in packages they do not list"


@pytest.mark.parametrize("gid", GROUPS)
def test_each_group_installs_with_the_base_packages(
    comps: libcomps.Comps, pool: solv.Pool, gid: str
) -> None:
    resolve(pool, [*BASE, *comps_members(comps, gid)])


def test_trees_grow_as_their_group_lists_do(comps: libcomps.Comps, pool: solv.Pool) -> None:
    sizes = {tree: resolve(pool, expand(comps, items)) for tree, items in TREES.items()}
    assert sizes["base/minimal"] < sizes["server/docker-io"]
    assert sizes["workstation/gnome-core"] < sizes["workstation/gnome-default"]
    assert sizes["workstation/gnome-default"] < sizes["workstation/gnome-development-and-virt"]


def test_dependency_chains_pull_in_unlisted_packages(
    comps: libcomps.Comps, pool: solv.Pool
) -> None:
    every_member = {name for gid in GROUPS for name in comps_members(comps, gid)}
    gnome = resolve(pool, expand(comps, TREES["workstation/gnome-core"]))
    docker = resolve(pool, expand(comps, TREES["server/docker-io"]))
    ipa = resolve(pool, expand(comps, TREES["server/freeipa-server"]))
    pulled = {
        "gnome": {"mutter", "clutter", "glib2", "libselinux", "gjs"},
        "docker": {"device-mapper-libs", "lxc"},
        "ipa": {"389-ds-base", "krb5-server", "httpd", "sssd-common"},
    }
    assert pulled["gnome"] <= gnome and pulled["docker"] <= docker and pulled["ipa"] <= ipa
    assert not set().union(*pulled.values()) & every_member
    assert "docker-io" not in gnome and "gnome-shell" not in ipa


def test_every_package_roots_in_filesystem(pool: solv.Pool) -> None:
    """Each package installs alone, and always brings filesystem (directly or by a chain)."""
    names = sorted({s.name for s in pool.solvables_iter()})
    for name in names:
        assert "filesystem" in resolve(pool, [name]), name


# --- package contents ----------------------------------------------------------------------


def test_shell_and_coreutils_are_busybox(sample_repo: Path) -> None:
    busybox = file_table(rpm_path(sample_repo, "busybox"))
    assert busybox["/usr/sbin/busybox"][0] == "-rwxr-xr-x"
    bash = file_table(rpm_path(sample_repo, "bash"))
    assert bash["/usr/bin/sh"][4] == "../sbin/busybox"
    assert "/usr/bin/bash" in bash
    assert "busybox" in rpm_list(rpm_path(sample_repo, "bash"), "--requires")
    assert {"/bin/sh", "/bin/bash"} <= {
        line.split()[0] for line in rpm_list(rpm_path(sample_repo, "bash"), "--provides")
    }
    coreutils = file_table(rpm_path(sample_repo, "coreutils"))
    for applet in ("cat", "ls", "mkdir", "echo", "cp", "mv", "rm", "ln", "sed", "grep", "head"):
        assert coreutils[f"/usr/bin/{applet}"][4] == "../sbin/busybox", applet


def test_filesystem_setup_and_release_files(sample_repo: Path) -> None:
    filesystem = file_table(rpm_path(sample_repo, "filesystem"))
    for link, target in [("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib64", "usr/lib64")]:
        assert filesystem[link][4] == target
    for directory in ("/etc", "/usr/share", "/var/lib", "/var/log", "/proc", "/run", "/boot"):
        assert filesystem[directory][0].startswith("d"), directory
    assert filesystem["/tmp"][0] == "drwxrwxrwt"
    setup = file_table(rpm_path(sample_repo, "setup"))
    for path in ("/etc/passwd", "/etc/group", "/etc/shadow"):
        assert "c" in setup[path][3] and "n" in setup[path][3], path  # %config(noreplace)
    release = file_table(rpm_path(sample_repo, "fedora-release"))
    assert release["/etc/os-release"][4] == "../usr/lib/os-release"
    assert "/usr/lib/os-release" in release and "/etc/fedora-release" in release
    assert "system-release" in rpm_list(rpm_path(sample_repo, "fedora-release"), "--provides")


@pytest.mark.parametrize(
    ("name", "soname"),
    [("glib2", "libglib-2.0.so.0"), ("libselinux", "libselinux.so.1"),
     ("openssl-libs", "libcrypto.so.10"), ("ncurses-libs", "libtinfo.so.5")],
)  # fmt: skip
def test_library_packages_ship_real_shared_objects(
    sample_repo: Path, tmp_path: Path, name: str, soname: str
) -> None:
    rpm = rpm_path(sample_repo, name)
    files = file_table(rpm)
    assert files[f"/usr/lib64/{soname}"][4] == f"{soname}.0.0"
    assert f"{soname}()(64bit)" in rpm_list(rpm, "--provides")
    scripts = rpm_list(rpm, "--scripts")
    assert "postinstall program: /sbin/ldconfig" in scripts
    assert "postuninstall program: /sbin/ldconfig" in scripts
    subprocess.run(f"rpm2cpio {rpm} | cpio -idm --quiet", shell=True, cwd=tmp_path, check=True)
    library = tmp_path / f"usr/lib64/{soname}.0.0"
    assert library.read_bytes()[:4] == b"\x7fELF"
    dynamic = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True).stdout
    assert f"Library soname: [{soname}]" in dynamic and "NEEDED" not in dynamic


def test_glibc_ships_ldconfig(sample_repo: Path) -> None:
    glibc = rpm_path(sample_repo, "glibc")
    assert "/usr/sbin/ldconfig" in file_table(glibc)
    assert "/sbin/ldconfig" in rpm_list(glibc, "--provides")
    assert "/etc/ld.so.conf" in rpm_list(glibc, "--configfiles")


def test_kernel_wraps_the_hosts_real_kernel(sample_repo: Path, tmp_path: Path) -> None:
    """Fedora 20's name and version around the build host's kernel image and the modules
    a boot from a virtio disk with an ext4 root needs; no initramfs (the compose makes it)."""
    kernel = rpm_path(sample_repo, "kernel")
    assert rpm_query(kernel, "%{VERSION}-%{RELEASE}.%{ARCH}") == KVER
    requires = {line.split()[0] for line in rpm_list(kernel, "--requires")}
    assert {"linux-firmware", "grubby"} <= requires
    files = file_table(kernel)
    assert files[f"/boot/vmlinuz-{KVER}"][0] == "-rwxr-xr-x"
    assert not [path for path in files if "initramfs" in path or "initrd" in path]
    extract(kernel, tmp_path)
    vmlinuz = (tmp_path / f"boot/vmlinuz-{KVER}").read_bytes()
    assert vmlinuz[0x202:0x206] == b"HdrS"  # the x86 boot protocol's header: a bzImage
    host = find_host_kernel()
    assert vmlinuz == host.vmlinuz.read_bytes()
    moddir = tmp_path / f"usr/lib/modules/{KVER}"
    shipped = sorted(str(p.relative_to(moddir)) for p in moddir.rglob("*.ko*"))
    assert shipped == sorted(host.modules)
    names = {Path(module).name.removesuffix(".ko") for module in shipped}
    assert {"virtio_ring", "virtio", "virtio_pci", "virtio_blk", "jbd2", "mbcache", "ext4"} <= names
    for module in shipped:
        assert (moddir / module).read_bytes() == host.module_path(module).read_bytes(), module
    dep_lines = (moddir / "modules.dep").read_text().splitlines()
    deps = {line.split(":")[0]: line.split(":")[1].split() for line in dep_lines}
    assert sorted(deps) == shipped and len(dep_lines) == len(shipped)
    assert all(set(needed) <= set(shipped) for needed in deps.values())
    assert deps["kernel/fs/ext4/ext4.ko"]  # ext4 needs jbd2, mbcache, crc16
    debian = set((host.moddir / "modules.dep").read_text().splitlines())
    assert set(dep_lines) <= debian  # Debian's own lines, not rewritten


def test_systemd_ships_the_boot_protocols_init(sample_repo: Path, tmp_path: Path) -> None:
    systemd = rpm_path(sample_repo, "systemd")
    files = file_table(systemd)
    assert files["/usr/lib/systemd/systemd"][0] == "-rwxr-xr-x"
    assert files["/usr/sbin/init"][4] == "../lib/systemd/systemd"
    assert "busybox" in rpm_list(systemd, "--requires")
    extract(systemd, tmp_path)
    init = (tmp_path / "usr/lib/systemd/systemd").read_text()
    assert init.startswith("#!/usr/bin/sh\n")
    for marker in ("fedostree-booted: ", "fedostree-check: ", "fedostree-boot-done: "):
        assert f'echo "{marker}' in init, marker
    syntax = subprocess.run(["busybox", "sh", "-n"], input=init, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


def test_config_files_var_content_and_system_users(sample_repo: Path) -> None:
    dbus = rpm_path(sample_repo, "dbus")
    files = file_table(dbus)
    assert files["/var/lib/dbus"][1:3] == ("dbus", "dbus")
    assert files["/usr/libexec/dbus-daemon-launch-helper"][:3] == ("-rwsr-x---", "root", "dbus")
    assert "/etc/dbus-1/system.conf" in rpm_list(dbus, "--configfiles")
    pre = rpm_query(dbus, "%{PREIN}")
    assert "grep -q '^dbus:' /etc/passwd || echo 'dbus:x:81:81:" in pre
    assert "/usr/bin/grep" in rpm_list(dbus, "--requires")
    assert "/var/log/audit/audit.log" in file_table(rpm_path(sample_repo, "audit"))
    assert "/var/lib/logrotate/logrotate.status" in file_table(rpm_path(sample_repo, "logrotate"))


def test_scriptlets_are_shell_or_ldconfig_only(sample_repo: Path) -> None:
    fmt = "%{NAME} %{PREINPROG} %{POSTINPROG} %{POSTUNPROG} %{PREUNPROG} %{POSTTRANSPROG}\n"
    out = subprocess.run(
        ["rpm", "-qp", "--qf", fmt, *map(str, (sample_repo / "Packages").glob("*.rpm"))],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    programs = {word for line in out.splitlines() for word in line.split()[1:]}
    assert programs == {"(none)", "/bin/sh", "/sbin/ldconfig"}


def test_dependency_forms(sample_repo: Path) -> None:
    """Versioned requires, a file require, virtual provides and sonames, as in Fedora."""
    shell = rpm_list(rpm_path(sample_repo, "gnome-shell"), "--requires")
    assert "mutter >= 3.10.1" in shell and "glib2 >= 2.38" in shell and "/usr/bin/sh" in shell
    assert "clutter >= 1.15.90" in rpm_list(rpm_path(sample_repo, "mutter"), "--requires")
    clutter = rpm_list(rpm_path(sample_repo, "clutter"), "--requires")
    assert "glib2 >= 2.38" in clutter and "libselinux.so.1()(64bit)" in clutter
    docker = rpm_list(rpm_path(sample_repo, "docker-io"), "--requires")
    assert "device-mapper-libs >= 1.02.82" in docker and "systemd" in docker
    ipa = rpm_list(rpm_path(sample_repo, "freeipa-server"), "--requires")
    assert {"389-ds-base >= 1.3.2.8", "krb5-server >= 1.11"} <= set(ipa)
    assert "dailyjobs" in rpm_list(rpm_path(sample_repo, "cronie"), "--requires")
    assert "dailyjobs" in rpm_list(rpm_path(sample_repo, "cronie-anacron"), "--provides")


def test_packages_share_identical_license_files(sample_repo: Path) -> None:
    digests = [
        rpm_query(rpm_path(sample_repo, name), "[%{FILEDIGESTS} %{FILENAMES}\n]")
        for name in ("bash", "kernel", "gnome-shell")
    ]
    copying = [
        line.split()[0] for text in digests for line in text.splitlines() if "COPYING" in line
    ]
    assert len(copying) == 3 and len(set(copying)) == 1


# --- a tree extracted from the repository ---------------------------------------------------


def test_extracted_minimal_tree_runs_shell_scripts_and_scriptlets(
    sample_repo: Path, comps: libcomps.Comps, pool: solv.Pool, tmp_path: Path
) -> None:
    reason = bwrap_works()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    root.mkdir()
    for name in sorted(resolve(pool, expand(comps, TREES["base/minimal"]))):
        rpm = rpm_path(sample_repo, name)
        subprocess.run(f"rpm2cpio {rpm} | cpio -idm --quiet", shell=True, cwd=root, check=True)

    def sh(script: str) -> str:
        argv = ["bwrap", "--bind", str(root), "/", "--proc", "/proc", "--dev", "/dev"]
        result = subprocess.run(
            [*argv, "/usr/bin/sh", "-c", script], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "bash" in sh("ls /usr/bin | head -100").split()
    assert sh("bash -c 'echo $((6 * 7))'") == "42\n"
    assert "libselinux.so.1" in sh("/sbin/ldconfig && ldconfig -p")
    pre = rpm_query(rpm_path(sample_repo, "dbus"), "%{PREIN}")
    sh(pre)
    sh(pre)
    assert sh("grep -c '^dbus:' /etc/passwd /etc/group") == "/etc/passwd:1\n/etc/group:1\n"
    sh(rpm_query(rpm_path(sample_repo, "glib2"), "%{POSTTRANS}"))
    assert (root / "usr/lib64/gio/modules/giomodule.cache").is_file()


# --- builds ---------------------------------------------------------------------------------


def test_repository_records_its_generator_version(sample_repo: Path, tmp_path: Path) -> None:
    """The demo and the benchmark rebuild a repository that an older generator built."""
    assert is_current(sample_repo)
    old = tmp_path / "old"
    shutil.copytree(sample_repo, old)
    repomd = old / "repodata" / "repomd.xml"
    repomd.write_text(repomd.read_text().replace(CONTENT_TAG, "fedostree-sample-v1"))
    assert not is_current(old) and not is_current(tmp_path / "missing")


def test_version_override_changes_only_that_package(sample_repo: Path, tmp_path: Path) -> None:
    newer = build_sample_repo(tmp_path / "repo", version_overrides={"bash": "4.2.46"})
    old, new = sha256s(sample_repo / "Packages"), sha256s(newer / "Packages")
    assert set(old) - set(new) == {"bash-4.2.45-4.fc20.x86_64.rpm"}
    assert set(new) - set(old) == {"bash-4.2.46-4.fc20.x86_64.rpm"}
    assert all(old[name] == new[name] for name in set(old) & set(new))
    bash = newer / "Packages" / "bash-4.2.46-4.fc20.x86_64.rpm"
    assert rpm_query(bash, "%{VERSION}-%{RELEASE}") == "4.2.46-4.fc20"


@pytest.mark.slow
def test_rebuild_over_an_old_repository_is_byte_identical(
    sample_repo: Path, tmp_path: Path
) -> None:
    old = tmp_path / "repo"
    shutil.copytree(sample_repo, old)
    (old / "repodata" / "stale-primary.xml.gz").write_text("stale")
    again = build_sample_repo(old)
    assert sha256s(again) == sha256s(sample_repo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_bad_requests_fail_before_building(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no-such-package"):
        build_sample_repo(tmp_path / "a", version_overrides={"no-such-package": "1"})
    with pytest.raises(ConfigError, match="invalid version"):
        build_sample_repo(tmp_path / "b", version_overrides={"bash": "4.2-1"})
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "precious").write_text("keep me")
    with pytest.raises(FedostreeError, match="not replacing it"):
        build_sample_repo(tmp_path / "c")
    assert (tmp_path / "c" / "precious").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_failing_tool_reports_command_line_and_output() -> None:
    with pytest.raises(CommandError) as failure:
        run_command(["sh", "-c", "echo first; echo the reason; exit 3"])
    message = str(failure.value)
    assert "exit 3" in message and "sh -c 'echo first; echo the reason; exit 3'" in message
    assert message.endswith("the reason")


def test_planner_rejects_conflicting_paths() -> None:
    def package(name: str, *files: PlannedFile) -> PlannedPackage:
        return PlannedPackage(name, "1", "1", False, "s", "MIT", (), (), (), files, ())

    shared_dir = PlannedFile("/usr/share/x", "dir", mode=0o755)
    check_paths([package("a", shared_dir), package("b", shared_dir)])
    with pytest.raises(FedostreeError, match="both a and b"):
        check_paths(
            [
                package("a", PlannedFile("/usr/bin/x", "file")),
                package("b", PlannedFile("/usr/bin/x", "file")),
            ]
        )
    with pytest.raises(FedostreeError, match="below a symlink"):
        check_paths(
            [
                package(
                    "a",
                    PlannedFile("/lib64", "symlink", "usr/lib64"),
                    PlannedFile("/lib64/x", "file"),
                )
            ]
        )
