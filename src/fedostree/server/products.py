"""The products matrix: the original fedostree `products.json`, one typed model, and
its expansion into one treefile per (release, architecture, product, tree).

As the original autobuilder did (coreos/rpm-ostree a3a65fd7, `_generateTreefile`), each
tree's treefile is the matrix's own keys plus the tree's: `packages` (with the older
spelling `base_required_packages`) and the bootstrap packages (`bootstrap_packages`, the
older `bootstrap_base`) are installed in every tree, a tree's `units` are its own, named
`postprocess` steps run in every tree then the tree's. Any other treefile key is passed
to every tree's treefile and checked as in a treefile (a key fedostree refuses is an
error). The keys the original used for disk images and its web page have no effect."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.document import read_document
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_keys import LEGACY_ALIASES, is_known
from fedostree.model.treefile_load import load_treefile_data
from fedostree.model.treefile_values import package_list, string_list, string_value

# The original autobuilder's named postprocess steps, as inline scripts.
NAMED_POSTPROCESS = {
    "remove-root-password": "#!/bin/sh\nset -e\n"
    "if [ -f /etc/shadow ]; then sed -i -e 's/^root:[^:]*:/root::/' /etc/shadow; fi\n",
}
# Keys the matrix reads itself.
MATRIX_KEYS = {
    "osname",
    "releases",
    "architectures",
    "repos",
    "add-repos",
    "products",
    "postprocess",
    "units",
    "bootstrap_base",
    "bootstrap_packages",
    "base_required_packages",
    "packages",
    "automatic-version-prefix",
}
# Keys with no effect on the trees: a comment, the published repository's URL, and the
# kernel arguments and formats of the original's disk images.
DESCRIPTIVE_KEYS = {"comment", "repo", "kargs", "image_formats"}
TREE_KEYS = {"packages", "units", "postprocess", "comment"}


@dataclass(frozen=True)
class TreeSpec:
    product: str
    name: str
    packages: tuple[str, ...]
    units: tuple[str, ...] = ()
    postprocess: tuple[str, ...] = ()  # named steps


@dataclass(frozen=True)
class Products:
    path: Path
    osname: str
    releases: tuple[str, ...]
    architectures: tuple[str, ...]
    repos: tuple[str, ...] | None
    add_repos: tuple[str, ...]
    base_required_packages: tuple[str, ...]
    postprocess: tuple[str, ...]
    trees: tuple[TreeSpec, ...]
    version_prefix: str | None = None
    bootstrap_packages: tuple[str, ...] = ()
    treefile_keys: Mapping[str, Any] = field(default_factory=dict)  # passed to every tree
    warnings: tuple[str, ...] = ()

    def ref(self, release: str, arch: str, tree: TreeSpec) -> str:
        return f"{self.osname}/{release}/{arch}/{tree.product}/{tree.name}"

    def repos_for(self, release: str) -> tuple[str, ...]:
        """Explicit `repos`, or the original default: fedora-REL (+ -updates) plus add-repos."""
        if self.repos is not None:
            return self.repos + self.add_repos
        updates = () if release == "rawhide" else (f"fedora-{release}-updates",)
        return (f"fedora-{release}", *updates, *self.add_repos)


def load_products(path: Path) -> Products:
    path = Path(path).absolute()
    raw = _read_json(path)
    where = str(path)
    postprocess = _named_steps(raw.get("postprocess", []), f"{where}: postprocess")
    return Products(
        path=path,
        osname=_required_str(raw, "osname", where),
        releases=_opt_list(raw, "releases", where) or ("rawhide",),
        architectures=_opt_list(raw, "architectures", where) or ("x86_64",),
        repos=_opt_list(raw, "repos", where) if "repos" in raw else None,
        add_repos=_opt_list(raw, "add-repos", where),
        base_required_packages=_packages(raw, ("base_required_packages", "packages"), where),
        bootstrap_packages=_packages(raw, ("bootstrap_base", "bootstrap_packages"), where),
        postprocess=postprocess,
        trees=tuple(_parse_trees(raw.get("products"), where)),
        version_prefix=_opt_str(raw, "automatic-version-prefix", where),
        treefile_keys=_treefile_keys(raw),
        warnings=tuple(_warnings(raw, where)),
    )


def expand_treefiles(products: Products, only: str | None = None) -> list[Treefile]:
    """One treefile per release x architecture x tree; `only` is `product/tree` or a ref."""
    out = [
        _treefile_for(products, release, arch, tree)
        for release in products.releases
        for arch in products.architectures
        for tree in products.trees
    ]
    if only is not None:
        out = [tf for tf in out if only in (tf.ref, _product_tree(tf.ref))]
        if not out:
            raise ConfigError(f"{products.path}: --only {only}: no such product/tree")
    return out


def _treefile_for(products: Products, release: str, arch: str, tree: TreeSpec) -> Treefile:
    steps = products.postprocess + tree.postprocess
    raw = {
        **products.treefile_keys,
        "ref": products.ref(release, arch, tree),
        "releasever": release,
        "repos": list(products.repos_for(release)),
        "packages": [*products.base_required_packages, *tree.packages],
        "bootstrap_packages": list(products.bootstrap_packages),
        "automatic-version-prefix": products.version_prefix or release,
        "postprocess": [NAMED_POSTPROCESS[n] for n in steps],
        "units": list(tree.units),
    }
    return load_treefile_data(raw, products.path, basearch=arch)


def _product_tree(ref: str) -> str:
    return "/".join(ref.split("/")[3:])


def _parse_trees(value: Any, where: str) -> Iterator[TreeSpec]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: products: expected a mapping of products to trees")
    for product, trees in value.items():
        if not isinstance(trees, dict):
            raise ConfigError(f"{where}: products.{product}: expected a mapping of trees")
        for name, spec in trees.items():
            at = f"{where}: products.{product}.{name}"
            if not isinstance(spec, dict) or "packages" not in spec:
                raise ConfigError(f"{at}: expected a mapping with 'packages'")
            unknown = sorted(set(spec) - TREE_KEYS)
            if unknown:
                raise ConfigError(
                    f"{at}: {unknown[0]}: not a key of a tree (expected {', '.join(sorted(TREE_KEYS))})"
                )
            yield TreeSpec(
                product=product,
                name=name,
                packages=package_list(spec["packages"], f"{at}.packages"),
                units=string_list(spec.get("units", []), f"{at}.units"),
                postprocess=_named_steps(spec.get("postprocess", []), f"{at}.postprocess"),
            )


def _named_steps(value: Any, where: str) -> tuple[str, ...]:
    steps = string_list(value, where)
    for name in steps:
        if name not in NAMED_POSTPROCESS:
            raise ConfigError(
                f"{where}: unknown step '{name}' (known: {', '.join(sorted(NAMED_POSTPROCESS))})"
            )
    return steps


def _packages(raw: dict[str, Any], keys: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Packages under either of two spellings (both, if both are given)."""
    return tuple(p for k in keys if k in raw for p in package_list(raw[k], f"{where}: {k}"))


def _treefile_keys(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in raw.items()
        if k not in MATRIX_KEYS | DESCRIPTIVE_KEYS and (k in LEGACY_ALIASES or is_known(k))
    }


def _warnings(raw: dict[str, Any], where: str) -> Iterator[str]:
    for key in raw:
        if key not in MATRIX_KEYS | DESCRIPTIVE_KEYS and not (
            key in LEGACY_ALIASES or is_known(key)
        ):
            yield f"{where}: unknown key '{key}' ignored"
    if "units" in raw:
        yield f"{where}: units: ignored at the top level: each tree's units are its own"


def _read_json(path: Path) -> dict[str, Any]:
    data = read_document(path, "JSON")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def _required_str(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key}: missing or not a string")
    return value


def _opt_str(raw: dict[str, Any], key: str, where: str) -> str | None:
    return None if raw.get(key) is None else string_value(raw[key], f"{where}: {key}")


def _opt_list(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    return string_list(raw.get(key, []), f"{where}: {key}")
