"""Loading a treefile as rpm-ostree does (rust/src/treefile.rs `treefile_parse_recurse`,
`treefile_merge`, `substitute_vars`).

Each file is parsed on its own (treefile_parse.py). Its `variables` join those already
known, which keep their values: the includer's win over its includes', and an include
read earlier wins over a later one (variables are shared by the whole load, so a file
sees those of the siblings read before it). Then its includes are listed: `include`,
then this architecture's `arch-include`, then each `conditional-include` whose
conditions hold with the variables known at that point (an inline treefile is merged at
once); each included file is read, recursively, and merged into the includer with
rpm-ostree's rules (treefile_keys.py). A file included twice is an error. At the end
`${var}` is substituted where rpm-ostree substitutes it."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from fedostree.engine.ostree import is_valid_ref
from fedostree.errors import ConfigError
from fedostree.model.conditions import evaluate_conditions
from fedostree.model.treefile import RepoPackages, Treefile, VarValue
from fedostree.model.treefile_keys import KEYS
from fedostree.model.treefile_parse import Fragment, IncludeRef, parse_fragment
from fedostree.model.treefile_values import first_duplicate_test
from fedostree.model.version import BadDateFormat, check_prefix
from fedostree.model.yaml_core import DuplicateKeyError, load_yaml

log = logging.getLogger(__name__)
MAX_INCLUDE_DEPTH = 50  # rpm-ostree's INCLUDE_MAXDEPTH
BASEARCH = os.uname().machine
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# Keys whose string values rpm-ostree substitutes ${variables} in.
_SUBSTITUTED = ("ref", "automatic_version_prefix", "mutate_os_release")


@dataclass
class _Load:
    basearch: str
    variables: dict[str, VarValue] = field(default_factory=dict)
    seen: dict[tuple[int, int], str] = field(default_factory=dict)  # (dev, ino) -> where
    repo_dirs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)


def load_treefile(path: Path, *, basearch: str = BASEARCH) -> Treefile:
    """Load, validate and merge a treefile with its include chain; raise ConfigError."""
    path = Path(path).absolute()
    state = _Load(basearch)
    top = _load_file(_Place(path, str(path)), state)
    return _to_treefile(path, top, state)


def load_treefile_data(raw: Mapping[str, Any], path: Path, *, basearch: str) -> Treefile:
    """A treefile given as a mapping (server/products.py builds them), as if it were
    written in the file `path`: includes and files are relative to it."""
    path = Path(path).absolute()
    state = _Load(basearch)
    top = _load_mapping(raw, _Place(path, str(path)), state)
    return _to_treefile(path, top, state)


def validate_for_compose(tf: Treefile) -> None:
    """What `compose tree` needs beyond a treefile that loads (as rpm-ostree's
    treefile_new_compose and sanitycheck_externals)."""
    if not tf.ref:  # no `repos`: every repository the *.repo files beside it enable
        raise ConfigError(f"{tf.path}: ref: missing, required for compose")
    if not (tf.packages or tf.repo_packages):
        raise ConfigError(f"{tf.path}: packages: missing, required for compose")
    if not is_valid_ref(tf.ref):  # checked on load; a Treefile may be built otherwise
        raise ConfigError(f"{tf.path}: ref: '{tf.ref}' is not a valid OSTree ref")
    for name, why in (("releasever", "use the releasever key"), ("basearch", "it is set")):
        if name in tf.repovars:
            raise ConfigError(f"{tf.path}: repovars.{name}: not allowed ({why})")
    if tf.machineid_compat is False and tf.units:
        raise ConfigError(f"{tf.path}: units: incompatible with machineid-compat: false")


# --- files and their includes -----------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """Where a file stands in the load: its path, the include chain that leads to it
    (for messages), its depth, and the files above it (to tell a loop)."""

    path: Path
    where: str
    depth: int = 0
    above: tuple[tuple[int, int], ...] = ()  # (st_dev, st_ino) of the including files

    def include(self, ref: IncludeRef, devino: tuple[int, int] | None) -> _Place:
        above = self.above if devino is None else (*self.above, devino)
        child = self.path.parent / ref.name
        return _Place(child, f"{self.where} -> {ref.key} -> {ref.name}", self.depth + 1, above)


def _load_file(place: _Place, state: _Load) -> Fragment:
    try:
        st = place.path.stat()
    except OSError:
        raise ConfigError(f"{place.where}: no such file") from None
    devino = (st.st_dev, st.st_ino)
    if devino in place.above:
        raise ConfigError(f"{place.where}: include loop")
    if devino in state.seen:
        raise ConfigError(
            f"{place.where}: already included by {state.seen[devino]}; "
            "a treefile may be included only once (as in rpm-ostree)"
        )
    state.seen[devino] = place.where
    return _load_mapping(_parse_file(place.path, place.where), place, state, devino)


def _load_mapping(
    raw: Mapping[str, Any], place: _Place, state: _Load, devino: tuple[int, int] | None = None
) -> Fragment:
    base = place.path.parent
    frag = parse_fragment(raw, base, place.where, state.basearch, inline=False)
    for warning in frag.warnings:
        state.warn(warning)
    _refuse_finalize_d(base, place.where)
    if base not in state.repo_dirs:
        state.repo_dirs.append(base)
    state.variables = {**frag.variables, **state.variables}  # known ones keep their value
    includes = list(frag.includes)
    for i, entry in enumerate(frag.conditionals):
        at = f"{place.where}: conditional-include[{i}]"
        if not evaluate_conditions(entry["if"], state.variables, f"{at}.if"):
            continue
        if isinstance(entry["include"], dict):
            inline = parse_fragment(
                entry["include"], base, f"{at}.include", state.basearch, inline=True
            )
            for warning in inline.warnings:
                state.warn(warning)
            merge(frag, inline)
        else:
            includes += _conditional_includes(entry["include"], i)
    for ref in includes:
        merge(frag, _load_include(ref, place, devino, state))
    return frag


def _conditional_includes(target: str | list[Any], i: int) -> list[IncludeRef]:
    key = f"conditional-include[{i}].include"
    if isinstance(target, str):
        return [IncludeRef(target, "conditional-include", key)]
    return [IncludeRef(name, "conditional-include", f"{key}[{j}]") for j, name in enumerate(target)]


def _load_include(
    ref: IncludeRef, place: _Place, devino: tuple[int, int] | None, state: _Load
) -> Fragment:
    at = f"{place.where}: {ref.where}"
    if place.depth + 1 > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"{at}: deeper than {MAX_INCLUDE_DEPTH} includes")
    child = place.include(ref, devino)
    if not child.path.is_file():
        raise ConfigError(f"{at}: {ref.name}: no such file")
    if child.path.suffix == ".ks":
        raise ConfigError(f"{at}: {ref.name}: kickstart files are not supported")
    return _load_file(child, state)


def _parse_file(path: Path, where: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    if path.suffix == ".ks":
        raise ConfigError(f"{where}: kickstart files are not supported")
    try:
        text = path.read_text()
        data = _parse_json(text) if path.suffix == ".json" else load_yaml(text)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not a text file: {e.reason} at byte {e.start}") from e
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise ConfigError(f"{where}: not valid {kind}: {str(e).splitlines()[0]}") from e
    except OSError as e:
        raise ConfigError(f"{where}: cannot read: {e.strerror}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    return data


def _parse_json(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        for i, k in enumerate(keys):
            if k in keys[:i]:
                raise DuplicateKeyError(f"duplicate key '{k}'")
        return dict(items)

    return json.loads(text, object_pairs_hook=pairs)


def _refuse_finalize_d(directory: Path, where: str) -> None:
    """rpm-ostree runs the executables in `finalize.d/` beside any treefile of the chain
    on the composed tree; fedostree does not, so it refuses rather than ignores them."""
    finalize = directory / "finalize.d"
    if finalize.is_dir() and any(p.is_file() and os.access(p, os.X_OK) for p in finalize.iterdir()):
        raise ConfigError(f"{where}: {finalize}: finalize.d scripts are not supported")


# --- merging (rpm-ostree's treefile_merge) ---------------------------------------------------


def merge(dest: Fragment, src: Fragment) -> None:
    """Merge an included file (src) into the file that includes it (dest)."""
    for key in KEYS.values():
        for attr in (key.attr, *_COMPANIONS.get(key.attr, ())):
            _merge_value(dest, src, attr, key.merge)
    for name, value in src.informational.items():
        dest.informational.setdefault(name, value)
    if "repo_packages" in dest.values:
        dest.values["repo_packages"] = _override_repo_packages(dest.values["repo_packages"])


# Attributes that travel with a key's value.
_COMPANIONS = {"postprocess_script": ("postprocess_script_written",)}


def _merge_value(dest: Fragment, src: Fragment, attr: str, rule: str) -> None:
    if attr not in src.values:
        return
    new = src.values[attr]
    if attr not in dest.values:
        dest.set(attr, new, src.origins.get(attr, src.where))
        return
    old = dest.values[attr]
    if rule == "list":
        dest.values[attr] = tuple(new) + tuple(old)
    elif rule == "set":
        dest.values[attr] = tuple(sorted(set(new) | set(old)))
    elif rule == "map":
        dest.values[attr] = {**new, **old}


def _override_repo_packages(entries: tuple[RepoPackages, ...]) -> tuple[RepoPackages, ...]:
    """rpm-ostree's handle_repo_packages_overrides: a package named by several
    repo-packages entries comes from the last one; emptied entries are dropped."""
    seen: set[str] = set()
    kept = []
    for entry in reversed(entries):
        packages = tuple(p for p in entry.packages if p not in seen)
        seen.update(packages)
        if packages:
            kept.append(RepoPackages(entry.repo, packages))
    return tuple(reversed(kept))


# --- the result -----------------------------------------------------------------------------


def _to_treefile(path: Path, top: Fragment, state: _Load) -> Treefile:
    values = dict(top.values)
    informational = dict(top.informational)
    _substitute(values, informational, top, state.variables)
    _check_ref(values.get("ref"), top)
    if (prefix := values.get("automatic_version_prefix")) is not None:
        try:
            check_prefix(prefix)
        except BadDateFormat as e:
            raise ConfigError(f"{top.origins['automatic_version_prefix']}: {e}") from None
    _check_add_files(path, values.get("add_files", ()))
    known = {f.name for f in fields(Treefile)}
    assert set(values) <= known, set(values) - known
    tf = Treefile(
        path=path,
        basearch=state.basearch,
        variables=dict(state.variables),
        informational=informational,
        extra=top.extra,
        repo_dirs=tuple(state.repo_dirs),
        warnings=tuple(state.warnings),
        **values,
    )
    if (i := first_duplicate_test(tf.tests)) is not None:
        raise ConfigError(
            f"{path}: tests: '{tf.tests[i].name}' is the name of two tests in the include chain"
        )
    return tf


def _check_ref(ref: str | None, top: Fragment) -> None:
    """The ref as libostree would take it, refused before anything is created for it."""
    if ref is not None and not is_valid_ref(ref):
        raise ConfigError(f"{top.origins['ref']}: '{ref}' is not a valid OSTree ref")


def _check_add_files(path: Path, add_files: tuple[Any, ...]) -> None:
    """rpm-ostree keeps one file per add-files source name across the include chain:
    two different files given the same name would silently become one."""
    by_name: dict[str, Path] = {}
    for entry in add_files:
        other = by_name.setdefault(entry.written, entry.source)
        if other.resolve() != entry.source.resolve():
            raise ConfigError(
                f"{path}: add-files: '{entry.written}' names two files ({other} and "
                f"{entry.source}); rpm-ostree would copy one of them for both: rename one"
            )


def _substitute(
    values: dict[str, Any],
    informational: dict[str, Any],
    top: Fragment,
    variables: Mapping[str, VarValue],
) -> None:
    """${var} in ref, automatic-version-prefix, mutate-os-release, the string values of
    add-commit-metadata and metadata, and rojig's texts (rpm-ostree's substitute_vars)."""
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
    if isinstance(rojig := informational.get("rojig"), dict):
        informational["rojig"] = {
            k: substitute(v, text, f"{top.where}: rojig.{k}") if isinstance(v, str) else v
            for k, v in rojig.items()
        }


def substitute(template: str, variables: Mapping[str, str], where: str) -> str:
    """envsubst as rpm-ostree uses it: `${name}` replaced; a name with no value is an
    error here (rpm-ostree would leave `${name}` in the value)."""
    start, end = template.find("${"), template.find("}")
    if start < 0 or end < 0 or end < start:  # envsubst's is_templated
        return template

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ConfigError(f"{where}: '{template}': no value for ${{{name}}}")
        return variables[name]

    return _VARIABLE.sub(value, template)


def _text(value: VarValue) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
