"""`fedostree sample-repo`: the bundled sample package universe."""

from __future__ import annotations

from pathlib import Path

import click


def _overrides(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, version = value.partition("=")
        if not sep or not name or not version:
            raise click.BadParameter(f"'{value}': expected NAME=VERSION", param_hint="--version")
        out[name] = version
    return out


@click.command("sample-repo")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--version", "versions", multiple=True, metavar="NAME=VERSION",
              help="Publish this version of a package instead of the default.")  # fmt: skip
def sample_repo(dest: Path, versions: tuple[str, ...]) -> None:
    """Build the sample rpm-md repository (with comps) into DEST."""
    from fedostree.sample.universe import build_sample_repo

    build_sample_repo(dest, version_overrides=_overrides(versions))
    click.echo(f"sample repository written to {dest}")
