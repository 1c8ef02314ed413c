"""The `.repo` files that define rpm-md repositories, read the way dnf and rpm-ostree read
them: only the repositories a treefile names are looked at; each needs a `baseurl` (one
URL or a list of mirrors), a `metalink` or a `mirrorlist`; `$var` and `${var}` are
substituted from `releasever`, `basearch` and the treefile's `repovars`. `enabled=` is not
consulted: rpm-ostree composes from exactly the repositories the treefile names."""

from __future__ import annotations

import configparser
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fedostree.errors import ConfigError

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))", re.ASCII)
_NAME = re.compile(r"\w+", re.ASCII)
_LIST_SEPARATOR = re.compile(r"[\s,]+")
RESERVED_VARIABLES = {
    "releasever": "not allowed; use the releasever key instead",
    "basearch": "not allowed; it is filled in automatically",
}


@dataclass(frozen=True)
class RepoConfig:
    """One repository as a `.repo` file defines it, variables substituted. librepo tries
    the baseurls first, then the mirrors a metalink or mirrorlist names."""

    id: str
    source: Path  # the .repo file that defines it
    baseurls: tuple[str, ...] = ()
    metalink: str | None = None
    mirrorlist: str | None = None
    gpgkeys: tuple[str, ...] = ()
    lockfile_only: bool = False  # named by lockfile-repos: only locked packages come from it

    @property
    def location(self) -> str:
        """Where the repository is fetched from, as messages and the autobuilder name it."""
        if self.metalink:
            return f"metalink {self.metalink}"
        if self.mirrorlist:
            return f"mirrorlist {self.mirrorlist}"
        return " ".join(self.baseurls)


def repo_variables(
    basearch: str, releasever: str | None, repovars: Mapping[str, str], where: str
) -> dict[str, str]:
    """The variables substituted in `.repo` files: the treefile's repovars, basearch and
    (when the treefile sets it) releasever. rpm-ostree refuses repovars naming those two."""
    for name in repovars:
        if name in RESERVED_VARIABLES:
            raise ConfigError(f"{where}: repovars.{name}: {RESERVED_VARIABLES[name]}")
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: repovars.{name}: not a variable name (letters, digits and '_')"
            )
    variables = {**repovars, "basearch": basearch}
    if releasever is not None:
        variables["releasever"] = releasever
    return variables


def load_repo_configs(
    repos: Sequence[str],
    lockfile_repos: Sequence[str],
    dirs: Iterable[Path],
    variables: Mapping[str, str],
    where: str,
    *,
    preferred_dirs: Iterable[Path] = (),
) -> list[RepoConfig]:
    """The repositories the treefile names under `repos`, then those only under
    `lockfile-repos`, in that order, from the `*.repo` files of dirs; a repository the
    files of preferred_dirs define is taken from there instead. A repository in
    lockfile-repos is marked lockfile_only, as rpm-ostree restricts it even when `repos`
    names it too."""
    preferred = _RepoFiles(list(preferred_dirs))
    files = _RepoFiles(list(dirs))
    locked = set(lockfile_repos)
    out: dict[str, RepoConfig] = {}
    keyed = [(f"repos[{i}]", name) for i, name in enumerate(repos)]
    keyed += [(f"lockfile-repos[{i}]", name) for i, name in enumerate(lockfile_repos)]
    for key, name in keyed:
        if name not in out:
            source = preferred if preferred.defines(name) else files
            config = source.load(name, variables, f"{where}: {key}")
            out[name] = replace(config, lockfile_only=name in locked)
    return list(out.values())


def enabled_repo_ids(directory: Path) -> list[str]:
    """The repositories enabled by default (`enabled=1`, dnf's default) in the `*.repo`
    files of one directory: what rpm-ostree composes from when a treefile has no `repos`."""
    out: list[str] = []
    for repo_file in _RepoFiles([directory]).files:
        for name in repo_file.parser.sections():
            enabled = repo_file.parser[name].get("enabled", "1").strip().lower()
            if enabled in ("1", "true", "yes", "on") and name not in out:
                out.append(name)
    return out


class _RepoFiles:
    """The `*.repo` files of the treefile's directories, each parsed once."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs
        self.files = [_RepoFile.read(path) for path in _repo_files(dirs)]

    def defines(self, name: str) -> bool:
        return any(name in f.parser for f in self.files)

    def load(self, name: str, variables: Mapping[str, str], where: str) -> RepoConfig:
        found = [f for f in self.files if name in f.parser]
        if not found:
            searched = ", ".join(str(d) for d in self.dirs)
            raise ConfigError(f"{where}: '{name}' is not defined in any *.repo file in {searched}")
        defined = [str(f.path) for f in found for _ in range(f.headers[name])]
        if len(defined) > 1:  # dnf warns and takes one, libdnf's pick depends on readdir
            raise ConfigError(f"{where}: '{name}' is defined more than once: {', '.join(defined)}")
        return _repo_config(found[0].path, name, found[0].parser[name], variables)


def _repo_files(dirs: Iterable[Path]) -> list[Path]:
    seen: dict[Path, Path] = {}
    for d in dirs:
        for path in sorted(Path(d).glob("*.repo")):
            seen.setdefault(path.resolve(), path)
    return list(seen.values())


@dataclass(frozen=True)
class _RepoFile:
    path: Path
    parser: configparser.ConfigParser
    headers: Counter[str]  # how often each [section] appears: a repeated one is merged

    @classmethod
    def read(cls, path: Path) -> _RepoFile:
        """configparser as dnf's ini files need it: only `=` separates a key, keys are
        case sensitive, no interpolation, a repeated section or key merges as in GKeyFile."""
        parser = configparser.ConfigParser(
            interpolation=None, delimiters=("=",), strict=False, default_section="\0"
        )
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            text = path.read_text(encoding="utf-8")
            parser.read_string(text, str(path))
        except configparser.Error as e:
            raise ConfigError(f"{path}: not a valid .repo file: {' '.join(str(e).split())}") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}") from e
        headers = Counter(
            m.group("header") for m in map(parser.SECTCRE.match, text.splitlines()) if m
        )
        return cls(path, parser, headers)


def _repo_config(
    path: Path, name: str, section: configparser.SectionProxy, variables: Mapping[str, str]
) -> RepoConfig:
    where = f"{path}: [{name}]"
    baseurls = tuple(_url(u, variables, f"{where}: baseurl") for u in _list(section, "baseurl"))
    metalink = _optional_url(section, "metalink", variables, where)
    mirrorlist = _optional_url(section, "mirrorlist", variables, where)
    if mirrorlist and "metalink" in mirrorlist and not metalink:
        metalink, mirrorlist = mirrorlist, None  # as libdnf: a mirrorlist= naming a metalink
    if not (baseurls or metalink or mirrorlist):
        raise ConfigError(f"{where}: no baseurl, metalink or mirrorlist")
    gpgkeys = tuple(substitute(u, variables) for u in _list(section, "gpgkey"))
    return RepoConfig(name, path, baseurls, metalink, mirrorlist, gpgkeys)


def _list(section: configparser.SectionProxy, key: str) -> list[str]:
    """A list value: URLs separated by commas, spaces or continuation lines."""
    return [u for u in _LIST_SEPARATOR.split(section.get(key, "")) if u]


def _optional_url(
    section: configparser.SectionProxy, key: str, variables: Mapping[str, str], where: str
) -> str | None:
    value = section.get(key, "").strip()
    return _url(value, variables, f"{where}: {key}") if value else None


def _url(text: str, variables: Mapping[str, str], where: str) -> str:
    """Substituted; a variable nobody defines would only fail later as a 404, so it is
    reported here with the key that uses it."""
    for match in _VARIABLE.finditer(text):
        name = match.group(1) or match.group(2)
        if name not in variables:
            hint = "the treefile's releasever" if name == "releasever" else "repovars"
            raise ConfigError(f"{where}: ${name} is not defined (set it in {hint})")
    return substitute(text, variables)


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """dnf's variables: `$name` or `${name}`, the name being the longest run of letters,
    digits and '_'; an unknown variable is left as it is."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return _VARIABLE.sub(value, text)
