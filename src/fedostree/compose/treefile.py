"""The treefile: rpm-ostree's declarative description of one tree, as one typed model.

Adding a key: document it in the README, add it to `Treefile`, give it a parser in
`_FIELDS` and a merge rule (lists append, scalars override), and add a test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from fedostree.errors import ConfigError

log = logging.getLogger(__name__)

# Keys rpm-ostree knows but fedostree does not act on: loading warns, never fails.
UNSUPPORTED_KEYS = {
    "comment",
    "osname",
    "gpg_key",
    "gpg-key",
    "selinux",
    "bootstrap_packages",
    "documentation",
    "initramfs-args",
    "install-langs",
    "etc-group-members",
    "ignore-removed-users",
    "ignore-removed-groups",
    "check-passwd",
    "check-groups",
    "recommends",
    "remove-from-packages",
    "metadata",
    "boot_location",
    "boot-location",
    "tmp-is-dir",
    "machineid-compat",
    "readonly-executables",
    "rpmdb",
    "cliwrap",
    "container",
    "mutate-os-release",
    "preserve-passwd",
    "repo-packages",
    "modules",
    "variables",
    "conditional-include",
    "arch-include",
    "edition",
    "rojig",
    "kargs",
}


@dataclass(frozen=True)
class AddFile:
    source: Path
    dest: str


@dataclass(frozen=True)
class TreeTest:
    """A command the build server runs in the composed tree before publishing it."""

    name: str
    command: tuple[str, ...]  # argv; a string in the treefile becomes /bin/sh -c STRING
    timeout: float = 60.0  # seconds

    def flattened(self) -> dict[str, Any]:
        return {"name": self.name, "command": list(self.command), "timeout": self.timeout}


@dataclass(frozen=True)
class Treefile:
    """A fully merged treefile: what one `compose tree` builds."""

    path: Path
    ref: str = ""
    repos: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    exclude_packages: tuple[str, ...] = ()
    releasever: str | None = None
    automatic_version_prefix: str | None = None
    postprocess_script: Path | None = None
    postprocess: tuple[str, ...] = ()
    add_files: tuple[AddFile, ...] = ()
    remove_files: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    default_target: str | None = None
    ignore_scripts: tuple[str, ...] = ()
    tests: tuple[TreeTest, ...] = ()
    repo_dirs: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def flattened(self) -> dict[str, Any]:
        """The canonical, path-independent form that the input hash covers."""
        out: dict[str, Any] = {
            "ref": self.ref,
            "repos": list(self.repos),
            "packages": list(self.packages),
            "exclude-packages": list(self.exclude_packages),
            "releasever": self.releasever,
            "automatic-version-prefix": self.automatic_version_prefix,
            "postprocess": list(self.postprocess),
            "remove-files": list(self.remove_files),
            "units": list(self.units),
            "default-target": self.default_target,
            "ignore-scripts": list(self.ignore_scripts),
        }
        if self.tests:  # absent when empty: trees without tests keep their input hash
            out["tests"] = [t.flattened() for t in self.tests]
        if self.postprocess_script:
            out["postprocess-script"] = _file_digest(self.postprocess_script)
        out["add-files"] = [[_file_digest(a.source), a.dest] for a in self.add_files]
        return out


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- value parsers: each takes (value, key-path) and raises ConfigError naming the path ---


def _fail(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what}")


def string_value(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(where, f"expected a string, got {type(value).__name__}")
    return str(value)


def string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(where, f"expected a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _fail(f"{where}[{i}]", f"expected a string, got {type(item).__name__}")
    return tuple(value)


def package_list(value: Any, where: str) -> tuple[str, ...]:
    """rpm-ostree lets one string name several packages separated by spaces."""
    return tuple(name for item in string_list(value, where) for name in item.split())


def _add_files(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise _fail(where, f"expected a list of [source, dest] pairs, got {type(value).__name__}")
    pairs = []
    for i, item in enumerate(value):
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)
        ):
            raise _fail(f"{where}[{i}]", "expected a [source, dest] pair of strings")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


TEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TEST_KEYS = ("name", "command", "timeout")


def tree_tests(value: Any, where: str) -> tuple[TreeTest, ...]:
    """`tests`: [{name, command: string | [argv...], timeout: seconds (default 60)}]."""
    if not isinstance(value, list):
        raise _fail(where, f"expected a list of tests, got {type(value).__name__}")
    tests = tuple(_tree_test(item, f"{where}[{i}]") for i, item in enumerate(value))
    if (i := _first_duplicate(tests)) is not None:
        raise _fail(f"{where}[{i}].name", f"'{tests[i].name}' is already the name of a test")
    return tests


def _tree_test(item: Any, where: str) -> TreeTest:
    if not isinstance(item, dict):
        raise _fail(where, f"expected a mapping with name and command, got {type(item).__name__}")
    for key in item:
        if key not in _TEST_KEYS:
            raise _fail(where, f"unknown key '{key}' (expected {', '.join(_TEST_KEYS)})")
    for key in ("name", "command"):
        if key not in item:
            raise _fail(where, f"{key}: missing")
    return TreeTest(
        _test_name(item["name"], f"{where}.name"),
        _test_command(item["command"], f"{where}.command"),
        _test_timeout(item.get("timeout", 60), f"{where}.timeout"),
    )


def _test_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "expected a non-empty string")
    if not TEST_NAME.fullmatch(value):
        raise _fail(where, f"'{value}': use letters, digits, '.', '_' and '-'")
    return value


def _test_command(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise _fail(where, "must not be empty")
        return ("/bin/sh", "-c", value)
    if not isinstance(value, list):
        raise _fail(where, f"expected a string or a list of strings, got {type(value).__name__}")
    argv = string_list(value, where)
    if not argv:
        raise _fail(where, "must not be empty")
    if not argv[0]:
        raise _fail(f"{where}[0]", "must name a program")
    return argv


def _test_timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, "must be a positive number")
    if not (math.isfinite(value) and value > 0):
        raise _fail(where, "must be a positive number")
    return float(value)


def _first_duplicate(tests: tuple[TreeTest, ...]) -> int | None:
    names = [t.name for t in tests]
    return next((i for i, name in enumerate(names) if name in names[:i]), None)


Parser = Callable[[Any, str], Any]
# key -> (Treefile attribute, parser); dash and underscore spellings both accepted.
_FIELDS: dict[str, tuple[str, Parser]] = {
    "ref": ("ref", string_value),
    "repos": ("repos", string_list),
    "packages": ("packages", package_list),
    "exclude-packages": ("exclude_packages", package_list),
    "releasever": ("releasever", string_value),
    "automatic-version-prefix": ("automatic_version_prefix", string_value),
    "postprocess-script": ("postprocess_script", string_value),
    "postprocess": ("postprocess", string_list),
    "add-files": ("add_files", _add_files),
    "remove-files": ("remove_files", string_list),
    "units": ("units", string_list),
    "default-target": ("default_target", string_value),
    "ignore-scripts": ("ignore_scripts", string_list),
    "tests": ("tests", tree_tests),
}
_LIST_ATTRS = {f.name for f in fields(Treefile) if f.type.startswith("tuple")}
_VARIABLE = re.compile(r"\$\{[^}]*\}")
# libostree's OSTREE_REF_REGEXP: slash-separated fragments of [-._\w\d].
_OSTREE_REF = re.compile(r"(?:[-._\w]+/)*[-._\w]+")


def load_treefile(path: Path, *, basearch: str = "x86_64") -> Treefile:
    """Load, validate and merge a treefile with its include chain; raise ConfigError."""
    path = Path(path).absolute()
    warnings: list[str] = []
    merged = _load_fragment(path, basearch, (), warnings, seen=())
    merged = replace(merged, path=path, warnings=tuple(warnings))
    if (i := _first_duplicate(merged.tests)) is not None:
        raise ConfigError(
            f"{path}: tests: '{merged.tests[i].name}' is the name of two tests in the include chain"
        )
    if merged.repo_dirs[:1] != (path.parent,):
        merged = replace(merged, repo_dirs=(path.parent, *merged.repo_dirs))
    return _substitute(merged, basearch)


def validate_for_compose(tf: Treefile) -> None:
    """A treefile that `compose tree` can build needs a ref, repos and packages."""
    for key, value in (("ref", tf.ref), ("repos", tf.repos), ("packages", tf.packages)):
        if not value:
            raise ConfigError(f"{tf.path}: {key}: missing, required for compose")
    if not _OSTREE_REF.fullmatch(tf.ref):
        raise ConfigError(f"{tf.path}: ref: '{tf.ref}' is not a valid OSTree ref")


def _load_fragment(
    path: Path, basearch: str, chain: tuple[str, ...], warnings: list[str], seen: tuple[Path, ...]
) -> Treefile:
    where = " -> ".join((str(seen[0]) if seen else str(path), *chain))
    if path.resolve() in {p.resolve() for p in seen}:
        raise ConfigError(f"{where}: include loop")
    raw = _parse_file(path, where)
    base = Treefile(path=path, repo_dirs=(path.parent,))
    for i, name in enumerate(_includes(raw, where)):
        inc = path.parent / name
        sub_chain = (*chain, f"include -> {name}")
        if not inc.is_file():
            raise ConfigError(
                f"{' -> '.join((str(seen[0]) if seen else str(path), *chain))}: "
                f"include[{i}]: {name}: no such file"
            )
        child = _load_fragment(inc, basearch, sub_chain, warnings, (*seen, path))
        base = _merge(base, child)
    return _merge(base, _parse_fields(raw, path, basearch, where, warnings))


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
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    return data


def _includes(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = raw.get("include", [])
    if isinstance(value, str):
        return (value,)
    return string_list(value, f"{where}: include")


def _parse_fields(
    raw: Mapping[str, Any], path: Path, basearch: str, where: str, warnings: list[str]
) -> Treefile:
    values: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = str(raw_key)
        norm = key.replace("_", "-")
        if norm == "include":
            continue
        if norm.startswith("packages-"):
            if key[len("packages-") :] == basearch:
                values["packages"] = values.get("packages", ()) + package_list(
                    value, f"{where}: {key}"
                )
            continue
        if norm not in _FIELDS:
            _warn(
                warnings,
                f"{where}: unknown key '{key}' ignored"
                if key not in UNSUPPORTED_KEYS
                else f"{where}: key '{key}' is not supported; ignored",
            )
            continue
        attr, parser = _FIELDS[norm]
        parsed = parser(value, f"{where}: {key}")
        values[attr] = values.get(attr, ()) + parsed if attr == "packages" else parsed
    _resolve_paths(values, path.parent, where)
    return Treefile(path=path, repo_dirs=(path.parent,), **values)


def _resolve_paths(values: dict[str, Any], base: Path, where: str) -> None:
    """Paths in a treefile are relative to the file that names them."""
    if "postprocess_script" in values:
        script = base / values["postprocess_script"]
        if not script.is_file():
            raise ConfigError(f"{where}: postprocess-script: {script.name}: no such file")
        values["postprocess_script"] = script
    adds = []
    for i, (src, dest) in enumerate(values.get("add_files", ())):
        if not (base / src).is_file():
            raise ConfigError(f"{where}: add-files[{i}]: {src}: no such file")
        adds.append(AddFile(base / src, dest))
    values["add_files"] = tuple(adds)


def _merge(base: Treefile, over: Treefile) -> Treefile:
    """rpm-ostree's include rule: lists append (included first), scalars override."""
    changes: dict[str, Any] = {}
    for f in fields(Treefile):
        if f.name in ("path", "warnings"):
            continue
        old, new = getattr(base, f.name), getattr(over, f.name)
        if f.name in _LIST_ATTRS:
            changes[f.name] = old + tuple(x for x in new if f.name != "repo_dirs" or x not in old)
        elif new not in (None, ""):
            changes[f.name] = new
    return replace(base, **changes)


def _substitute(tf: Treefile, basearch: str) -> Treefile:
    """${basearch} and ${releasever} in the ref; any other variable is an error."""
    variables = {"basearch": basearch}
    if tf.releasever:
        variables["releasever"] = tf.releasever
    ref = tf.ref
    for name, value in variables.items():
        ref = ref.replace("${" + name + "}", value)
    if unknown := _VARIABLE.search(ref):
        raise ConfigError(f"{tf.path}: ref: '{tf.ref}': no value for {unknown.group()}")
    return replace(tf, ref=ref)


def _warn(warnings: list[str], message: str) -> None:
    warnings.append(message)
    log.warning("%s", message)
