"""The bundled sample universe behind the benchmark universe's interface
(`build_universe`, `TREES`): small and quick, for the harness's own tests."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from fedostree.sample.universe import build_sample_repo, is_current

RELEASEVER = "20"
TINY_TREE = ["filesystem", "setup", "fedora-release"]
UPDATE_PACKAGE = "bash"
UPDATE_CONTENT = "append"  # its /bin/sh is busybox, run by scriptlets: keep files working


def _load_trees() -> dict[str, list[str]]:
    text = importlib.resources.files("fedostree.sample").joinpath("products.json").read_text()
    products = json.loads(text)
    base = products["base_required_packages"]
    return {
        f"{product}/{tree}": [*base, *spec["packages"]]
        for product, trees in products["products"].items()
        for tree, spec in trees.items()
    }


TREES: dict[str, list[str]] = _load_trees()


def build_universe(cache_root: Path, *, scale: float, source: Path | None = None) -> Path:
    """The sample rpm-md repository, built once under cache_root (and again when its
    generator changed; scale does not apply)."""
    dest = Path(cache_root) / "sample-universe"
    if not is_current(dest):
        build_sample_repo(dest)
    return dest
