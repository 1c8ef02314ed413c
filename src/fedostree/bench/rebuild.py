"""A package update for the benchmark: rebuild one RPM at a higher release from its own
header and payload (same files, owners, modes, dependencies and scriptlets), its files'
content changed as a new build's would be."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import rpm

from fedostree.bench.spec import files_path
from fedostree.engine.rpmfile import PayloadEntry, header_from_blob, iter_payload, read_header_blob
from fedostree.errors import FedostreeError
from fedostree.sample.universe import rpmbuild, spec_text

S_IFMT, S_IFDIR, S_IFLNK, S_IFREG = 0o170000, 0o040000, 0o120000, 0o100000
RPMFILE_CONFIG, RPMFILE_NOREPLACE, RPMFILE_GHOST = 1, 16, 64
RPMSENSE_LESS, RPMSENSE_GREATER, RPMSENSE_EQUAL = 2, 4, 8
RPMSENSE_RPMLIB = 1 << 24
SCRIPT_SENSES = {"pre": 1 << 9, "post": 1 << 10, "preun": 1 << 11, "postun": 1 << 12}
DEPENDENCY_TAGS = {"Requires": "requirename", "Provides": "providename",
                   "Conflicts": "conflictname", "Obsoletes": "obsoletename",
                   "Recommends": "recommendname", "Suggests": "suggestname",
                   "Supplements": "supplementname", "Enhances": "enhancename"}  # fmt: skip
SCRIPTLET_TAGS = {"pretrans": ("pretrans", "pretransprog"), "pre": ("prein", "preinprog"),
                  "post": ("postin", "postinprog"), "preun": ("preun", "preunprog"),
                  "postun": ("postun", "postunprog"),
                  "posttrans": ("posttrans", "posttransprog")}  # fmt: skip
Mutator = Callable[[str, bytes], bytes]


def append_stamp(path: str, data: bytes) -> bytes:
    """A rebuilt file that still works (ELF files, scripts, data files): the old content
    with a build stamp appended. For universes whose files are run by scriptlets."""
    if not data:
        return data
    return data + f"\n# fedostree-bench rebuild of {path}\n".encode()


def regenerate(path: str, data: bytes, *, salt: str = "fedostree-bench rebuild") -> bytes:
    """A rebuilt file as the synthesized universe models a new version: new pseudo-random
    bytes of the same size, drawn from the same alphabet (so equally compressible)."""
    if not data:
        return data
    alphabet = sorted(set(data))
    rng = random.Random(hashlib.sha256(f"{salt}\0{path}".encode()).digest())
    noise = rng.randbytes(len(data))
    if len(alphabet) == 256:
        return noise
    table = bytes(alphabet[b % len(alphabet)] for b in range(256))
    return noise.translate(table)


MUTATORS: dict[str, Mutator] = {"append": append_stamp, "regenerate": regenerate}


def rebuild_rpm(
    source: Path, work: Path, *, release_suffix: str = ".bench1", mutate: Mutator = regenerate
) -> Path:
    """Build source's package at release RELEASE+release_suffix; return the new RPM."""
    hdr = header_from_blob(read_header_blob(source))
    release = f"{hdr['release']}{release_suffix}"
    stage = work / "stage"
    stage_payload(source, stage, mutate)
    spec = work / f"{hdr['name']}.spec"
    spec.write_text("\n".join(render_spec(hdr, release, stage)) + "\n", encoding="utf-8")
    return build(spec, work / "rpmbuild", hdr, release)


def stage_payload(source: Path, stage: Path, mutate: Mutator) -> None:
    stage.mkdir(parents=True)
    for entry in iter_payload(source):
        stage_entry(entry, stage / entry.path.lstrip("/"), mutate)


def stage_entry(entry: PayloadEntry, target: Path, mutate: Mutator) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    kind = entry.mode & S_IFMT
    if kind == S_IFDIR:
        target.mkdir(exist_ok=True)
    elif kind == S_IFLNK:
        target.symlink_to(entry.linkto)
    elif kind == S_IFREG:
        target.write_bytes(mutate(entry.path, entry.data))
    if kind != S_IFLNK and target.exists():
        target.chmod(entry.mode & 0o7777)


def render_spec(hdr: rpm.hdr, release: str, stage: Path) -> Iterator[str]:
    yield f"Name: {hdr['name']}"
    if hdr["epoch"] is not None:
        yield f"Epoch: {hdr['epoch']}"
    yield f"Version: {hdr['version']}"
    yield f"Release: {release}"
    yield f"Summary: {spec_text(hdr['summary'] or hdr['name'])}"
    yield f"License: {spec_text(hdr['license'] or 'unknown')}"
    if hdr["arch"] == "noarch":
        yield "BuildArch: noarch"
    yield "AutoReqProv: no"
    yield from render_dependencies(hdr, release)
    yield from ("", "%description", spec_text(hdr["summary"] or hdr["name"]) + ".", "")
    yield from ("%install", f"cp -a '{stage}/.' %{{buildroot}}/", "")
    for phase, (body_tag, prog_tag) in SCRIPTLET_TAGS.items():
        yield from render_scriptlet(phase, hdr[body_tag], hdr[prog_tag])
    yield "%files"
    yield from render_files(hdr)


def render_dependencies(hdr: rpm.hdr, release: str) -> Iterator[str]:
    """The header's dependencies; rpmbuild adds the package's own name(-and-arch) provides,
    and any other provide at the old version-release moves to the new one."""
    old_vr = f"{hdr['version']}-{hdr['release']}"
    new_vr = f"{hdr['version']}-{release}"
    own = {hdr["name"], f"{hdr['name']}({hdr['arch']})", f"{hdr['name']}(x86-64)"}
    for keyword, tag in DEPENDENCY_TAGS.items():
        for ds in hdr.dsFromHeader(tag):
            name, evr, flags = ds.N(), ds.EVR(), ds.Flags()
            if flags & RPMSENSE_RPMLIB or (keyword == "Provides" and name in own):
                continue
            evr = evr.replace(old_vr, new_vr) if keyword == "Provides" else evr
            yield f"{keyword}{_script_qualifier(flags) if keyword == 'Requires' else ''}: " + (
                f"{name} {_comparison(flags)} {evr}" if evr else name
            )


def _script_qualifier(flags: int) -> str:
    phases = [phase for phase, bit in SCRIPT_SENSES.items() if flags & bit]
    return f"({','.join(phases)})" if phases else ""


def _comparison(flags: int) -> str:
    op = ""
    op += "<" if flags & RPMSENSE_LESS else ""
    op += ">" if flags & RPMSENSE_GREATER else ""
    op += "=" if flags & RPMSENSE_EQUAL else ""
    return {"=": "=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}.get(op, "=")


def render_scriptlet(phase: str, body: str | None, prog: list[str] | str | None) -> Iterator[str]:
    program = " ".join(prog) if isinstance(prog, list) else (prog or "")
    if body is None and not program:
        return
    yield f"%{phase}" + (f" -p {program}" if program and program != "/bin/sh" else "")
    if body:
        yield spec_text(body.rstrip("\n"))
    yield ""


def render_files(hdr: rpm.hdr) -> Iterator[str]:
    names = hdr[rpm.RPMTAG_FILENAMES] or []
    caps = hdr[rpm.RPMTAG_FILECAPS] or [""] * len(names)
    fields = zip(names, hdr["filemodes"], hdr["fileusername"], hdr["filegroupname"],
                 hdr["fileflags"], caps, strict=True)  # fmt: skip
    for name, mode, user, group, flags, cap in fields:
        kind = mode & S_IFMT
        attr = f"%attr({'-' if kind == S_IFLNK else f'{mode & 0o7777:04o}'},{user},{group})"
        prefix = "%dir " if kind == S_IFDIR else ""
        prefix += "%ghost " if flags & RPMFILE_GHOST else ""
        if flags & RPMFILE_CONFIG:
            prefix += "%config(noreplace) " if flags & RPMFILE_NOREPLACE else "%config "
        prefix += f"%caps({cap}) " if cap else ""
        yield f"{prefix}{attr} {files_path(name)}"


def build(spec: Path, topdir: Path, hdr: rpm.hdr, release: str) -> Path:
    rpmdir = rpmbuild(spec, topdir)
    out = rpmdir / f"{hdr['name']}-{hdr['version']}-{release}.{hdr['arch']}.rpm"
    if not out.is_file():
        found = [p.name for p in rpmdir.iterdir()] if rpmdir.is_dir() else []
        raise FedostreeError(f"rpmbuild did not write {out.name} (found: {found})")
    return out
