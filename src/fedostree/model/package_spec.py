"""The syntax of a package spec, as the treefile's `packages` and `repo-packages` name
them: dnf's forms (`name`, `name.arch`, `name-[epoch:]version[-release][.arch]`, globs,
provides, paths), rpm-ostree's quoted `'name >= version'`, and fedostree's `@group`.
Matching a spec against repositories is engine/selection.py's; this only refuses what no
repository could match, so a bad treefile fails before anything is fetched."""

from __future__ import annotations

import re
from collections.abc import Iterable

from fedostree.errors import ConfigError

OPERATORS = ("<", "<=", "=", "==", ">=", ">")
_RELATION = re.compile(r"(?P<name>[^\s<>=!]+)\s*(?P<op>[<>=!]+)\s*(?P<evr>[^\s<>=!]+)")
_OPERATOR_CHARS = re.compile(r"[<>=!]")
_NAME = re.compile(r"[^\s/@<>=!*?\[\]]+")
FORMS = "NAME, NAME.ARCH, NAME-[EPOCH:]VERSION[-RELEASE][.ARCH], /PATH, @GROUP or 'NAME OP VERSION'"


def spec_problem(spec: str) -> str | None:
    """Why spec cannot be a package spec, or None when it can."""
    if spec.startswith("@"):
        return None if re.fullmatch(r"@[^\s@]+", spec) else "expected @GROUP-ID"
    if _OPERATOR_CHARS.search(spec):
        return _relation_problem(spec)
    if not spec or any(c.isspace() for c in spec):
        return f"expected one of {FORMS}"
    return None


def _relation_problem(spec: str) -> str | None:
    match = _RELATION.fullmatch(spec.strip())
    if match is None:
        return f"expected NAME OP VERSION, OP one of {', '.join(OPERATORS)}"
    if match["op"] not in OPERATORS:
        return f"unknown operator '{match['op']}' (expected one of {', '.join(OPERATORS)})"
    return None


def check_package_specs(specs: Iterable[str], where: str) -> None:
    """Refuse the first spec that is not one (a ConfigError naming where and the spec)."""
    for spec in specs:
        problem = spec_problem(spec)
        if problem is not None:
            raise ConfigError(f"{where}: '{spec}': {problem}")


def check_package_names(names: Iterable[str], where: str) -> None:
    """`exclude-packages` takes names, as rpm-ostree matches them: exactly."""
    for name in names:
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{where}: '{name}': expected a package name")


def is_path(spec: str) -> bool:
    return spec.startswith("/")


def is_group(spec: str) -> bool:
    return spec.startswith("@")
