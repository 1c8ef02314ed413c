"""Every treefile key: its parser, its merge rule, and the keys rpm-ostree knows that
fedostree accepts without effect or refuses.

Each parser takes (value, where) and raises ConfigError naming `where` (the file, the
include chain and the key path)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from fedostree.errors import ConfigError
from fedostree.model.treefile import (
    PasswdCheck,
    RemoveFromPackage,
    RepoPackages,
    TreeTest,
    VarValue,
    file_digest,
)

if TYPE_CHECKING:
    from fedostree.model.treefile import Treefile


def fail(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what}")


# --- value parsers ----------------------------------------------------------------------


def string_value(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise fail(where, f"expected a string, got {type(value).__name__}")
    return str(value)


def bool_value(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(where, f"expected true or false, got {type(value).__name__}")
    return value


def string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise fail(where, f"expected a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise fail(f"{where}[{i}]", f"expected a string, got {type(item).__name__}")
    return tuple(value)


def package_list(value: Any, where: str) -> tuple[str, ...]:
    """rpm-ostree lets one string name several packages separated by whitespace, unless a
    part is in single quotes: `"'podman >= 4.1'"` is one spec."""
    return tuple(
        name
        for i, item in enumerate(string_list(value, where))
        for name in split_package_specs(item, f"{where}[{i}]")
    )


def split_package_specs(text: str, where: str) -> list[str]:
    parts = text.split("'")
    if len(parts) % 2 == 0:
        raise fail(where, f"missing terminating quote: {text}")
    out: list[str] = []
    for i, part in enumerate(parts):
        out += [part] if i % 2 else part.split()
    return [p for p in out if p]


def string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping of strings, got {type(value).__name__}")
    return {str(k): string_value(v, f"{where}.{k}") for k, v in value.items()}


def any_map(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def variables_map(value: Any, where: str) -> dict[str, VarValue]:
    """`variables`: booleans, non-negative integers and strings, as rpm-ostree allows."""
    out = {}
    for name, v in any_map(value, where).items():
        if isinstance(v, bool | str) or (isinstance(v, int) and v >= 0):
            out[name] = v
        else:
            raise fail(f"{where}.{name}", "expected a boolean, a number or a string")
    return out


def releasever_value(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise fail(where, f"expected a string or a number, got {type(value).__name__}")
    return str(value)


def choice(*allowed: str) -> Callable[[Any, str], str]:
    def parse(value: Any, where: str) -> str:
        text = string_value(value, where)
        if text not in allowed:
            raise fail(where, f"'{text}': expected one of {', '.join(allowed)}")
        return text

    return parse


def add_files(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise fail(where, f"expected a list of [source, dest] pairs, got {type(value).__name__}")
    pairs = []
    for i, item in enumerate(value):
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)
        ):
            raise fail(f"{where}[{i}]", "expected a [source, dest] pair of strings")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def repo_packages(value: Any, where: str) -> tuple[RepoPackages, ...]:
    """`repo-packages`: [{repo: ID, packages: [...]}]."""
    if not isinstance(value, list):
        raise fail(where, f"expected a list of {{repo, packages}}, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise fail(at, "expected a mapping with repo and packages")
        unknown = set(item) - {"repo", "packages"}
        if unknown:
            raise fail(at, f"unknown key '{sorted(unknown)[0]}' (expected repo, packages)")
        for key in ("repo", "packages"):
            if key not in item:
                raise fail(at, f"{key}: missing")
        out.append(
            RepoPackages(
                string_value(item["repo"], f"{at}.repo"),
                package_list(item["packages"], f"{at}.packages"),
            )
        )
    return tuple(out)


def remove_from_packages(value: Any, where: str) -> tuple[RemoveFromPackage, ...]:
    """`remove-from-packages`: [[PACKAGE, REGEX, ...], ...]."""
    if not isinstance(value, list):
        raise fail(
            where, f"expected a list of [package, regex...] lists, got {type(value).__name__}"
        )
    out = []
    for i, item in enumerate(value):
        entry = string_list(item, f"{where}[{i}]")
        if len(entry) < 2:
            raise fail(f"{where}[{i}]", "expected a package name and at least one regex")
        for j, pattern in enumerate(entry[1:], start=1):
            try:
                re.compile(pattern)
            except re.error as e:
                raise fail(f"{where}[{i}][{j}]", f"'{pattern}': not a valid regex: {e}") from e
        out.append(RemoveFromPackage(entry[0], entry[1:]))
    return tuple(out)


_CHECK_KINDS = ("none", "previous", "file", "data")


def passwd_check(value: Any, where: str) -> PasswdCheck:
    """`check-passwd` / `check-groups`: {type: none|previous|file|data, filename, entries}.
    A file's name stays relative here; the loader resolves it beside its treefile."""
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping with 'type', got {type(value).__name__}")
    kind = choice(*_CHECK_KINDS)(value.get("type"), f"{where}.type")
    allowed = {"type", "filename"} if kind == "file" else {"type", "entries"}
    if kind in ("none", "previous"):
        allowed = {"type"}
    unknown = set(value) - allowed
    if unknown:
        raise fail(where, f"unknown key '{sorted(unknown)[0]}' for type {kind}")
    if kind == "file":
        from pathlib import Path

        name = string_value(value.get("filename"), f"{where}.filename")
        return PasswdCheck("file", filename=Path(name))
    if kind == "data":
        entries = any_map(value.get("entries"), f"{where}.entries")
        return PasswdCheck(
            "data", entries={k: _ids(v, f"{where}.entries.{k}") for k, v in entries.items()}
        )
    return PasswdCheck(kind)  # type: ignore[arg-type]


def _ids(value: Any, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not (1 <= len(items) <= 2) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in items
    ):
        raise fail(where, "expected an id or a [uid, gid] pair of numbers")
    return tuple(items)


TEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TEST_KEYS = ("name", "command", "timeout")


def tree_tests(value: Any, where: str) -> tuple[TreeTest, ...]:
    """`tests`: [{name, command: string | [argv...], timeout: seconds (default 60)}]."""
    if not isinstance(value, list):
        raise fail(where, f"expected a list of tests, got {type(value).__name__}")
    tests = tuple(_tree_test(item, f"{where}[{i}]") for i, item in enumerate(value))
    if (i := first_duplicate_test(tests)) is not None:
        raise fail(f"{where}[{i}].name", f"'{tests[i].name}' is already the name of a test")
    return tests


def _tree_test(item: Any, where: str) -> TreeTest:
    if not isinstance(item, dict):
        raise fail(where, f"expected a mapping with name and command, got {type(item).__name__}")
    for key in item:
        if key not in _TEST_KEYS:
            raise fail(where, f"unknown key '{key}' (expected {', '.join(_TEST_KEYS)})")
    for key in ("name", "command"):
        if key not in item:
            raise fail(where, f"{key}: missing")
    return TreeTest(
        _test_name(item["name"], f"{where}.name"),
        _test_command(item["command"], f"{where}.command"),
        _test_timeout(item.get("timeout", 60), f"{where}.timeout"),
    )


def _test_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise fail(where, "expected a non-empty string")
    if not TEST_NAME.fullmatch(value):
        raise fail(where, f"'{value}': use letters, digits, '.', '_' and '-'")
    return value


def _test_command(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise fail(where, "must not be empty")
        return ("/bin/sh", "-c", value)
    if not isinstance(value, list):
        raise fail(where, f"expected a string or a list of strings, got {type(value).__name__}")
    argv = string_list(value, where)
    if not argv:
        raise fail(where, "must not be empty")
    if not argv[0]:
        raise fail(f"{where}[0]", "must name a program")
    return argv


def _test_timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(where, "must be a positive number")
    if not (math.isfinite(value) and value > 0):
        raise fail(where, "must be a positive number")
    return float(value)


def first_duplicate_test(tests: tuple[TreeTest, ...]) -> int | None:
    names = [t.name for t in tests]
    return next((i for i, name in enumerate(names) if name in names[:i]), None)


# --- the key table ------------------------------------------------------------------------

Merge = Literal["scalar", "list", "set", "map"]


@dataclass(frozen=True)
class Key:
    """A treefile key fedostree acts on: the Treefile attribute, the parser, and
    rpm-ostree's merge rule across includes."""

    attr: str
    parse: Callable[[Any, str], Any]
    merge: Merge


KEYS: dict[str, Key] = {
    "ref": Key("ref", string_value, "scalar"),
    "releasever": Key("releasever", releasever_value, "scalar"),
    "variables": Key("variables", variables_map, "map"),
    "repos": Key("repos", string_list, "list"),
    "lockfile-repos": Key("lockfile_repos", string_list, "list"),
    "repovars": Key("repovars", string_map, "map"),
    "packages": Key("packages", package_list, "set"),
    "repo-packages": Key("repo_packages", repo_packages, "list"),
    "exclude-packages": Key("exclude_packages", package_list, "list"),
    "recommends": Key("recommends", bool_value, "scalar"),
    "documentation": Key("documentation", bool_value, "scalar"),
    "install-langs": Key("install_langs", string_list, "list"),
    "remove-from-packages": Key("remove_from_packages", remove_from_packages, "list"),
    "ostree-layers": Key("ostree_layers", string_list, "list"),
    "ostree-override-layers": Key("ostree_override_layers", string_list, "list"),
    "automatic-version-prefix": Key("automatic_version_prefix", string_value, "scalar"),
    "automatic-version-suffix": Key("automatic_version_suffix", string_value, "scalar"),
    "mutate-os-release": Key("mutate_os_release", string_value, "scalar"),
    "add-commit-metadata": Key("add_commit_metadata", any_map, "map"),
    "postprocess-script": Key("postprocess_script", string_value, "scalar"),
    "postprocess": Key("postprocess", string_list, "list"),
    "add-files": Key("add_files", add_files, "list"),
    "remove-files": Key("remove_files", string_list, "list"),
    "units": Key("units", string_list, "list"),
    "default-target": Key("default_target", string_value, "scalar"),
    "edition": Key("edition", choice("2014", "2024"), "scalar"),
    "boot-location": Key("boot_location", choice("new", "modules", "kernel-install"), "scalar"),
    "tmp-is-dir": Key("tmp_is_dir", bool_value, "scalar"),
    "machineid-compat": Key("machineid_compat", bool_value, "scalar"),
    "readonly-executables": Key("readonly_executables", bool_value, "scalar"),
    "selinux": Key("selinux", bool_value, "scalar"),
    "etc-group-members": Key("etc_group_members", string_list, "list"),
    "check-passwd": Key("check_passwd", passwd_check, "scalar"),
    "check-groups": Key("check_groups", passwd_check, "scalar"),
    "ignore-removed-users": Key("ignore_removed_users", string_list, "set"),
    "ignore-removed-groups": Key("ignore_removed_groups", string_list, "set"),
    "preserve-passwd": Key("preserve_passwd", bool_value, "scalar"),
    "ignore-scripts": Key("ignore_scripts", string_list, "list"),
    "tests": Key("tests", tree_tests, "list"),
    "metadata": Key("metadata", any_map, "map"),
}

# rpm-ostree's legacy underscore spellings (its LegacyTreeComposeConfigFields) and
# bootstrap_packages, which is merged into packages.
ALIASES = {
    "gpg_key": "gpg-key",
    "boot_location": "boot-location",
    "default_target": "default-target",
    "automatic_version_prefix": "automatic-version-prefix",
}

# Keys that only describe the tree for other tools: accepted, shown by --print-only.
INFORMATIONAL = {"rojig", "gpg-key", "container-cmd", "repo-metadata", "advisories-metadata"}

# Keys rpm-ostree knows, accepted only at the value that leaves the tree as fedostree
# builds it; any other value would silently give a different tree, so it is refused.
NEUTRAL_VALUES: dict[str, tuple[Any, ...]] = {
    "rpmdb": ("target", "sqlite", "bdb", "ndb"),  # fedostree writes the target's sqlite rpmdb
    "no-initramfs": (True, False),
    "ignore-devices": (True,),
    "ima": (False,),
    "cliwrap": (False,),
    "cliwrap-binaries": ([],),
    "container": (False,),
    "selinux-label-version": (0,),
    "rpmdb-normalize": (False,),
    "opt-usrlocal": ("var",),
    "sysusers": ("compose-auto",),
    "basearch": (),  # checked against the compose's architecture by the loader
}

# Keys rpm-ostree knows that change the tree and that fedostree does not implement.
REFUSED = {
    "initramfs-args": "fedostree does not generate the initramfs",
    "platform-module": "fedostree does not support modularity",
    "modules": "fedostree does not support modularity",
    # client-side derivation keys (rpm-ostree's DeriveConfigFields)
    "base-refspec": "a client-side derivation key",
    "container-image-reference": "a client-side derivation key",
    "packages-local": "a client-side derivation key",
    "packages-local-fileoverride": "a client-side derivation key",
    "override-remove": "a client-side derivation key",
    "ex-override-replace": "a client-side derivation key",
    "override-replace-local": "a client-side derivation key",
    "initramfs": "a client-side derivation key",
    "custom": "a client-side derivation key",
    "override-commit": "a client-side derivation key",
    "unconfigured-state": "a client-side derivation key",
}

STRUCTURAL = {"include", "arch-include", "conditional-include", "bootstrap_packages"}


# --- the input hash form ------------------------------------------------------------------

# Attributes that do not change the tree or the commit, or are covered otherwise.
_NOT_HASHED = {"path", "warnings", "repo_dirs", "variables", "metadata", "informational"}


def flatten_treefile(tf: Treefile) -> dict[str, Any]:
    """Every attribute that changes the tree or the commit, path-independent, with
    external files by digest. Unset and empty values are left out, so that adding a key
    to the model does not change the input hash of treefiles that do not use it."""
    out: dict[str, Any] = {}
    for f in fields(tf):
        if f.name in _NOT_HASHED:
            continue
        value = _flat(getattr(tf, f.name))
        if value in (None, [], {}, ""):
            continue
        out[f.name.replace("_", "-")] = value
    if tf.postprocess_script is not None:
        out["postprocess-script"] = file_digest(tf.postprocess_script)
    if tf.add_files:
        out["add-files"] = [[file_digest(a.source), a.dest] for a in tf.add_files]
    return out


def _flat(value: Any) -> Any:
    if hasattr(value, "flattened"):
        return value.flattened()
    if isinstance(value, tuple | list):
        return [_flat(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _flat(v) for k, v in sorted(value.items())}
    if hasattr(value, "__fspath__"):
        return str(value)
    return value
