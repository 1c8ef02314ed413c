"""Scriptlet planning: order, coalescing of `-p PROGRAM` runs."""

from __future__ import annotations

from fedostree.core.assemble import coalesce
from fedostree.core.rpmfile import Scriptlet

LDCONFIG = ("/sbin/ldconfig",)


def test_coalesce_keeps_only_the_last_run_of_a_bodiless_program() -> None:
    phase = [
        Scriptlet("liba", "post", LDCONFIG, ""),
        Scriptlet("app", "post", ("/bin/sh",), "echo app"),
        Scriptlet("libb", "post", LDCONFIG, ""),
        Scriptlet("tool", "post", ("/usr/bin/tool",), ""),
    ]
    kept = coalesce(phase)
    assert [s.package for s in kept] == ["app", "libb", "tool"]


def test_coalesce_never_drops_scripts_with_a_body() -> None:
    phase = [Scriptlet(f"p{i}", "post", ("/bin/sh",), "echo same") for i in range(3)]
    assert coalesce(phase) == phase
