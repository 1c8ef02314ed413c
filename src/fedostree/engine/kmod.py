"""A kernel's modules as modprobe finds them, for the initramfs generator: the
dependencies depmod recorded in /usr/lib/modules/KVER/modules.dep, the modules built
into the kernel (modules.builtin), the aliases (modules.alias, else the modules' own
.modinfo) and each module's soft dependencies (its .modinfo `softdep=pre: ... post: ...`,
which depmod copies into modules.softdep). `load_order` gives the modules to insmod
for a few wanted names, in the order `modprobe -a --show-depends NAME...` lists them:
a module's soft `pre:` dependencies, its dependencies (modules.dep's list read from its
end), the module, its soft `post:` dependencies. Soft dependencies are optional (one may
not load, e.g. crc32c-intel on a CPU without SSE4.2), and so is whatever they pull in."""

from __future__ import annotations

import fnmatch
import gzip
import io
import logging
import lzma
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from fedostree.errors import FedostreeError

log = logging.getLogger(__name__)
DECOMPRESSORS = {".ko": None, ".ko.xz": lzma.decompress, ".ko.gz": gzip.decompress}


@dataclass(frozen=True)
class Module:
    """One module to load: its path in modules.dep (relative to the modules directory)
    and whether the root can be mounted without it."""

    path: str
    optional: bool

    @property
    def name(self) -> str:
        return module_name(self.path)

    @property
    def loaded_path(self) -> str:
        """Its path in the initramfs, uncompressed: kernel/fs/ext4/ext4.ko."""
        return uncompressed_path(self.path)


def module_name(path: str) -> str:
    """kernel/arch/x86/crypto/crc32c-intel.ko.xz -> crc32c_intel (as kmod names it)."""
    base = path.rpartition("/")[2]
    return base[: base.index(".ko")].replace("-", "_") if ".ko" in base else base


def uncompressed_path(path: str) -> str:
    return path[: path.index(".ko") + 3] if ".ko" in path else path


@dataclass
class ModuleIndex:
    """What depmod recorded for one kernel, with the modules' own .modinfo."""

    moddir: Path
    deps: dict[str, tuple[str, ...]]  # module path -> its dependencies, as modules.dep lists them
    builtin: frozenset[str]  # names of the modules built into the kernel
    _modinfo: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @cached_property
    def by_name(self) -> dict[str, str]:
        return {module_name(p): p for p in self.deps}

    @cached_property
    def aliases(self) -> list[tuple[str, str]]:
        """(pattern, module name), from modules.alias, else from the modules' .modinfo."""
        text = _read(self.moddir / "modules.alias")
        if text is not None:
            return [
                (words[1], words[2])
                for words in (line.split() for line in text.splitlines())
                if len(words) == 3 and words[0] == "alias"
            ]
        return [(value, module_name(p)) for p in self.deps for key, value in self.modinfo(p)
                if key == "alias"]  # fmt: skip

    @cached_property
    def _plain_aliases(self) -> dict[str, list[str]]:
        """The aliases without wildcards (most of the ones names are looked up by)."""
        out: dict[str, list[str]] = {}
        for pattern, name in self.aliases:
            if not any(c in pattern for c in "*?["):
                out.setdefault(pattern, []).append(name)
        return out

    def resolve(self, name: str) -> list[str] | None:
        """The module paths a name or alias stands for; [] if the kernel has it built
        in; None if it is unknown."""
        norm = name.replace("-", "_")
        if norm in self.by_name:
            return [self.by_name[norm]]
        if norm in self.builtin:
            return []
        matches = self._plain_aliases.get(name) or [
            m
            for pattern, m in self.aliases
            if name.startswith(_literal_prefix(pattern)) and fnmatch.fnmatchcase(name, pattern)
        ]
        found = [self.by_name[m] for m in dict.fromkeys(matches) if m in self.by_name]
        if found or any(m in self.builtin for m in matches):
            return found
        return None

    def softdeps(self, path: str) -> tuple[list[str], list[str]]:
        """The module's soft dependencies: (pre, post) names."""
        pre: list[str] = []
        post: list[str] = []
        for key, value in self.modinfo(path):
            if key != "softdep":
                continue
            target = pre
            for word in value.split():
                if word in ("pre:", "post:"):
                    target = pre if word == "pre:" else post
                else:
                    target.append(word)
        return pre, post

    def modinfo(self, path: str) -> list[tuple[str, str]]:
        if path not in self._modinfo:
            self._modinfo[path] = read_modinfo(self.moddir / path)
        return self._modinfo[path]


def _literal_prefix(pattern: str) -> str:
    """What every name the pattern matches starts with (cheaper to test than fnmatch)."""
    cut = min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))
    return pattern[:cut]


def read_index(moddir: Path) -> ModuleIndex | None:
    """The kernel's module index, or None when it has no modules.dep."""
    text = _read(moddir / "modules.dep")
    if text is None:
        return None
    deps: dict[str, tuple[str, ...]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        module, sep, rest = line.partition(":")
        if not sep:
            raise FedostreeError(f"{moddir}/modules.dep:{lineno}: no ':' in {line[:80]!r}")
        deps[_relative(module, moddir)] = tuple(_relative(d, moddir) for d in rest.split())
    builtin = _read(moddir / "modules.builtin") or ""
    names = frozenset(module_name(line.strip()) for line in builtin.splitlines() if line.strip())
    return ModuleIndex(moddir, deps, names)


def _relative(path: str, moddir: Path) -> str:
    """modules.dep's paths are relative to the modules directory (older depmods wrote
    them absolute, /lib/modules/KVER/...)."""
    marker = f"/modules/{moddir.name}/"
    return path.partition(marker)[2] if path.startswith("/") and marker in path else path


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return None


def load_order(index: ModuleIndex, wanted: Sequence[str]) -> tuple[list[Module], list[str]]:
    """The modules to load for the wanted names, in order, and the wanted names the
    kernel has neither as a module nor built in."""
    order: dict[str, bool] = {}  # path -> optional
    missing = []
    for name in wanted:
        paths = index.resolve(name)
        if paths is None:
            missing.append(name)
        for path in paths or ():
            _add(index, path, optional=False, order=order, visiting=set())
    return [Module(p, opt) for p, opt in order.items()], missing


def _add(
    index: ModuleIndex, path: str, *, optional: bool, order: dict[str, bool], visiting: set[str]
) -> None:
    if path in order:
        if order[path] and not optional:  # wanted after all: so are its dependencies
            order[path] = False
            for dep in index.deps.get(path, ()):
                _add(index, dep, optional=False, order=order, visiting=visiting)
        return
    if path in visiting:  # a dependency cycle: depmod refuses those, a tree may not
        return
    visiting.add(path)
    pre, post = index.softdeps(path) if path in index.deps else ([], [])
    for soft in _resolved(index, pre):
        _add(index, soft, optional=True, order=order, visiting=visiting)
    for dep in reversed(index.deps.get(path, ())):
        _add(index, dep, optional=optional, order=order, visiting=visiting)
    order[path] = optional
    for soft in _resolved(index, post):
        _add(index, soft, optional=True, order=order, visiting=visiting)


def _resolved(index: ModuleIndex, names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        paths = index.resolve(name)
        if paths is None:
            log.debug("soft dependency %s: no such module or alias", name)
        out += paths or []
    return out


def module_bytes(path: Path) -> bytes:
    """The module, uncompressed (xz and gzip; the kernel loads what insmod hands it)."""
    data = path.read_bytes()
    name = path.name
    for suffix, decompress in DECOMPRESSORS.items():
        if name.endswith(suffix):
            return decompress(data) if decompress is not None else data
    raise FedostreeError(f"{path}: a module compressed in a way fedostree cannot unpack")


def is_loadable(path: str) -> bool:
    """A module the generator can put in the initramfs (not zstd-compressed)."""
    return any(path.endswith(s) for s in DECOMPRESSORS)


def read_modinfo(path: Path) -> list[tuple[str, str]]:
    """The module's .modinfo section: (key, value) pairs; [] when it cannot be read."""
    try:
        elf = ELFFile(io.BytesIO(module_bytes(path)))
        section = elf.get_section_by_name(".modinfo")
        data = section.data() if section is not None else b""
    except (OSError, ELFError, FedostreeError, lzma.LZMAError, EOFError, ValueError) as e:
        log.debug("%s: no .modinfo read: %s", path, e)
        return []
    out = []
    for item in data.split(b"\0"):
        key, sep, value = item.decode(errors="replace").partition("=")
        if sep:
            out.append((key, value))
    return out
