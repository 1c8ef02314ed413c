"""Plan the sample universe: from catalog shapes and comps groups to fully specified
packages (every file with its content, mode and owner; every dependency; every
scriptlet), checked for consistency before anything is built."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fedostree.errors import ConfigError, FedostreeError
from fedostree.sample.catalog import (
    BASE_PACKAGES,
    CATALOG,
    COMMAND_BODIES,
    GROUP_REQUIRES,
    LICENSE_TEXTS,
)
from fedostree.sample.comps import CompsGroup
from fedostree.sample.hostkernel import HostKernel
from fedostree.sample.shapes import FileSpec, Shape

PlannedKind = Literal["file", "dir", "symlink", "host", "library"]
Phase = Literal[
    "pre", "post", "postun", "posttrans", "transfiletriggerin", "transfiletriggerpostun"
]

VERSION_RE = re.compile(r"^[0-9A-Za-z._+~]+$")
PATH_RE = re.compile(r"^(/[0-9A-Za-z._+@:-]+)+$")
EVR_RE = re.compile(r"\{evr(?::([^}]+))?\}")
LDCONFIG = "/sbin/ldconfig"
SHELL = "/usr/bin/sh"


@dataclass(frozen=True)
class PlannedFile:
    """One packaged path. `payload` is a file's text, a symlink's target, a copied host
    file's path or a library's soname (compiled at build time)."""

    path: str
    kind: PlannedKind
    payload: str = ""
    mode: int = 0o644
    user: str = "root"
    group: str = "root"
    config: bool = False
    doc: bool = False  # %doc


@dataclass(frozen=True)
class Scriptlet:
    phase: Phase
    body: str = ""  # run by /bin/sh
    program: str = ""  # or run this program (`-p`)
    prefixes: tuple[str, ...] = ()  # a file trigger's path prefixes (`-- PREFIX...`)


@dataclass(frozen=True)
class PlannedPackage:
    name: str
    version: str
    release: str
    noarch: bool
    summary: str
    license: str
    requires: tuple[str, ...]
    requires_pre: tuple[str, ...]
    provides: tuple[str, ...]
    files: tuple[PlannedFile, ...]
    scriptlets: tuple[Scriptlet, ...]
    epoch: int = 0
    recommends: tuple[str, ...] = ()

    @property
    def arch(self) -> str:
        return "noarch" if self.noarch else "x86_64"

    @property
    def evr(self) -> str:
        return f"{self.version}-{self.release}"

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}.rpm"


def universe_names(groups: Sequence[CompsGroup]) -> list[str]:
    """Every package of the universe: group members, base packages and the catalog."""
    members = {member.name for group in groups for member in group.members}
    return sorted(members | set(BASE_PACKAGES) | set(CATALOG))


def group_requires(groups: Sequence[CompsGroup]) -> dict[str, list[str]]:
    """GROUP_REQUIRES for the applications among each group's members."""
    extra: dict[str, list[str]] = {}
    for group in groups:
        for member in group.members:
            if CATALOG.get(member.name, Shape()).kind == "app":
                extra.setdefault(member.name, []).extend(GROUP_REQUIRES.get(group.id, ()))
    return extra


def check_overrides(overrides: Mapping[str, str], names: Sequence[str]) -> None:
    for name, version in overrides.items():
        if name not in names:
            raise ConfigError(f"version override for {name!r}: no such sample package")
        if not VERSION_RE.match(version):
            raise ConfigError(f"version override for {name!r}: invalid version {version!r}")


def plan_packages(
    groups: Sequence[CompsGroup], kernel: HostKernel, overrides: Mapping[str, str] | None = None
) -> tuple[PlannedPackage, ...]:
    """Plan every package of the universe, `overrides` replacing some versions; the
    `kernel` package wraps the build host's kernel."""
    overrides = overrides or {}
    names = universe_names(groups)
    check_overrides(overrides, names)
    shapes = {name: CATALOG.get(name, Shape()) for name in names}
    evrs = {
        name: f"{overrides.get(name, shape.version)}-{shape.release}"
        for name, shape in shapes.items()
    }
    extra = group_requires(groups)
    packages = tuple(plan_package(n, shapes[n], evrs, extra.get(n, []), kernel) for n in names)
    check_universe(packages)
    return packages


def expand_evr(dep: str, name: str, evrs: Mapping[str, str]) -> str:
    def evr(match: re.Match[str]) -> str:
        target = match.group(1) or name
        if target not in evrs:
            raise FedostreeError(f"sample package {name}: {dep!r} names unknown {target!r}")
        return evrs[target]

    return EVR_RE.sub(evr, dep)


def plan_package(
    name: str,
    shape: Shape,
    evrs: Mapping[str, str],
    extra_requires: Sequence[str],
    kernel: HostKernel,
) -> PlannedPackage:
    version, release = evrs[name].rsplit("-", 1)
    summary = shape.summary or f"The {name} package of the fedostree sample universe"
    files = tuple(
        sorted(package_files(name, version, release, shape, kernel), key=lambda f: f.path)
    )
    requires = [*shape.requires, *extra_requires, *implied_requires(name, shape, files)]
    return PlannedPackage(
        name=name,
        version=version,
        release=release,
        noarch=shape.kind == "data" if shape.noarch is None else shape.noarch,
        summary=summary,
        license=shape.license,
        requires=unique(expand_evr(dep, name, evrs) for dep in requires if dep != name),
        requires_pre=unique(implied_requires_pre(shape)),
        provides=unique(
            [*(expand_evr(dep, name, evrs) for dep in shape.provides), *library_provides(shape)]
        ),
        files=files,
        scriptlets=tuple(plan_scriptlets(shape)),
    )


def library_provides(shape: Shape) -> list[str]:
    """How rpm's find-provides names a 64-bit shared library."""
    return [f"{soname}()(64bit)" for soname in shape.libraries]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def implied_requires(name: str, shape: Shape, files: Sequence[PlannedFile]) -> list[str]:
    """What the package's own content needs: a shell for scripts, the C library for
    binaries, systemd for units; `filesystem` when nothing else roots it."""
    implied = []
    has_scripts = any(f.kind == "file" and f.payload.startswith("#!") for f in files)
    scriptlets = shape.post or shape.posttrans or shape.file_triggers
    if (has_scripts or scriptlets) and not owns(files, SHELL):
        implied.append(SHELL)
    if shape.kind == "app" or shape.libraries:
        implied.append("glibc")
    if shape.units:
        implied.append("systemd")
    if not (shape.requires or implied or shape.requires_pre) and name != "filesystem":
        implied.append("filesystem")
    return [dep for dep in implied if dep != name]


def implied_requires_pre(shape: Shape) -> list[str]:
    accounts = ["setup", "/usr/bin/grep"] if shape.users or shape.groups else []
    return [*shape.requires_pre, *accounts]


def owns(files: Iterable[PlannedFile], path: str) -> bool:
    return any(f.path == path for f in files)


def package_files(
    name: str, version: str, release: str, shape: Shape, kernel: HostKernel
) -> Iterator[PlannedFile]:
    yield from document_files(name, version, release, shape)
    if shape.kind == "app":
        yield plan_file(name, version, FileSpec(f"/usr/bin/{name}", "command", mode=0o755))
    if shape.kind == "data":
        yield PlannedFile(f"/usr/share/{name}", "dir", mode=0o755)
        yield PlannedFile(f"/usr/share/{name}/{name}.dat", "file", f"{name} {version} data\n")
    for spec in shape.files:
        yield plan_file(name, version, spec)
    yield from library_files(shape.libraries)
    yield from unit_files(name, shape)
    if name == "kernel":
        yield from kernel_files(f"{version}-{release}.x86_64", kernel)


def document_files(name: str, version: str, release: str, shape: Shape) -> Iterator[PlannedFile]:
    license_text = LICENSE_TEXTS.get(shape.license, f"License: {shape.license}\n")
    readme = (
        f"{name} {version}-{release}\n\n{shape.summary or name}\n\n"
        "A package of the fedostree sample universe: a tiny, Fedora 20 shaped distribution.\n"
    )
    yield PlannedFile(f"/usr/share/doc/{name}", "dir", mode=0o755)
    yield PlannedFile(f"/usr/share/doc/{name}/README", "file", readme)
    yield PlannedFile(f"/usr/share/licenses/{name}", "dir", mode=0o755)
    yield PlannedFile(f"/usr/share/licenses/{name}/COPYING", "file", license_text)


def command_script(path: str, name: str, version: str) -> str:
    command = path.rsplit("/", 1)[1]
    body = COMMAND_BODIES.get(path, f'echo "{command} ({name}) {version}"\n')
    return f"#!/usr/bin/sh\n# {command}: part of {name} {version} (fedostree sample)\n{body}"


def plan_file(name: str, version: str, spec: FileSpec) -> PlannedFile:
    user, group = spec.owner.split(":")
    kind: PlannedKind = "file" if spec.kind == "command" else spec.kind
    payload = command_script(spec.path, name, version) if spec.kind == "command" else spec.text
    config = spec.path.startswith("/etc/") if spec.config is None else spec.config
    return PlannedFile(spec.path, kind, payload, spec.mode, user, group, config and kind == "file")


def library_files(sonames: Sequence[str]) -> Iterator[PlannedFile]:
    for soname in sonames:
        yield PlannedFile(f"/usr/lib64/{soname}.0.0", "library", soname, mode=0o755)
        yield PlannedFile(f"/usr/lib64/{soname}", "symlink", f"{soname}.0.0", mode=0o777)


def unit_files(name: str, shape: Shape) -> Iterator[PlannedFile]:
    commands = [spec.path for spec in shape.files if spec.kind == "command"]
    program = commands[0] if commands else f"/usr/bin/{name}"
    for unit in shape.units:
        service = f"\n[Service]\nExecStart={program}\n" if unit.endswith(".service") else ""
        text = (
            f"[Unit]\nDescription={shape.summary or name}\n{service}"
            "\n[Install]\nWantedBy=multi-user.target\n"
        )
        yield PlannedFile(f"/usr/lib/systemd/system/{unit}", "file", text)


def kernel_files(kver: str, kernel: HostKernel) -> Iterator[PlannedFile]:
    """The host's kernel image as /boot/vmlinuz-KVER (where Fedora's kernel RPM put it;
    the compose moves /boot to /usr/lib/ostree-boot), and the modules a boot from a
    virtio disk needs below /usr/lib/modules/KVER with their modules.dep. No initramfs:
    as with Fedora's kernel RPM, the compose makes it."""
    modules = f"/usr/lib/modules/{kver}"
    yield PlannedFile(f"/boot/vmlinuz-{kver}", "host", str(kernel.vmlinuz), 0o755)
    yield PlannedFile(f"/boot/System.map-{kver}", "file", "ffffffff81000000 T _text\n")
    yield PlannedFile(f"/boot/config-{kver}", "file", "CONFIG_64BIT=y\nCONFIG_OVERLAY_FS=m\n")
    yield PlannedFile(modules, "dir", mode=0o755)
    directories = {parent for module in kernel.modules for parent in parent_dirs(module)}
    for directory in sorted(directories):
        yield PlannedFile(f"{modules}/{directory}", "dir", mode=0o755)
    for module in kernel.modules:
        yield PlannedFile(f"{modules}/{module}", "host", str(kernel.module_path(module)))
    yield PlannedFile(f"{modules}/modules.dep", "file", kernel.modules_dep)


def parent_dirs(relative: str) -> list[str]:
    """kernel/fs/ext4/ext4.ko -> kernel, kernel/fs, kernel/fs/ext4."""
    parts = relative.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def plan_scriptlets(shape: Shape) -> Iterator[Scriptlet]:
    if shape.users or shape.groups:
        yield Scriptlet("pre", account_script(shape))
    if shape.libraries:
        if shape.post:
            yield Scriptlet("post", f"{LDCONFIG}\n{shape.post}")
        else:
            yield Scriptlet("post", program=LDCONFIG)
        yield Scriptlet("postun", program=LDCONFIG)
    elif shape.post:
        yield Scriptlet("post", shape.post)
    if shape.posttrans:
        yield Scriptlet("posttrans", shape.posttrans)
    for trigger in shape.file_triggers:
        yield Scriptlet(trigger.phase, trigger.body, prefixes=trigger.prefixes)


def append_unless(name: str, line: str, path: str) -> str:
    return f"grep -q '^{name}:' {path} || echo '{line}' >> {path}\n"


def account_script(shape: Shape) -> str:
    """Create system groups and users the way `useradd -r` would, with plain shell."""
    lines = []
    for group in shape.groups:
        lines.append(append_unless(group.name, f"{group.name}:x:{group.gid}:", "/etc/group"))
        lines.append(append_unless(group.name, f"{group.name}:!::", "/etc/gshadow"))
    for user in shape.users:
        entry = f"{user.name}:x:{user.uid}:{user.uid}:{user.gecos}:{user.home}:{user.shell}"
        lines.append(append_unless(user.name, f"{user.name}:x:{user.uid}:", "/etc/group"))
        lines.append(append_unless(user.name, f"{user.name}:!::", "/etc/gshadow"))
        lines.append(append_unless(user.name, entry, "/etc/passwd"))
        lines.append(append_unless(user.name, f"{user.name}:!!:16057::::::", "/etc/shadow"))
    return "".join(lines) + "exit 0\n"


def check_universe(packages: Sequence[PlannedPackage]) -> None:
    """Fail early on what rpmbuild or a depsolver would trip over later."""
    owners = check_paths(packages)
    capabilities = set(owners)
    for package in packages:
        capabilities.add(package.name)
        capabilities.update(dep.split()[0] for dep in package.provides)
    for package in packages:
        binaries = [f.path for f in package.files if f.kind in ("host", "library")]
        if package.noarch and binaries:
            raise FedostreeError(f"sample package {package.name} is noarch but ships {binaries[0]}")
        for dep in (*package.requires, *package.requires_pre):
            if dep.split()[0] not in capabilities:
                raise FedostreeError(
                    f"sample package {package.name} requires {dep!r}: nothing provides it"
                )


def check_paths(packages: Sequence[PlannedPackage]) -> dict[str, PlannedFile]:
    """Every path is valid, owned once (directories may be shared, identically), and not
    below a symlink such as /lib64."""
    owners: dict[str, PlannedFile] = {}
    owner_names: dict[str, str] = {}
    for package in packages:
        for entry in package.files:
            if not PATH_RE.match(entry.path):
                raise FedostreeError(f"sample package {package.name}: bad path {entry.path!r}")
            seen = owners.setdefault(entry.path, entry)
            first = owner_names.setdefault(entry.path, package.name)
            if first != package.name and not (seen.kind == "dir" and seen == entry):
                raise FedostreeError(
                    f"sample path {entry.path} is packaged by both {first} and {package.name}"
                )
    links = {path for path, entry in owners.items() if entry.kind == "symlink"}
    for path in owners:
        parents = {path[:i] for i in range(1, len(path)) if path[i] == "/"}
        if parents & links:
            raise FedostreeError(f"sample path {path} lies below a symlink")
    return owners
