"""Reading what the dynamic loader needs from an ELF file (its class and machine, the
program interpreter, DT_NEEDED, DT_RPATH and DT_RUNPATH) and finding those libraries
the way glibc's ld.so searches: DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, the
directories of ld.so.conf, then the default directories. A library of another ELF class
or machine is passed over, as ld.so passes it over. The root searched is a composed tree
(server/elfdeps.py's check) or the build host (engine/initramfs.py's libraries).

The ELF structures are decoded with pyelftools' struct definitions (never the host's
ldd), reading only the ELF header, the program headers, the dynamic array and the few
strings needed; a file that does not start with the ELF magic costs one small read."""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from elftools.common.exceptions import ELFError
from elftools.construct import ConstructError
from elftools.elf.structs import ELFStructs

DEFAULT_DIRS = ("/usr/lib64", "/lib64", "/usr/lib", "/lib")
LD_SO_CONF = "/etc/ld.so.conf"
MAGIC = b"\x7fELF"
MAX_STRING = 4096

# (ELF class, little-endian, machine): what must agree between an object and its libraries.
Abi = tuple[int, bool, str]


@dataclass(frozen=True)
class ElfObject:
    abi: Abi
    loadable: bool  # an executable or a shared object (not a relocatable or core file)
    interp: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()


class BadElf(Exception):
    pass


class LoaderRoot(Protocol):
    """Where the loader looks: paths are the root's own, symlinks followed inside it
    (server/treeview.py's TreeView for a tree, HostRoot for the build host)."""

    def resolve(self, path: str) -> str | None: ...
    def host_path(self, path: str) -> Path: ...
    def listdir(self, real_dir: str) -> frozenset[str]: ...
    def read_text(self, path: str) -> str | None: ...
    def glob(self, pattern: str) -> list[str]: ...


class HostRoot:
    """The build host's own root, for the LoaderRoot protocol."""

    def resolve(self, path: str) -> str | None:
        return os.path.realpath(path) if os.path.exists(path) else None

    def host_path(self, path: str) -> Path:
        return Path(path)

    def listdir(self, real_dir: str) -> frozenset[str]:
        try:
            return frozenset(os.listdir(real_dir))
        except OSError:
            return frozenset()

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return None

    def glob(self, pattern: str) -> list[str]:
        return glob_in(self, pattern)


def glob_in(root: LoaderRoot, pattern: str) -> list[str]:
    """Resolved paths matching a pattern whose last component may hold wildcards."""
    directory, _, name = pattern.rpartition("/")
    real_dir = root.resolve(directory or "/")
    if real_dir is None:
        return []
    base = real_dir.rstrip("/")
    return [f"{base}/{n}" for n in sorted(root.listdir(real_dir)) if fnmatch.fnmatch(n, name)]


# --- reading ----------------------------------------------------------------------------

_STRUCTS: dict[tuple[Any, ...], ELFStructs] = {}


def _structs(elfclass: int, little: bool, header: Any = None) -> ELFStructs:
    """pyelftools' struct definitions, built once per kind of ELF file."""
    key = (elfclass, little) if header is None else (elfclass, little, *_kind(header))
    if key not in _STRUCTS:
        structs = ELFStructs(little_endian=little, elfclass=elfclass)
        structs.create_basic_structs()
        if header is not None:
            structs.create_advanced_structs(*_kind(header))
        _STRUCTS[key] = structs
    return _STRUCTS[key]


def _kind(header: Any) -> tuple[str, str, str]:
    return (header.e_type, header.e_machine, header.e_ident.EI_OSABI)


def read_header(f: IO[bytes]) -> tuple[Abi, Any] | None:
    """The ABI and ELF header of an open file, or None if it is not an ELF file."""
    head = f.read(64)
    if not head.startswith(MAGIC):
        return None
    if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
        raise BadElf("truncated ELF header or unknown ELF class/data encoding")
    elfclass, little = (32, 64)[head[4] - 1], head[5] == 1
    header = _structs(elfclass, little).Elf_Ehdr.parse(head)
    return (elfclass, little, str(header.e_machine)), header


def read_elf(path: Any) -> ElfObject | None:
    """What the dynamic loader needs for this file, or None if it is not ELF."""
    try:
        with open(path, "rb") as f:
            found = read_header(f)
            if found is None:
                return None
            abi, header = found
            if header.e_type not in ("ET_EXEC", "ET_DYN"):
                return ElfObject(abi, loadable=False)
            return _read_dynamic(f, abi, header)
    except (ELFError, ConstructError, ValueError, OSError) as e:
        raise BadElf(str(e) or type(e).__name__) from e


def _read_dynamic(f: IO[bytes], abi: Abi, header: Any) -> ElfObject:
    structs = _structs(abi[0], abi[1], header)
    phdrs = _program_headers(f, structs, header)
    interp = next((_read_interp(f, p) for p in phdrs if p.p_type == "PT_INTERP"), None)
    dynamic = next((p for p in phdrs if p.p_type == "PT_DYNAMIC"), None)
    if dynamic is None:
        return ElfObject(abi, loadable=True, interp=interp)
    tags = _dynamic_tags(f, structs, dynamic)
    strtab = _file_offset(phdrs, _first(tags, "DT_STRTAB"))

    def strings(tag: str) -> tuple[str, ...]:
        if strtab is None and any(t == tag for t, _ in tags):
            raise BadElf("DT_STRTAB lies outside the loaded segments")
        return tuple(_read_string(f, strtab, v) for t, v in tags if t == tag and strtab is not None)

    return ElfObject(
        abi,
        loadable=True,
        interp=interp,
        needed=strings("DT_NEEDED"),
        rpath=_split_paths(strings("DT_RPATH")),
        runpath=_split_paths(strings("DT_RUNPATH")),
    )


def _program_headers(f: IO[bytes], structs: ELFStructs, header: Any) -> list[Any]:
    size = header.e_phentsize
    f.seek(header.e_phoff)
    data = f.read(size * header.e_phnum)
    if len(data) < size * header.e_phnum:
        raise BadElf("truncated program headers")
    return [structs.Elf_Phdr.parse(data[i * size : (i + 1) * size]) for i in range(header.e_phnum)]


def _read_interp(f: IO[bytes], phdr: Any) -> str:
    f.seek(phdr.p_offset)
    return f.read(min(phdr.p_filesz, MAX_STRING)).split(b"\0")[0].decode(errors="replace")


def _dynamic_tags(f: IO[bytes], structs: ELFStructs, phdr: Any) -> list[tuple[str, int]]:
    size = structs.Elf_Dyn.sizeof()
    f.seek(phdr.p_offset)
    data = f.read(phdr.p_filesz)
    tags = []
    for i in range(len(data) // size):
        entry = structs.Elf_Dyn.parse(data[i * size : (i + 1) * size])
        if entry.d_tag == "DT_NULL":
            break
        tags.append((str(entry.d_tag), int(entry.d_val)))
    return tags


def _first(tags: Sequence[tuple[str, int]], tag: str) -> int | None:
    return next((v for t, v in tags if t == tag), None)


def _file_offset(phdrs: Sequence[Any], vaddr: int | None) -> int | None:
    """Where a virtual address of a loaded segment lies in the file."""
    if vaddr is None:
        return None
    for p in phdrs:
        if p.p_type == "PT_LOAD" and p.p_vaddr <= vaddr < p.p_vaddr + p.p_filesz:
            return int(vaddr - p.p_vaddr + p.p_offset)
    return None


def _read_string(f: IO[bytes], strtab: int, index: int) -> str:
    f.seek(strtab + index)
    return f.read(MAX_STRING).split(b"\0")[0].decode(errors="replace")


def _split_paths(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(d for value in values for d in value.split(":") if d)


# --- the tree's search path -------------------------------------------------------------


def ld_so_conf_dirs(view: LoaderRoot) -> tuple[str, ...]:
    """The directories of the tree's /etc/ld.so.conf and the files it includes."""
    dirs: list[str] = []
    _read_conf(view, LD_SO_CONF, dirs, set())
    return tuple(dict.fromkeys(dirs))


def _read_conf(view: LoaderRoot, path: str, dirs: list[str], seen: set[str]) -> None:
    real = view.resolve(path)
    text = view.read_text(path)
    if real is None or text is None or real in seen:
        return
    seen.add(real)
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        words = line.split()
        if not words or words[0] == "hwcap":
            continue
        if words[0] == "include" and len(words) > 1:
            for pattern in words[1:]:
                full = posixpath.join(posixpath.dirname(path), pattern)
                for match in view.glob(full):
                    _read_conf(view, match, dirs, seen)
            continue
        dirs += [d.split("=")[0].rstrip("/") or "/" for w in words for d in w.split(":") if d]


# --- resolving --------------------------------------------------------------------------


class Loader:
    """Finds libraries in the tree the way ld.so would, with what it learns cached."""

    def __init__(self, view: LoaderRoot) -> None:
        self.view = view
        self.system_dirs = (*ld_so_conf_dirs(view), *DEFAULT_DIRS)
        self._abis: dict[str, Abi | None] = {}
        self._found: dict[tuple[str, tuple[str, ...], Abi], tuple[str | None, list[str]]] = {}

    def problems(self, path: str, obj: ElfObject) -> list[str]:
        out = []
        interp = self._abi(obj.interp) if obj.interp else obj.abi
        if interp != obj.abi:
            what = "not found in the tree" if interp is None else f"is ELF{interp[0]} {interp[2]}"
            out.append(f"{path}: program interpreter {obj.interp} {what}")
        dirs = self._search_dirs(path, obj)
        for name in obj.needed:
            expanded = _expand(name, posixpath.dirname(path), obj.abi) or name
            found, passed_over = self.find(expanded, dirs, obj.abi)
            if found is None:
                where = ", ".join(dict.fromkeys(dirs)) if "/" not in expanded else expanded
                extra = "".join(f"; {p}" for p in passed_over)
                out.append(f"{path}: {name} not found (searched {where}{extra})")
        return out

    def closure(self, path: str) -> list[str]:
        """What ld.so maps to run the program at path: its program interpreter (at the
        path the program names), then its libraries, theirs and so on, breadth first,
        each under the name it is looked up by in the directory it is found in.
        LookupError naming the first one not found; BadElf for a file not ELF."""
        out: list[str] = []
        loaded = {posixpath.basename(path)}  # ld.so maps a name once (the interpreter's too)
        queue = [path]
        while queue:
            current = queue.pop(0)
            obj = read_elf(self.view.host_path(self.view.resolve(current) or current))
            if obj is None or not obj.loadable:
                raise BadElf(f"{current}: not an ELF executable or shared library")
            if obj.interp and obj.interp not in out:
                if self._abi(obj.interp) != obj.abi:
                    raise LookupError(f"{current}: program interpreter {obj.interp} not found")
                out.append(obj.interp)
                loaded.add(posixpath.basename(obj.interp))
            dirs = self._search_dirs(current, obj)
            for name in obj.needed:
                if name in loaded:
                    continue
                expanded = _expand(name, posixpath.dirname(current), obj.abi) or name
                found, _ = self.find(expanded, dirs, obj.abi)
                if found is None:
                    raise LookupError(f"{current}: {name} not found (searched "
                                      f"{', '.join(dict.fromkeys(dirs))})")  # fmt: skip
                loaded.add(name)
                out.append(found)
                queue.append(found)
        return out

    def _search_dirs(self, path: str, obj: ElfObject) -> tuple[str, ...]:
        own = (obj.rpath if not obj.runpath else ()) + obj.runpath
        expanded = (_expand(d, posixpath.dirname(path), obj.abi) for d in own)
        return (*(d for d in expanded if d and d.startswith("/")), *self.system_dirs)

    def find(self, name: str, dirs: tuple[str, ...], abi: Abi) -> tuple[str | None, list[str]]:
        """The library's resolved path (or None), and the candidates passed over."""
        key = (name, dirs, abi)
        if key not in self._found:
            self._found[key] = self._search(name, dirs, abi)
        return self._found[key]

    def _search(self, name: str, dirs: tuple[str, ...], abi: Abi) -> tuple[str | None, list[str]]:
        if "/" in name:
            return (name if self._abi(name) == abi else None), []
        passed_over: list[str] = []
        seen: set[str] = set()
        for d in dirs:
            real_dir = self.view.resolve(d)
            if real_dir is None or real_dir in seen or name not in self.view.listdir(real_dir):
                continue
            seen.add(real_dir)
            candidate = f"{real_dir.rstrip('/')}/{name}"
            found = self._abi(candidate)
            if found == abi:
                return candidate, passed_over
            what = "not an ELF file" if found is None else f"ELF{found[0]} {found[2]}"
            passed_over.append(f"{d}/{name} is {what}")
        return None, passed_over

    def _abi(self, path: str) -> Abi | None:
        real = self.view.resolve(path)
        if real is None:
            return None
        if real not in self._abis:
            self._abis[real] = _header_abi(self.view, real)
        return self._abis[real]


def _header_abi(view: LoaderRoot, real: str) -> Abi | None:
    host = view.host_path(real)
    if not host.is_file():
        return None
    try:
        with open(host, "rb") as f:
            found = read_header(f)
    except (BadElf, ConstructError, OSError):
        return None
    return None if found is None else found[0]


def _expand(directory: str, origin: str, abi: Abi) -> str | None:
    """$ORIGIN, $LIB and $PLATFORM in a search path or a DT_NEEDED name (None: unknown)."""
    values = {"ORIGIN": origin, "LIB": "lib64" if abi[0] == 64 else "lib"}
    if abi[2] == "EM_X86_64":
        values["PLATFORM"] = "x86_64"
    for name, value in values.items():
        directory = directory.replace("${" + name + "}", value).replace("$" + name, value)
    return None if "$" in directory else directory
