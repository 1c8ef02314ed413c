"""`fedostree sample-repo`: the bundled sample package universe."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sample-repo")
@click.argument("dest", type=click.Path(path_type=Path))
def sample_repo(dest: Path) -> None:
    """Build the sample rpm-md repository (with comps) into DEST."""
    from fedostree.sample.universe import build_sample_repo

    build_sample_repo(dest)
    click.echo(f"sample repository written to {dest}")
