"""The products matrix: the original fedostree `products.json`, one typed model, and
its expansion into one treefile per (release, architecture, product, tree)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.document import read_document
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_keys import package_list, string_list, string_value

# The original autobuilder's named postprocess steps, as inline scripts.
NAMED_POSTPROCESS = {
    "remove-root-password": "#!/bin/sh\nset -e\n"
    "if [ -f /etc/shadow ]; then sed -i -e 's/^root:[^:]*:/root::/' /etc/shadow; fi\n",
}
KNOWN_KEYS = {
    "comment",
    "osname",
    "repo",
    "gpg_key",
    "architectures",
    "releases",
    "repos",
    "add-repos",
    "selinux",
    "kargs",
    "bootstrap_base",
    "bootstrap_packages",
    "base_required_packages",
    "packages",
    "postprocess",
    "products",
    "image_formats",
    "automatic-version-prefix",
}


@dataclass(frozen=True)
class TreeSpec:
    product: str
    name: str
    packages: tuple[str, ...]
    units: tuple[str, ...] = ()


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
    warnings = tuple(f"{where}: unknown key '{k}' ignored" for k in raw if k not in KNOWN_KEYS)
    for name in _opt_list(raw, "postprocess", where):
        if name not in NAMED_POSTPROCESS:
            raise ConfigError(
                f"{where}: postprocess: unknown step '{name}' "
                f"(known: {', '.join(sorted(NAMED_POSTPROCESS))})"
            )
    return Products(
        path=path,
        osname=_required_str(raw, "osname", where),
        releases=_opt_list(raw, "releases", where) or ("rawhide",),
        architectures=_opt_list(raw, "architectures", where) or ("x86_64",),
        repos=_opt_list(raw, "repos", where) if "repos" in raw else None,
        add_repos=_opt_list(raw, "add-repos", where),
        base_required_packages=package_list(
            raw.get("base_required_packages", raw.get("packages", [])),
            f"{where}: base_required_packages",
        ),
        postprocess=_opt_list(raw, "postprocess", where),
        trees=tuple(_parse_trees(raw.get("products"), where)),
        version_prefix=_opt_str(raw, "automatic-version-prefix", where),
        warnings=warnings,
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
    return Treefile(
        path=products.path,
        ref=products.ref(release, arch, tree),
        repos=products.repos_for(release),
        packages=products.base_required_packages + tree.packages,
        releasever=release,
        automatic_version_prefix=products.version_prefix or release,
        postprocess=tuple(NAMED_POSTPROCESS[n] for n in products.postprocess),
        units=tree.units,
        repo_dirs=(products.path.parent,),
    )


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
            yield TreeSpec(
                product=product,
                name=name,
                packages=package_list(spec["packages"], f"{at}.packages"),
                units=string_list(spec.get("units", []), f"{at}.units"),
            )


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
