"""`conditional-include` conditions, as rpm-ostree parses and evaluates them:
`VAR OP VALUE`, OP one of == != < <= > >=, VALUE true, false, a number or a "string";
the variable must be defined and of the value's type, and < <= > >= compare numbers."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.treefile import VarValue

_CONDITION = re.compile(
    r"^\s*(?P<var>[A-Za-z0-9_]+)\s*(?P<op>\S+)\s*"
    r'(?:(?P<true>true)|(?P<false>false)|(?P<number>[0-9]+)|"(?P<string>.*)")\s*$'
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def parse_condition(text: Any, where: str) -> tuple[str, str, VarValue]:
    if not isinstance(text, str) or not (m := _CONDITION.match(text)):
        raise ConfigError(f"{where}: invalid condition: {text!r} (expected VAR OP VALUE)")
    op = m.group("op")
    if op not in _OPS:
        raise ConfigError(f"{where}: '{text}': expected one of ==, !=, <, <=, >, >= but got {op}")
    value: VarValue
    if m.group("true"):
        value = True
    elif m.group("false"):
        value = False
    elif m.group("number") is not None:
        value = int(m.group("number"))
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
            f"{where}: '{text}': {name} is a {_kind(current)} ({current!r}), not a {_kind(value)}"
        )
    if op not in ("==", "!=") and _kind(value) != "number":
        raise ConfigError(f"{where}: '{text}': {op} compares numbers only")
    return _OPS[op](current, value)


def _kind(value: VarValue) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int) else "string"
