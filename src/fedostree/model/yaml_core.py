"""YAML as rpm-ostree reads it (serde_yaml 0.9: the YAML 1.2 core schema).

PyYAML implements YAML 1.1, where `yes`, `no`, `on` and `off` are booleans, `2019-01-01`
is a date and `1:20` is 80. rpm-ostree reads them as strings. Here only `true`/`false`
(in the case forms the core schema allows) are booleans, `~`/`null`/empty is null, and
decimal, `0x`, `0o` and `0b` integers and decimal floats are numbers. A number keeps the
text it was written as (`RawInt.text`), so that a number given where a string is
expected reads as written (`1.10` is "1.10", not "1.1"). A key given twice in one
mapping is an error, as in rpm-ostree."""

from __future__ import annotations

import re
from typing import Any

import yaml


class RawInt(int):
    """An integer read from YAML, with the text it was written as."""

    text: str

    def __new__(cls, value: int, text: str) -> RawInt:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class RawFloat(float):
    """A float read from YAML, with the text it was written as."""

    text: str

    def __new__(cls, value: float, text: str) -> RawFloat:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class DuplicateKeyError(yaml.YAMLError):
    pass


_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|[-+]?0x[0-9a-fA-F]+|[-+]?0o[0-7]+|[-+]?0b[01]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BASES = {"0x": 16, "0o": 8, "0b": 2}


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types and no duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise DuplicateKeyError(
                    f"duplicate key '{key}' (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: CoreLoader, node: yaml.ScalarNode) -> RawInt:
    text = loader.construct_scalar(node)
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    base = _BASES.get(digits[:2], 10)
    return RawInt(sign * int(digits[2:] if base != 10 else digits, base), text)


def _construct_float(loader: CoreLoader, node: yaml.ScalarNode) -> RawFloat:
    text = loader.construct_scalar(node)
    value = text.lower().replace(".inf", "inf").replace(".nan", "nan")
    return RawFloat(float(value), text)


CoreLoader.yaml_implicit_resolvers = {}  # only the core schema's, below
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
):
    CoreLoader.add_implicit_resolver(_tag, _pattern, list(_first))
CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=CoreLoader)  # a SafeLoader subclass


def as_written(value: Any) -> Any:
    """A YAML number's text as written (rpm-ostree reads a plain scalar as a string
    wherever a string is expected); any other value unchanged."""
    return value.text if isinstance(value, RawInt | RawFloat) else value
