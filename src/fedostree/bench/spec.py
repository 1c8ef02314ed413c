"""The spec file of one build: the source package's header, a `%package -n` per package
with its exact dependencies (AutoReqProv off), and `%files` lists that rpm 4.18 reads
back as exactly the listed paths, spaces and glob characters included."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from fedostree.bench.metadata import DEP_KINDS, Dependency, RealPackage, split_sourcerpm
from fedostree.bench.plan import Build, PlannedFile, PlannedPackage
from fedostree.errors import FedostreeError

DEP_TAGS = {kind: kind.capitalize() for kind in DEP_KINDS}
PLAIN_QUALIFIERS = ("", "preun", "postun", "verify")
PRE_QUALIFIERS = ("pre", "post")
GLOB_CHARS = "*?["
UNSUPPORTED_PATH_CHARS = set('"\n\t{}')


def spec_text(text: str) -> str:
    """Text that rpm must not macro-expand."""
    return text.replace("%", "%%")


def render_spec(build: Build) -> str:
    """The whole spec. It has no %install: rpmbuild packages the staged tree as its
    buildroot (`rpmbuild --buildroot`)."""
    name, version, release = split_sourcerpm(build.source)
    main = build.main
    first = build.packages[0].real
    lines = [f"Name: {name}", f"Version: {version}", f"Release: {release}"]
    if main is not None and main.real.epoch:
        lines.append(f"Epoch: {main.real.epoch}")
    if build.arch == "noarch":
        lines.append("BuildArch: noarch")
    lines += [f"Vendor: {spec_text(first.vendor)}"] if first.vendor else []
    lines += [f"Packager: {spec_text(first.packager)}"] if first.packager else []
    if main is not None:
        lines += render_tags(main.real, with_version=False)
        lines += ["", "%description", *render_description(main.real)]
    else:
        lines += render_identity(first)
        lines += ["", "%description", f"Source package {spec_text(build.source)}."]
    main_epoch = main.real.epoch if main is not None else 0
    for package in build.packages:
        lines += render_package(package, is_main=package is main, main_epoch=main_epoch)
    return "\n".join(lines) + "\n"


def render_package(package: PlannedPackage, *, is_main: bool, main_epoch: int) -> Iterator[str]:
    real = package.real
    yield ""
    if not is_main:
        yield f"%package -n {real.name}"
        if real.epoch != main_epoch:
            yield f"Epoch: {real.epoch}"
        yield from render_tags(real, with_version=True)
        yield ""
        yield f"%description -n {real.name}"
        yield from render_description(real)
        yield ""
    yield "%files" if is_main else f"%files -n {real.name}"
    yield "%defattr(-,root,root,-)"
    yield from (render_file(entry) for entry in package.files)


def render_identity(real: RealPackage) -> list[str]:
    lines = [f"Summary: {spec_text(real.summary or real.name)}"]
    lines += [f"License: {spec_text(real.license or 'Unknown')}"]
    lines += [f"URL: {spec_text(real.url)}"] if real.url else []
    return lines


def render_tags(real: RealPackage, *, with_version: bool) -> list[str]:
    """Version, summary and the dependencies of one package, as the metadata has them
    (the main package's version is the header's)."""
    lines = [f"Version: {real.version}", f"Release: {real.release}"] if with_version else []
    lines += render_identity(real)
    lines.append("AutoReqProv: no")
    for kind in DEP_KINDS:
        if kind == "requires":
            lines += render_requires(real.deps[kind])
        else:
            lines += [f"{DEP_TAGS[kind]}: {spec_text(dep.render())}" for dep in real.deps[kind]]
    return lines


def render_requires(deps: Iterable[Dependency]) -> Iterator[str]:
    """Requires and Requires(pre). primary.xml repeats a requirement that the header
    had several times with different scriptlet flags (`/bin/sh`, `/bin/sh` pre=1,
    `/bin/sh`); rpm keeps a repeat only if its flags differ, so repeats get qualifiers
    that createrepo_c reports the same way (preun/postun/verify: not pre; post: pre)."""
    seen: Counter[tuple[str, bool]] = Counter()
    for dep in deps:
        text = dep.render()
        repeat = seen[(text, dep.pre)]
        seen[(text, dep.pre)] += 1
        qualifiers = PRE_QUALIFIERS if dep.pre else PLAIN_QUALIFIERS
        if repeat >= len(qualifiers):
            continue
        qualifier = qualifiers[repeat]
        yield f"Requires{f'({qualifier})' if qualifier else ''}: {spec_text(text)}"


def render_description(real: RealPackage) -> list[str]:
    return [spec_text(line) for line in real.description.splitlines()]


def render_file(entry: PlannedFile) -> str:
    path = files_path(entry.path)
    if entry.kind == "dir":
        return f"%dir {path}"
    if entry.kind == "ghost":
        return f"%ghost %attr({entry.mode:04o},root,root) {path}"
    return path


def files_path(path: str) -> str:
    """A path as a %files line names exactly it: glob characters in brackets (rpm 4.18
    has no backslash escapes), whitespace inside double quotes, % doubled."""
    bad = UNSUPPORTED_PATH_CHARS & set(path)
    if bad or ("\\" in path and any(c in path for c in GLOB_CHARS)):
        raise FedostreeError(f"cannot name {path!r} in a %files list (characters {sorted(bad)})")
    escaped = "".join(f"[{c}]" if c in GLOB_CHARS else c for c in path)
    escaped = spec_text(escaped)
    return f'"{escaped}"' if any(c.isspace() for c in path) else escaped
