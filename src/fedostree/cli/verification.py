"""How a verification (a published commit against its rebuild, engine/rebuild.py) is
reported, by `compose verify` and by a client's `rebase --local --verify`."""

from __future__ import annotations

import json
from typing import Any

import click

from fedostree.engine.rebuild import Verification
from fedostree.errors import FedostreeError


def report_verification(result: Verification, rev: str, *, as_json: bool = False) -> None:
    """Print the verdict (and each differing path); raise when the trees differ."""
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(verification_json(result), indent=2))
    elif result.verified:
        click.echo(f"{rev}: verified, tree {result.tree[0]}")
    else:
        click.echo(
            f"{rev}: differs from its rebuild: tree {result.tree[0]} published, "
            f"{result.rebuilt_tree[0]} rebuilt ({result.rebuilt[:12]})"
        )
        for d in result.differences:
            click.echo(f"  {d.path}: {describe_difference(d.aspect, d.detail)}; {d.why}")
    if not result.verified:
        count = len({d.path for d in result.differences})
        raise FedostreeError(
            f"{rev} ({result.commit[:12]}): {count} "
            f"{'path differs' if count == 1 else 'paths differ'} from its rebuild"
        )


def describe_difference(aspect: str, detail: str) -> str:
    if aspect == "only in a":
        return f"only in the published commit ({detail})"
    if aspect == "only in b":
        return f"only in the rebuild ({detail})"
    return f"{aspect} differs ({detail}, published vs rebuilt)"


def verification_json(r: Verification) -> dict[str, Any]:
    return {
        "ref": r.ref,
        "commit": r.commit,
        "rebuilt": r.rebuilt,
        "verified": r.verified,
        "tree": {"dirtree": r.tree[0], "dirmeta": r.tree[1]},
        "rebuilt-tree": {"dirtree": r.rebuilt_tree[0], "dirmeta": r.rebuilt_tree[1]},
        "differences": [
            {"path": d.path, "aspect": d.aspect, "detail": d.detail, "owner": d.owner}
            for d in r.differences
        ],
        "warnings": list(r.warnings),
    }
