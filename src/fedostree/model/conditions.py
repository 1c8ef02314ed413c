"""`conditional-include` conditions, as rpm-ostree parses and evaluates them
(rust/src/treefile.rs `IncludeCondition`): `VAR OP VALUE`, OP one of == != < <= > >=,
VALUE `true`, `false`, a number or a "string"; the variable must be defined and of the
value's type, and < <= > >= compare numbers only."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.treefile import VarValue

# rpm-ostree's regular expression: the operator is whatever non-space text lies between
# the name and a value, so `releasever<41` is the operator `<4` (an error), as there.
_CONDITION = re.compile(
    r"^\s*(?P<var>[A-Za-z0-9_]+)\s*(?P<op>\S+)\s*"
    r'(?:(?P<true>true)|(?P<false>false)|(?P<number>[0-9]+)|"(?P<string>.*)")\s*\Z'
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_U64 = 2**64


def parse_condition(text: Any, where: str) -> tuple[str, str, VarValue]:
    if not isinstance(text, str) or not (m := _CONDITION.match(text)):
        raise ConfigError(f"{where}: invalid condition: {text!r} (expected VAR OP VALUE)")
    op = m.group("op")
    if op not in _OPS:
        raise ConfigError(f"{where}: '{text}': expected one of {', '.join(_OPS)} but got {op}")
    value: VarValue
    if m.group("true"):
        value = True
    elif m.group("false"):
        value = False
    elif m.group("number") is not None:
        value = int(m.group("number"))
        if value >= _U64:
            raise ConfigError(f"{where}: '{text}': {value} is too large")
    else:
        value = m.group("string")
    return m.group("var"), op, value


def evaluate_condition(text: Any, variables: Mapping[str, VarValue], where: str) -> bool:
    name, op, value = parse_condition(text, where)
    if name not in variables:
        raise ConfigError(f"{where}: '{text}': undefined variable '{name}'")
    current = variables[name]
    if _kind(current) != _kind(value):
        raise ConfigError(
            f"{where}: '{text}': {name} is a {_kind(current)} ({_show(current)}), "
            f"not a {_kind(value)}"
        )
    if op not in ("==", "!=") and _kind(value) != "number":
        raise ConfigError(f"{where}: '{text}': {op} compares numbers only")
    return _OPS[op](current, value)


def evaluate_conditions(conditions: Any, variables: Mapping[str, VarValue], where: str) -> bool:
    """An `if`: one condition or a list, all of which must hold. Every one is evaluated,
    so that a bad one is reported even after a false one (as rpm-ostree does)."""
    if not isinstance(conditions, list):
        return evaluate_condition(conditions, variables, where)
    results = [evaluate_condition(c, variables, f"{where}[{i}]") for i, c in enumerate(conditions)]
    return all(results)


def _kind(value: VarValue) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int) else "string"


def _show(value: VarValue) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)
