"""Build the sample package universe: a small, deterministic rpm-md repository shaped
like Fedora 20 (real comps groups, dependency chains, scriptlets, shared libraries,
the build host's kernel, a working busybox shell, an init that boots) that the fedostree
trees are composed from.

The recipe: load the groups, plan the packages, stage their files, render one spec
with a subpackage per package, run rpmbuild, write comps.xml, run createrepo_c."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from fedostree.errors import CommandError, FedostreeError
from fedostree.sample.catalog import COREUTILS_APPLETS, INIT_APPLETS, SAMPLE_GROUPS
from fedostree.sample.comps import load_categories, load_groups, render_comps
from fedostree.sample.hostkernel import find_host_kernel
from fedostree.sample.plan import PlannedFile, PlannedPackage, Scriptlet, plan_packages

# Bump whenever the same inputs build a different repository: a repository built before is
# then no longer current (`is_current`), and the demo and the benchmark rebuild theirs.
# 2: file triggers (glibc, hicolor-icon-theme, glib2), icons and schemas, the layerable
# sample-editor, fedora-release's /etc/yum.repos.d/fedostree-sample.repo.
# 3: bootable trees: `kernel` wraps the build host's real kernel (vmlinuz, the virtio and
# ext4 modules, their modules.dep) and ships no initramfs; systemd's /usr/lib/systemd/systemd
# is a busybox sh init that follows the boot protocol (mounts /var, prints the boot markers,
# runs the boot-time checks, powers off).
GENERATOR_VERSION = 3
CONTENT_TAG = f"fedostree-sample-v{GENERATOR_VERSION}"  # in repomd.xml's <tags><content>
REPOMD_NS = {"r": "http://linux.duke.edu/metadata/repo"}
# 2013-12-17, the Fedora 20 release day: every build time and file mtime.
SOURCE_DATE_EPOCH = 1387238400
SPEC_NAME = "fedostree-sample"
BUSYBOX = Path("/bin/busybox")
OUTPUT_TAIL_LINES = 30
RPMBUILD_DEFINES = {
    "_buildhost": "fedostree-sample",
    "use_source_date_epoch_as_buildtime": "1",
    "clamp_mtime_to_source_date_epoch": "1",
    "_source_date_epoch_from_changelog": "0",
    "_build_id_links": "none",
    "debug_package": "%{nil}",
    "__os_install_post": "%{nil}",
    "__arch_install_post": "%{nil}",
    "__spec_install_post": "%{nil}",
    "_binary_payload": "w6.gzdio",
    "_binary_filedigest_algorithm": "8",
    "_build_name_fmt": "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
}


def build_sample_repo(dest: Path, *, version_overrides: Mapping[str, str] | None = None) -> Path:
    """Build the sample rpm-md repository into dest (created/replaced); return dest."""
    groups = load_groups(SAMPLE_GROUPS)
    packages = plan_packages(groups, find_host_kernel(), version_overrides)
    check_host_tools(packages)
    dest = Path(dest).absolute()
    check_replaceable(dest)
    with tempfile.TemporaryDirectory(prefix="fedostree-sample-") as tmp, staging_dir(dest) as repo:
        work = Path(tmp)
        move_rpms(build_rpms(packages, work), repo / "Packages")
        comps = work / "comps.xml"
        comps.write_text(render_comps(groups, load_categories(SAMPLE_GROUPS)), encoding="utf-8")
        run_createrepo(repo, comps)
        replace_dir(repo, dest)
    return dest


def is_current(repo: Path) -> bool:
    """Whether repo is a sample repository that this GENERATOR_VERSION built."""
    try:
        root = ET.parse(Path(repo) / "repodata" / "repomd.xml").getroot()
    except (OSError, ET.ParseError):
        return False
    return CONTENT_TAG in (tag.text for tag in root.findall("r:tags/r:content", REPOMD_NS))


@contextmanager
def staging_dir(dest: Path) -> Iterator[Path]:
    """A fresh directory beside dest (so that it can be renamed onto it), removed unless
    it was renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    staging.chmod(0o755)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- checks -------------------------------------------------------------------------------


def check_host_tools(packages: Sequence[PlannedPackage]) -> None:
    """The tools, and the host binaries that the packages ship (busybox, ldconfig)."""
    for tool in ("rpmbuild", "createrepo_c", "gcc"):
        if shutil.which(tool) is None:
            raise FedostreeError(f"building the sample repository needs {tool} (run `make setup`)")
    host_files = sorted({f.payload for p in packages for f in p.files if f.kind == "host"})
    for path in map(Path, host_files):
        if not path.is_file():
            raise FedostreeError(f"building the sample repository needs {path} (run `make setup`)")
    applets = set(run_command([str(BUSYBOX), "--list"]).split())
    missing = sorted(set(COREUTILS_APPLETS + INIT_APPLETS) - applets)
    if missing:
        raise FedostreeError(f"{BUSYBOX} lacks the applets {', '.join(missing)}")


def check_replaceable(dest: Path) -> None:
    """Only an empty directory or an earlier repository may be replaced."""
    if not dest.exists() and not dest.is_symlink():
        return
    is_dir = dest.is_dir() and not dest.is_symlink()
    if is_dir and (not any(dest.iterdir()) or (dest / "repodata" / "repomd.xml").is_file()):
        return
    raise FedostreeError(f"{dest} exists and is not a repository; not replacing it")


# --- running tools ------------------------------------------------------------------------


def tool_environment(home: Path) -> dict[str, str]:
    """A clean environment: no ~/.rpmmacros, C locale, fixed SOURCE_DATE_EPOCH."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH),
        # rpmbuild writes subpackages on OpenMP threads; busy-waiting ones would take
        # the CPU the others need (it doubles rpmbuild's time on a loaded machine).
        "OMP_WAIT_POLICY": "PASSIVE",
    }


def run_command(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run a tool; on failure raise CommandError with its command line and output tail."""
    try:
        result = subprocess.run(
            list(argv), cwd=cwd, env=None if env is None else dict(env),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
    except OSError as exc:
        raise CommandError(f"cannot run {shlex.join(argv)}: {exc}") from exc
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-OUTPUT_TAIL_LINES:])
        raise CommandError(f"command failed (exit {result.returncode}): {shlex.join(argv)}\n{tail}")
    return result.stdout


# --- staging files ------------------------------------------------------------------------


def build_rpms(packages: Sequence[PlannedPackage], work: Path) -> list[Path]:
    stage = work / "stage"
    stage_files(packages, stage, work / "libsrc")
    spec = work / f"{SPEC_NAME}.spec"
    spec.write_text(render_spec(packages, stage), encoding="utf-8")
    return run_rpmbuild(spec, work / "rpmbuild", packages)


def stage_files(packages: Sequence[PlannedPackage], stage: Path, libsrc: Path) -> None:
    """Write every packaged path below stage, with its final mode and a fixed mtime."""
    owners = {entry.path: (package, entry) for package in packages for entry in package.files}
    libsrc.mkdir(parents=True)
    libraries = [(package, entry) for package, entry in owners.values() if entry.kind == "library"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda owned: compile_library(owned[0], owned[1], libsrc), libraries))
    for path in sorted(owners):
        target = stage / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        stage_entry(owners[path][1], target, libsrc)
    clamp_mtimes(stage)


def stage_entry(entry: PlannedFile, target: Path, libsrc: Path) -> None:
    if entry.kind == "dir":
        target.mkdir(exist_ok=True)
    elif entry.kind == "symlink":
        target.symlink_to(entry.payload)
    elif entry.kind == "file":
        target.write_text(entry.payload, encoding="utf-8")
    elif entry.kind == "host":
        shutil.copyfile(entry.payload, target)
    elif entry.kind == "library":
        shutil.copyfile(libsrc / entry.payload, target)
    if entry.kind != "symlink":
        target.chmod(entry.mode)


def compile_library(package: PlannedPackage, entry: PlannedFile, libsrc: Path) -> None:
    """A real ELF shared object with that soname and no DT_NEEDED (no libc needed)."""
    soname = entry.payload
    symbol = "".join(c if c.isalnum() else "_" for c in soname)
    source = libsrc / f"{soname}.c"
    source.write_text(
        f"/* {soname} of {package.name} {package.evr} (fedostree sample) */\n"
        f"const char *fedostree_sample_{symbol}(void)\n"
        f'{{ return "{package.name} {package.evr}"; }}\n',
        encoding="utf-8",
    )
    run_command(
        ["gcc", "-shared", "-fPIC", "-nostdlib", "-O2", f"-Wl,-soname,{soname}",
         "-Wl,--build-id=none", "-Wl,-z,noseparate-code", "-o", soname, source.name],
        cwd=libsrc,
    )  # fmt: skip


def clamp_mtimes(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH), follow_symlinks=False)


# --- the spec file ------------------------------------------------------------------------


def spec_text(text: str) -> str:
    """Text that rpm must not macro-expand."""
    return text.replace("%", "%%")


def render_spec(packages: Sequence[PlannedPackage], stage: Path) -> str:
    header = [
        f"Name: {SPEC_NAME}",
        "Version: 20",
        "Release: 1.fc20",
        "Summary: The fedostree sample package universe",
        "License: GPLv2+",
        "",
        "%description",
        "One source package building every package of the fedostree sample universe.",
        "",
        "%install",
        f"cp -a '{stage}/.' %{{buildroot}}/",
        "",
    ]
    body = [line for package in packages for line in render_package(package)]
    return "\n".join(header + body) + "\n"


def render_package(package: PlannedPackage) -> Iterator[str]:
    yield from render_preamble(package)
    for scriptlet in package.scriptlets:
        yield from render_scriptlet(package.name, scriptlet)
    yield f"%files -n {package.name}"
    yield from (render_file(entry) for entry in package.files)
    yield ""


def render_preamble(package: PlannedPackage) -> Iterator[str]:
    yield f"%package -n {package.name}"
    if package.epoch:
        yield f"Epoch: {package.epoch}"
    yield f"Version: {package.version}"
    yield f"Release: {package.release}"
    yield f"Summary: {spec_text(package.summary)}"
    yield f"License: {package.license}"
    if package.noarch:
        yield "BuildArch: noarch"
    yield "AutoReqProv: no"
    yield from (f"Requires: {dep}" for dep in package.requires)
    yield from (f"Requires(pre): {dep}" for dep in package.requires_pre)
    yield from (f"Provides: {dep}" for dep in package.provides)
    yield from (f"Recommends: {dep}" for dep in package.recommends)
    yield ""
    yield f"%description -n {package.name}"
    yield spec_text(package.summary) + "."
    yield ""


def render_scriptlet(name: str, scriptlet: Scriptlet) -> Iterator[str]:
    """`%PHASE -n NAME [-p PROGRAM] [-- PREFIX...]`, then the body unless a program runs."""
    program = f" -p {scriptlet.program}" if scriptlet.program else ""
    prefixes = f" -- {' '.join(scriptlet.prefixes)}" if scriptlet.prefixes else ""
    yield f"%{scriptlet.phase} -n {name}{program}{prefixes}"
    if not scriptlet.program:
        yield spec_text(scriptlet.body.rstrip("\n"))
    yield ""


def render_file(entry: PlannedFile) -> str:
    mode = "-" if entry.kind == "symlink" else f"{entry.mode:04o}"
    prefix = "%dir " if entry.kind == "dir" else ""
    config = "%config(noreplace) " if entry.config else ""
    doc = "%doc " if entry.doc else ""
    return f"{prefix}{config}{doc}%attr({mode},{entry.user},{entry.group}) {entry.path}"


# --- rpmbuild and createrepo_c ------------------------------------------------------------


def run_rpmbuild(spec: Path, topdir: Path, packages: Sequence[PlannedPackage]) -> list[Path]:
    """Build every subpackage of spec; return the RPMs in the order of packages."""
    rpmdir = rpmbuild(spec, topdir)
    rpms = [rpmdir / package.filename for package in packages]
    missing = [rpm.name for rpm in rpms if not rpm.is_file()]
    if missing:
        raise FedostreeError(f"rpmbuild did not write {', '.join(missing[:5])}")
    return rpms


def rpmbuild(spec: Path, topdir: Path) -> Path:
    """`rpmbuild -bb` of spec in its own _topdir, reproducibly; return the RPMS directory."""
    rpmdir = topdir / "RPMS"
    for sub in ("BUILD", "BUILDROOT", "RPMS", "SOURCES", "SPECS", "SRPMS", "tmp"):
        (topdir / sub).mkdir(parents=True, exist_ok=True)
    defines = {**RPMBUILD_DEFINES, "_topdir": str(topdir), "_tmppath": str(topdir / "tmp"),
               "_rpmdir": str(rpmdir)}  # fmt: skip
    argv = ["rpmbuild", "-bb", "--nodeps", "--target", "x86_64", "--quiet"]
    argv += [arg for key, value in defines.items() for arg in ("--define", f"{key} {value}")]
    run_command([*argv, str(spec)], cwd=topdir, env=tool_environment(topdir))
    return rpmdir


def move_rpms(rpms: Iterable[Path], directory: Path) -> None:
    """Move the RPMs into the repository, with the fixed mtime that primary.xml records."""
    directory.mkdir(parents=True)
    for rpm in rpms:
        shutil.move(rpm, directory / rpm.name)
        os.utime(directory / rpm.name, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH))


def run_createrepo(repo: Path, comps: Path | None) -> None:
    groupfile = ["--groupfile", str(comps)] if comps is not None else []
    argv = [
        "createrepo_c", "--quiet", "--no-database", *groupfile, "--content", CONTENT_TAG,
        "--revision", str(SOURCE_DATE_EPOCH), "--set-timestamp-to-revision",
        "--workers", str(os.cpu_count() or 1), str(repo),
    ]  # fmt: skip
    run_command(argv, env=tool_environment(repo))


def replace_dir(source: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    source.rename(dest)
