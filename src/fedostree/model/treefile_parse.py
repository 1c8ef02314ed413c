"""One treefile (or one inline `conditional-include` treefile) parsed on its own, as
rpm-ostree's `treefile_parse_stream` and `treefile_parse` do: its keys checked against
the tables of treefile_keys.py, `packages`, `bootstrap_packages` and this architecture's
`packages-$basearch` merged into one set, the legacy underscore spellings mapped, the
edition's defaults applied, its variables (with `releasever` and `basearch`) collected,
and the files it names resolved beside it. treefile_load.py merges the fragments."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.treefile import AddFile, PasswdCheck, VarValue
from fedostree.model.treefile_keys import (
    ARCH_PACKAGES,
    BOOTSTRAP,
    INFORMATIONAL,
    INLINE_UNREAD,
    KEYS,
    LEGACY_ALIASES,
    NEUTRAL_PRINTED,
    NEUTRAL_VALUES,
    REFUSED,
    is_known,
)
from fedostree.model.treefile_values import (
    fail,
    include_list,
    kind,
    package_list,
    string_value,
    variables_map,
)

RESERVED_VARIABLES = ("releasever", "basearch")


@dataclass(frozen=True)
class IncludeRef:
    """A file to include: its name as written and the key path that names it."""

    name: str
    key: str  # include, arch-include or conditional-include: the chain's label
    where: str  # the key path, e.g. conditional-include[2].include[0]


@dataclass
class Fragment:
    """One treefile's keys, as parsed, then as merged with what it includes."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)  # Treefile attribute -> value
    origins: dict[str, str] = field(default_factory=dict)  # attribute -> where it was set
    informational: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys
    variables: dict[str, VarValue] = field(default_factory=dict)
    includes: list[IncludeRef] = field(default_factory=list)
    conditionals: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def set(self, attr: str, value: Any, where: str) -> None:
        self.values[attr] = value
        self.origins[attr] = where


def parse_fragment(
    raw: Mapping[Any, Any], base: Path, where: str, basearch: str, *, inline: bool
) -> Fragment:
    frag = Fragment(where)
    _check_legacy_pairs(raw, where)
    packages: list[str] = []
    for raw_key, value in raw.items():
        key = str(raw_key)
        at = f"{where}: {key}"
        name = LEGACY_ALIASES.get(key, key)
        if inline and (name in INLINE_UNREAD or name.startswith(ARCH_PACKAGES)):
            reason = INLINE_UNREAD.get(name, "rpm-ostree ignores it in an inline treefile")
            raise fail(at, f"not supported here: {reason}")
        if name.startswith(ARCH_PACKAGES):  # rpm-ostree checks every architecture's list
            arch_packages = package_list(value, at)
            packages += arch_packages if name == ARCH_PACKAGES + basearch else ()
        elif value is None:  # `packages:` with every entry commented out: not set
            continue
        elif name == "packages" or name in BOOTSTRAP:
            packages += package_list(value, at)
        else:
            _parse_key(frag, key, name, value, at, basearch)
    if not inline or "packages" in raw:  # rpm-ostree: every file has a (maybe empty) set
        frag.set("packages", tuple(sorted(set(packages))), f"{where}: packages")
    if not inline:
        _apply_edition_defaults(frag)
        _add_reserved_variables(frag, basearch)
    _resolve_files(frag, base, where, inline=inline)
    return frag


def _check_legacy_pairs(raw: Mapping[Any, Any], where: str) -> None:
    for legacy, new in LEGACY_ALIASES.items():
        if raw.get(legacy) is not None and raw.get(new) is not None:
            raise fail(f"{where}: {legacy}", f"also given as {new}: use one spelling")


def _parse_key(frag: Fragment, key: str, name: str, value: Any, at: str, basearch: str) -> None:
    if name in KEYS:
        spec = KEYS[name]
        parsed = spec.parse(value, at)
        frag.set(spec.attr, parsed, at)
        if name == "releasever":  # a number stays a number in conditions
            frag.variables["releasever"] = parsed
            frag.values["releasever"] = str(parsed)
    elif name == "include":
        frag.includes += _includes(value, "include", at, key)
    elif name == "arch-include":
        frag.includes += _arch_includes(value, basearch, at)
    elif name == "conditional-include":
        frag.conditionals = _conditional_entries(value, at)
    elif name == "variables":
        frag.variables.update(_own_variables(value, at))
    elif name == "basearch":
        if string_value(value, at) != basearch:
            raise fail(at, f"'{value}': cross-composes are not supported (this is {basearch})")
    elif name in INFORMATIONAL:
        frag.informational[name] = INFORMATIONAL[name](value, at)
    elif name in NEUTRAL_VALUES:
        if value not in NEUTRAL_VALUES[name] or isinstance(value, bool) != isinstance(
            NEUTRAL_VALUES[name][0], bool
        ):
            raise fail(
                at, f"{json.dumps(value)}: not supported by fedostree (it would change the tree)"
            )
        frag.informational[name] = NEUTRAL_PRINTED.get((name, value), value)
    elif name in REFUSED:
        raise fail(at, f"not supported: {REFUSED[name]}, and it would change the tree")
    elif (spelled := _kebab(key)) != key and is_known(spelled):
        raise fail(at, f"not an rpm-ostree key: it is spelled {spelled}")
    else:
        frag.extra[key] = value
        frag.warnings.append(f"{frag.where}: unknown key '{key}' ignored")


def _kebab(key: str) -> str:
    if key.startswith("packages_"):
        return ARCH_PACKAGES + key[len("packages_") :]
    return key.replace("_", "-")


# --- includes -------------------------------------------------------------------------------


def _includes(value: Any, label: str, where: str, key: str) -> list[IncludeRef]:
    names = include_list(value, where)
    if isinstance(value, str):
        return [IncludeRef(value, label, key)]
    return [IncludeRef(name, label, f"{key}[{i}]") for i, name in enumerate(names)]


def _arch_includes(value: Any, basearch: str, where: str) -> list[IncludeRef]:
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping of architectures to includes, got {kind(value)}")
    for arch, includes in value.items():  # every architecture's entry must be well-formed
        include_list(includes, f"{where}.{arch}")
    if value.get(basearch) is None:
        return []
    return _includes(
        value[basearch], "arch-include", f"{where}.{basearch}", f"arch-include.{basearch}"
    )


def _conditional_entries(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise fail(where, f"expected a list of {{if, include}}, got {kind(value)}")
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise fail(at, f"expected a mapping with 'if' and 'include', got {kind(entry)}")
        for key in ("if", "include"):
            if entry.get(key) is None:
                raise fail(at, f"{key}: missing")
        if not isinstance(entry["include"], dict):  # files: one or a list
            include_list(entry["include"], f"{at}.include")
    return value


# --- variables ------------------------------------------------------------------------------


def _own_variables(value: Any, where: str) -> dict[str, VarValue]:
    variables = variables_map(value, where)
    for name, v in variables.items():
        if name in RESERVED_VARIABLES:
            raise fail(f"{where}.{name}", f"cannot define the reserved variable '{name}'")
        for text, what in ((name, "name"), (str(v), "value")):
            if any(c in text for c in "${}"):  # as envsubst's validate_vars
                raise fail(
                    f"{where}.{name}", f"'{text}': a variable {what} cannot contain $, {{ or }}"
                )
    return variables


def _add_reserved_variables(frag: Fragment, basearch: str) -> None:
    """rpm-ostree mirrors `basearch` and the file's `releasever` into its variables."""
    frag.variables["basearch"] = basearch


def _apply_edition_defaults(frag: Fragment) -> None:
    """Edition 2024 changes two defaults, in the file that sets it (as rpm-ostree)."""
    if frag.values.get("edition") == "2024":
        for attr, value in (("boot_location", "modules"), ("tmp_is_dir", True)):
            if attr not in frag.values:
                frag.set(attr, value, frag.origins["edition"])


# --- files a treefile names ---------------------------------------------------------------------


def _resolve_files(frag: Fragment, base: Path, where: str, *, inline: bool) -> None:
    """Paths in a treefile are relative to the file that names them."""
    values = frag.values
    if "postprocess_script" in values:
        name = values["postprocess_script"]
        values["postprocess_script"] = _existing(
            base / name, f"{where}: postprocess-script: {name}"
        )
        values["postprocess_script_written"] = name
    if "add_files" in values:
        values["add_files"] = tuple(
            AddFile(_existing(base / src, f"{where}: add-files[{i}]: {src}"), dest, src)
            for i, (src, dest) in enumerate(values["add_files"])
        )
    for attr in ("check_passwd", "check_groups"):
        check: PasswdCheck | None = values.get(attr)
        if check is None or check.filename is None:
            continue
        key = attr.replace("_", "-")
        if inline:
            raise fail(
                f"{where}: {key}", "not supported here: an inline treefile cannot name files"
            )
        target = _existing(base / check.filename, f"{where}: {key}.filename: {check.written}")
        values[attr] = replace(check, filename=target)


def _existing(path: Path, where: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    return path
