"""Parsers for treefile values, with rpm-ostree's types (rust/src/treefile.rs).

Each parser takes (value, where) and raises ConfigError naming `where` (the file, the
include chain and the key path). A number given for a string key stands for the string
it is written as (yaml_core.py keeps its text: `1.10` is "1.10"); rpm-ostree refuses it,
fedostree always accepted it. In a list, every entry must be a string, as in rpm-ostree."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.treefile import (
    PasswdCheck,
    RemoveFromPackage,
    RepoPackages,
    TreeTest,
    VarValue,
)
from fedostree.model.yaml_core import RawFloat, RawInt

U32 = 2**32
U64 = 2**64


def fail(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what}")


def kind(value: Any) -> str:
    if value is None:
        return "null"
    return {RawInt: "int", RawFloat: "float"}.get(type(value), type(value).__name__)


# --- scalars ----------------------------------------------------------------------------


def string_value(value: Any, where: str) -> str:
    if isinstance(value, RawInt | RawFloat):
        return value.text
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise fail(where, f"expected a string, got {kind(value)}")
    return str(value)


def bool_value(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(where, f"expected true or false, got {kind(value)}")
    return value


def unsigned(value: Any, where: str, limit: int = U64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise fail(where, f"expected a number from 0 to {limit - 1}, got {value!r}")
    return int(value)


def choice(*allowed: str) -> Callable[[Any, str], str]:
    def parse(value: Any, where: str) -> str:
        text = string_value(value, where)
        if text not in allowed:
            raise fail(where, f"'{text}': expected one of {', '.join(allowed)}")
        return text

    return parse


def version_suffix(value: Any, where: str) -> str:
    text = string_value(value, where)
    if len(text) != 1 or not text.isascii():
        raise fail(where, f"'{text}': must be exactly one ASCII character")
    return text


def releasever_value(value: Any, where: str) -> VarValue:
    """A string or a non-negative integer (rpm-ostree's ReleaseVer): conditions compare
    it as what it is, `${releasever}` is its text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < U64:
        return int(value)
    raise fail(where, f"expected a string or a number, got {kind(value)}")


def variables_map(value: Any, where: str) -> dict[str, VarValue]:
    """`variables`: booleans, non-negative integers and strings, as rpm-ostree allows."""
    out: dict[str, VarValue] = {}
    for name, v in any_map(value, where).items():
        if isinstance(v, bool | str):
            out[name] = v
        elif isinstance(v, int) and 0 <= v < U64:
            out[name] = int(v)
        else:
            raise fail(f"{where}.{name}", f"expected a boolean, a number or a string, got {v!r}")
    return out


# --- lists and maps ---------------------------------------------------------------------


def string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise fail(where, f"expected a list of strings, got {kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise fail(f"{where}[{i}]", f"expected a string, got {kind(item)}")
    return tuple(value)


def include_list(value: Any, where: str) -> tuple[str, ...]:
    """`include`: one file or a list of files."""
    if isinstance(value, str):
        return (value,)
    return string_list(value, where)


def package_list(value: Any, where: str) -> tuple[str, ...]:
    """rpm-ostree lets one string name several packages separated by whitespace, unless a
    part is in single quotes: `"'podman >= 4.1'"` is one spec."""
    return tuple(
        name
        for i, item in enumerate(string_list(value, where))
        for name in split_package_specs(item, f"{where}[{i}]")
    )


def exclude_list(value: Any, where: str) -> tuple[str, ...]:
    """`exclude-packages`: package names, matched exactly (rpm-ostree does not split
    them at whitespace: a name with a space would exclude nothing)."""
    names = string_list(value, where)
    for i, name in enumerate(names):
        if not name or len(name.split()) != 1 or name != name.strip():
            raise fail(f"{where}[{i}]", f"'{name}': one package name per entry")
    return names


def split_package_specs(text: str, where: str) -> list[str]:
    """rpm-ostree's split_whitespace_unless_quoted."""
    parts = text.split("'")
    if len(parts) % 2 == 0:
        raise fail(where, f"missing terminating quote: {text}")
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 and not part:
            raise fail(where, f"'': an empty package spec in {text}")
        out += [part] if i % 2 else part.split()
    return out


def string_map(value: Any, where: str) -> dict[str, str]:
    return {k: string_value(v, f"{where}.{k}") for k, v in any_map(value, where).items()}


def any_map(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping, got {kind(value)}")
    return {str(k): v for k, v in value.items()}


# --- structured values ------------------------------------------------------------------

_ADD_FILES_PREFIXES = ("usr/", "etc/", "bin/", "sbin/", "lib/", "lib64/")


def add_files(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """`add-files`: [[source, /dest]]; rpm-ostree accepts a destination in /usr (not
    /usr/local), /etc, /bin, /sbin, /lib or /lib64 only."""
    if not isinstance(value, list):
        raise fail(where, f"expected a list of [source, dest] pairs, got {kind(value)}")
    pairs = []
    for i, item in enumerate(value):
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)
        ):
            raise fail(f"{where}[{i}]", "expected a [source, dest] pair of strings")
        dest = item[1].lstrip("/")
        if not dest.startswith(_ADD_FILES_PREFIXES) or dest.startswith("usr/local/"):
            raise fail(f"{where}[{i}]", f"unsupported destination {item[1]} (rpm-ostree's rule)")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def repo_packages(value: Any, where: str) -> tuple[RepoPackages, ...]:
    """`repo-packages`: [{repo: ID, packages: [...]}]; each entry's packages a set."""
    if not isinstance(value, list):
        raise fail(where, f"expected a list of {{repo, packages}}, got {kind(value)}")
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
        packages = package_list(item["packages"], f"{at}.packages")
        out.append(
            RepoPackages(string_value(item["repo"], f"{at}.repo"), tuple(sorted(set(packages))))
        )
    return tuple(out)


def remove_from_packages(value: Any, where: str) -> tuple[RemoveFromPackage, ...]:
    """`remove-from-packages`: [[PACKAGE, REGEX, ...], ...]."""
    if not isinstance(value, list):
        raise fail(where, f"expected a list of [package, regex...] lists, got {kind(value)}")
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
_CHECK_KEYS = {"none": {"type"}, "previous": {"type"}, "file": {"filename"}, "data": {"entries"}}


def passwd_check(value: Any, where: str) -> PasswdCheck:
    """`check-passwd`: {type: none|previous|file|data, filename | entries}; an entry is a
    uid, [uid] or [uid, gid]. A file's name stays as written; the loader resolves it
    beside the treefile that names it."""
    return _check(value, where, _passwd_ids)


def groups_check(value: Any, where: str) -> PasswdCheck:
    """`check-groups`: as `check-passwd`, an entry is a gid."""
    return _check(value, where, lambda v, at: (unsigned(v, at, U32),))


def _check(value: Any, where: str, ids: Callable[[Any, str], tuple[int, ...]]) -> PasswdCheck:
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping with 'type', got {kind(value)}")
    check = choice(*_CHECK_KINDS)(value.get("type"), f"{where}.type")
    for key in _CHECK_KEYS[check] - {"type"}:
        if key not in value:
            raise fail(where, f"{key}: missing for type {check}")
    unknown = set(value) - _CHECK_KEYS[check] - {"type"}
    if unknown:
        raise fail(where, f"unknown key '{sorted(unknown)[0]}' for type {check}")
    if check == "file":
        name = string_value(value["filename"], f"{where}.filename")
        return PasswdCheck("file", filename=Path(name), written=name)
    if check == "data":
        entries = any_map(value["entries"], f"{where}.entries")
        return PasswdCheck(
            "data", entries={k: ids(v, f"{where}.entries.{k}") for k, v in entries.items()}
        )
    return PasswdCheck(check)  # type: ignore[arg-type]


def _passwd_ids(value: Any, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= 2:
        raise fail(where, "expected an id or a [uid, gid] pair of numbers")
    return tuple(unsigned(v, where, U32) for v in items)


def rojig(value: Any, where: str) -> dict[str, str | None]:
    """`rojig`: {name, summary, license, description?} (accepted, no effect)."""
    raw = any_map(value, where)
    out: dict[str, str | None] = {}
    for key in ("name", "summary", "license"):
        if key not in raw:
            raise fail(where, f"{key}: missing")
        out[key] = string_value(raw[key], f"{where}.{key}")
    description = raw.get("description")
    out["description"] = None if description is None else string_value(description, where)
    return out


# --- tests of a composed tree (a fedostree key) --------------------------------------------

TEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TEST_KEYS = ("name", "command", "timeout")


def tree_tests(value: Any, where: str) -> tuple[TreeTest, ...]:
    """`tests`: [{name, command: string | [argv...], timeout: seconds (default 60)}]."""
    if not isinstance(value, list):
        raise fail(where, f"expected a list of tests, got {kind(value)}")
    tests = tuple(_tree_test(item, f"{where}[{i}]") for i, item in enumerate(value))
    if (i := first_duplicate_test(tests)) is not None:
        raise fail(f"{where}[{i}].name", f"'{tests[i].name}' is already the name of a test")
    return tests


def _tree_test(item: Any, where: str) -> TreeTest:
    if not isinstance(item, dict):
        raise fail(where, f"expected a mapping with name and command, got {kind(item)}")
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
        raise fail(where, f"expected a string or a list of strings, got {kind(value)}")
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
