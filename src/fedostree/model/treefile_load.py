"""Loading a treefile as rpm-ostree does (rust/src/treefile.rs): each file parsed on its
own, `variables` folded in as files are read, `include`, then `arch-include`, then the
matching `conditional-include` entries processed, each included file merged into the
one that includes it, and `${var}` substituted at the end."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from fedostree.errors import ConfigError
from fedostree.model.conditions import evaluate_condition
from fedostree.model.treefile import AddFile, PasswdCheck, Treefile, VarValue
from fedostree.model.treefile_keys import (
    ALIASES,
    INFORMATIONAL,
    KEYS,
    NEUTRAL_VALUES,
    REFUSED,
    STRUCTURAL,
    Key,
    fail,
    first_duplicate_test,
    package_list,
    string_list,
)

log = logging.getLogger(__name__)
MAX_INCLUDE_DEPTH = 50
# libostree's OSTREE_REF_REGEXP: slash-separated fragments of [-._\w\d].
_OSTREE_REF = re.compile(r"(?:[-._\w]+/)*[-._\w]+")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# Keys whose string values rpm-ostree substitutes ${variables} in.
_SUBSTITUTED = ("ref", "automatic_version_prefix", "mutate_os_release")
_BASEARCH = os.uname().machine


@dataclass
class _Fragment:
    """One file (or inline conditional treefile) as parsed, before and while merging."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)  # Treefile attribute -> value
    origins: dict[str, str] = field(default_factory=dict)  # attribute -> where it was set
    informational: dict[str, Any] = field(default_factory=dict)
    releasever: VarValue | None = None  # as written: a number stays a number for conditions


@dataclass
class _Load:
    basearch: str
    variables: dict[str, VarValue] = field(default_factory=dict)
    seen: set[Path] = field(default_factory=set)
    repo_dirs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)


def load_treefile(path: Path, *, basearch: str = _BASEARCH) -> Treefile:
    """Load, validate and merge a treefile with its include chain; raise ConfigError."""
    path = Path(path).absolute()
    state = _Load(basearch)
    top = _load_file(path, str(path), 0, state)
    tf = _to_treefile(path, top, state)
    if (i := first_duplicate_test(tf.tests)) is not None:
        raise ConfigError(
            f"{path}: tests: '{tf.tests[i].name}' is the name of two tests in the include chain"
        )
    return tf


def validate_for_compose(tf: Treefile) -> None:
    """A treefile that `compose tree` can build needs a ref, repos and packages."""
    for key, value in (("ref", tf.ref), ("repos", tf.repos)):
        if not value:
            raise ConfigError(f"{tf.path}: {key}: missing, required for compose")
    if not (tf.packages or tf.repo_packages):
        raise ConfigError(f"{tf.path}: packages: missing, required for compose")
    if not _OSTREE_REF.fullmatch(tf.ref) or ".." in tf.ref.split("/"):
        raise ConfigError(f"{tf.path}: ref: '{tf.ref}' is not a valid OSTree ref")


# --- one file -----------------------------------------------------------------------------


def _load_file(path: Path, where: str, depth: int, state: _Load) -> _Fragment:
    real = path.resolve()
    if real in state.seen:
        raise ConfigError(f"{where}: {path.name} is included twice (an include loop?)")
    state.seen.add(real)
    if path.parent not in state.repo_dirs:
        state.repo_dirs.append(path.parent)
    raw = _parse_file(path, where)
    return _load_fragment(raw, path, where, depth, state, inline=False)


def _load_fragment(
    raw: dict[str, Any], path: Path, where: str, depth: int, state: _Load, *, inline: bool
) -> _Fragment:
    frag = _parse_fields(raw, path, where, state, inline=inline)
    includes = _include_list(raw.get("include"), f"{where}: include")
    _fold_variables(frag, state, where)
    includes += _arch_includes(raw.get("arch-include"), state.basearch, f"{where}: arch-include")
    for i, entry in enumerate(_conditional_entries(raw, where)):
        at = f"{where}: conditional-include[{i}]"
        if not _conditions_hold(entry, state.variables, at):
            continue
        target = entry["include"]
        if isinstance(target, dict):
            inline_frag = _load_fragment(target, path, f"{at}.include", depth, state, inline=True)
            _merge(frag, inline_frag)
        else:
            includes += _include_list(target, f"{at}.include")
    for name in includes:
        if depth + 1 > MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{where}: include: deeper than {MAX_INCLUDE_DEPTH} levels")
        child_path = path.parent / name
        child_where = f"{where} -> include -> {name}"
        if not child_path.is_file():
            raise ConfigError(f"{where}: include: {name}: no such file")
        _merge(frag, _load_file(child_path, child_where, depth + 1, state))
    return frag


def _parse_file(path: Path, where: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not a text file: {e.reason} at byte {e.start}") from e
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigError(
            f"{where}: not valid {path.suffix.lstrip('.').upper() or 'YAML'}: "
            f"{str(e).splitlines()[0]}"
        ) from e
    except OSError as e:
        raise ConfigError(f"{where}: cannot read: {e.strerror}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    return data


def _include_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(string_list(value, where))


def _arch_includes(value: Any, basearch: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise fail(
            where, f"expected a mapping of architectures to includes, got {type(value).__name__}"
        )
    for arch, includes in value.items():
        _include_list(includes, f"{where}.{arch}")
    return _include_list(value.get(basearch), f"{where}.{basearch}")


def _conditional_entries(raw: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    value = raw.get("conditional-include")
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"{where}: conditional-include", "expected a list of {if, include}")
    for i, entry in enumerate(value):
        at = f"{where}: conditional-include[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"if", "include"}:
            raise fail(at, "expected a mapping with exactly 'if' and 'include'")
    return value


def _conditions_hold(
    entry: Mapping[str, Any], variables: Mapping[str, VarValue], where: str
) -> bool:
    """All conditions must hold; every one is evaluated, so that a bad one is reported
    even when an earlier one is false (as rpm-ostree does)."""
    conditions = entry["if"] if isinstance(entry["if"], list) else [entry["if"]]
    results = [
        evaluate_condition(
            c, variables, f"{where}.if" + (f"[{i}]" if isinstance(entry["if"], list) else "")
        )
        for i, c in enumerate(conditions)
    ]
    return all(results)


def _fold_variables(frag: _Fragment, state: _Load, where: str) -> None:
    """A file's variables join those already known; a variable already defined (by the
    file that includes this one, or one read before) keeps its value."""
    own = dict(frag.values.pop("variables", {}))
    for reserved in ("releasever", "basearch"):
        if reserved in own:
            raise ConfigError(f"{where}: variables.{reserved}: a reserved variable")
    own["basearch"] = state.basearch
    if frag.releasever is not None:
        own["releasever"] = frag.releasever
    own.update(state.variables)
    state.variables.clear()
    state.variables.update(own)


# --- the keys of one file -----------------------------------------------------------------


def _parse_fields(
    raw: Mapping[str, Any], path: Path, where: str, state: _Load, *, inline: bool
) -> _Fragment:
    frag = _Fragment(where)
    packages: tuple[str, ...] = ()
    for raw_key, value in raw.items():
        key = str(raw_key)
        name = ALIASES.get(key, key)
        if name in STRUCTURAL and name != "bootstrap_packages":
            continue
        if value is None:  # `packages:` with every entry commented out: not set
            continue
        at = f"{where}: {key}"
        if name == "bootstrap_packages" or name == "packages":
            packages += package_list(value, at)
        elif name.startswith("packages-"):
            arch_packages = package_list(value, at)
            packages += arch_packages if name[len("packages-") :] == state.basearch else ()
        elif name in KEYS:
            _set(frag, KEYS[name], KEYS[name].parse(value, at), at)
            if name == "releasever":
                frag.releasever = value
        else:
            _check_other_key(frag, name, key, value, at, state)
    if packages or "packages" in raw or "bootstrap_packages" in raw:
        _set(frag, KEYS["packages"], packages, f"{where}: packages")
    _resolve_paths(frag, path.parent, where, inline=inline)
    return frag


def _set(frag: _Fragment, key: Key, value: Any, where: str) -> None:
    frag.values[key.attr] = value
    frag.origins[key.attr] = where


def _check_other_key(
    frag: _Fragment, name: str, key: str, value: Any, where: str, state: _Load
) -> None:
    if name in INFORMATIONAL:
        frag.informational[name] = value
    elif name == "basearch":
        if value != state.basearch:
            raise fail(
                where, f"'{value}': cross-composes are not supported (this is {state.basearch})"
            )
    elif name in NEUTRAL_VALUES:
        if value not in NEUTRAL_VALUES[name]:
            raise fail(
                where, f"{json.dumps(value)}: not supported by fedostree (it would change the tree)"
            )
        frag.informational[name] = value
    elif name in REFUSED:
        raise fail(where, f"not supported: {REFUSED[name]}, and it would change the tree")
    else:
        state.warn(f"{where}: unknown key ignored")


def _resolve_paths(frag: _Fragment, base: Path, where: str, *, inline: bool) -> None:
    """Paths in a treefile are relative to the file that names them; an inline
    conditional treefile may not name files."""
    values = frag.values
    external = [k for k in ("postprocess_script", "add_files") if values.get(k)]
    external += [
        k for k in ("check_passwd", "check_groups") if getattr(values.get(k), "kind", "") == "file"
    ]
    if inline and external:
        raise ConfigError(
            f"{where}: {external[0].replace('_', '-')}: an inline treefile cannot name files"
        )
    if "postprocess_script" in values:
        script = base / values["postprocess_script"]
        if not script.is_file():
            raise ConfigError(
                f"{where}: postprocess-script: {values['postprocess_script']}: no such file"
            )
        values["postprocess_script"] = script
    adds = []
    for i, (src, dest) in enumerate(values.get("add_files", ())):
        if not (base / src).is_file():
            raise ConfigError(f"{where}: add-files[{i}]: {src}: no such file")
        adds.append(AddFile(base / src, dest))
    if "add_files" in values:
        values["add_files"] = tuple(adds)
    for attr in ("check_passwd", "check_groups"):
        check: PasswdCheck | None = values.get(attr)
        if check is not None and check.filename is not None:
            target = base / check.filename
            if not target.is_file():
                key = attr.replace("_", "-")
                raise ConfigError(f"{where}: {key}.filename: {check.filename}: no such file")
            values[attr] = replace(check, filename=target)


# --- merging (rpm-ostree's treefile_merge) ---------------------------------------------------


def _merge(dest: _Fragment, src: _Fragment) -> None:
    """Merge an included file (src) into the file that includes it (dest): a scalar set
    in dest wins (and among includes, the first one read); lists put src's entries first,
    so a later include's entries come before an earlier one's; sets are sorted unions; in
    maps dest's entries win."""
    for key in KEYS.values():
        if key.attr not in src.values:
            continue
        new = src.values[key.attr]
        if key.attr not in dest.values:
            dest.values[key.attr], dest.origins[key.attr] = new, src.origins[key.attr]
            continue
        old = dest.values[key.attr]
        if key.merge == "list":
            dest.values[key.attr] = tuple(new) + tuple(old)
        elif key.merge == "set":
            dest.values[key.attr] = tuple(sorted(set(new) | set(old)))
        elif key.merge == "map":
            dest.values[key.attr] = {**new, **old}
    for name, value in src.informational.items():
        dest.informational.setdefault(name, value)


def _override_repo_packages(entries: tuple[Any, ...]) -> tuple[Any, ...]:
    """A package named by several repo-packages entries comes from the last one."""
    seen: set[str] = set()
    kept = []
    for entry in reversed(entries):
        packages = tuple(p for p in entry.packages if p not in seen)
        seen.update(packages)
        if packages:
            kept.append(replace(entry, packages=packages))
    return tuple(reversed(kept))


# --- the result -----------------------------------------------------------------------------


def _to_treefile(path: Path, top: _Fragment, state: _Load) -> Treefile:
    values = dict(top.values)
    if "packages" in values:
        values["packages"] = tuple(sorted(set(values["packages"])))
    if "repo_packages" in values:
        values["repo_packages"] = _override_repo_packages(values["repo_packages"])
    for attr in ("ignore_removed_users", "ignore_removed_groups"):
        if attr in values:
            values[attr] = tuple(sorted(set(values[attr])))
    _substitute(values, top, state.variables)
    known = {f.name for f in fields(Treefile)}
    assert set(values) <= known, set(values) - known
    return Treefile(
        path=path,
        variables=dict(state.variables),
        informational=top.informational,
        repo_dirs=tuple(state.repo_dirs),
        warnings=tuple(state.warnings),
        **values,
    )


def _substitute(values: dict[str, Any], top: _Fragment, variables: Mapping[str, VarValue]) -> None:
    """${var} in ref, automatic-version-prefix, mutate-os-release, and the string values of
    add-commit-metadata and metadata; a variable with no value is an error."""
    text = {k: _text(v) for k, v in variables.items()}
    for attr in _SUBSTITUTED:
        if isinstance(values.get(attr), str):
            values[attr] = substitute(values[attr], text, top.origins[attr])
    for attr in ("add_commit_metadata", "metadata"):
        if attr in values:
            where = top.origins[attr]
            values[attr] = {
                k: substitute(v, text, f"{where}.{k}") if isinstance(v, str) else v
                for k, v in values[attr].items()
            }
    for name in ("rojig",):
        value = top.informational.get(name)
        if isinstance(value, dict):
            top.informational[name] = {
                k: substitute(v, text, f"{name}.{k}") if isinstance(v, str) else v
                for k, v in value.items()
            }


def substitute(template: str, variables: Mapping[str, str], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ConfigError(f"{where}: '{template}': no value for ${{{name}}}")
        return variables[name]

    return _VARIABLE.sub(value, template)


def _text(value: VarValue) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
