"""`fedostree compose tree` and `fedostree compose products`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from fedostree.compose.pipeline import ComposeOptions, ComposeResult, Session, compose_tree
from fedostree.compose.products import expand_treefiles, load_products
from fedostree.compose.treefile import Treefile, load_treefile
from fedostree.errors import ConfigError

DEFAULT_CACHEDIR = Path.home() / ".cache" / "fedostree"
_path = click.Path(path_type=Path)


def _common(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option(
        "--repo",
        type=_path,
        required=True,
        help="OSTree repository (archive mode; created if absent).",
    )(f)
    f = click.option(
        "--cachedir",
        type=_path,
        default=DEFAULT_CACHEDIR,
        show_default=True,
        help="Metadata, download and package cache.",
    )(f)
    f = click.option(
        "--force-nocache", is_flag=True, help="Compose even if the inputs are unchanged."
    )(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")(f)
    return f


@click.group()
def compose() -> None:
    """Compose package sets into OSTree commits (the build server)."""


@compose.command("tree")
@click.argument("treefile", type=_path)
@_common
@click.option("--lockfile", type=_path, help="Pin the resolution to this lockfile.")
@click.option(
    "--write-lockfile-to", type=_path, help="Write the resolved package set as a lockfile."
)
def compose_tree_cmd(
    treefile: Path,
    repo: Path,
    cachedir: Path,
    force_nocache: bool,
    as_json: bool,
    lockfile: Path | None,
    write_lockfile_to: Path | None,
) -> None:
    """Compose the tree TREEFILE describes into REPO."""
    tf = load_treefile(treefile)
    options = ComposeOptions(repo, cachedir.absolute(), lockfile, write_lockfile_to, force_nocache)
    _run([tf], options, as_json)


@compose.command("products")
@click.argument("products_file", metavar="PRODUCTS", type=_path)
@_common
@click.option("--only", metavar="PRODUCT/TREE", help="Compose only this tree (or this ref).")
def compose_products_cmd(
    products_file: Path,
    repo: Path,
    cachedir: Path,
    force_nocache: bool,
    as_json: bool,
    only: str | None,
) -> None:
    """Compose every tree of a products matrix into REPO."""
    products = load_products(products_file)
    for warning in products.warnings:
        click.echo(f"warning: {warning}", err=True)
    treefiles = expand_treefiles(products, only)
    _run(treefiles, ComposeOptions(repo, cachedir.absolute(), force=force_nocache), as_json)


def _run(treefiles: Sequence[Treefile], options: ComposeOptions, as_json: bool) -> None:
    if options.lockfile and len(treefiles) != 1:
        raise ConfigError("--lockfile applies to a single tree")
    session = Session(options)
    results = []
    for tf in treefiles:
        result = compose_tree(tf, session)
        results.append(result)
        if not as_json:
            click.echo(_describe(result))
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2))


def _describe(r: ComposeResult) -> str:
    version = f" {r.version}" if r.version else ""
    if not r.changed:
        return f"{r.ref}: unchanged{version} ({r.commit[:12]})"
    return f"{r.ref}: committed{version} ({r.commit[:12]}, {r.packages} packages)"
