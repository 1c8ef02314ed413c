"""`fedostree autobuild`: poll the products' repositories, compose what changed."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from fedostree.cli.compose import DEFAULT_CACHEDIR, boot_check_options, boot_options
from fedostree.errors import ConfigError
from fedostree.server.autobuild import (
    AutobuildOptions,
    RunReport,
    TreeResult,
    load_plan,
    run_every,
    run_once,
)
from fedostree.server.autobuild_record import autobuild_lock, runs_dir
from fedostree.server.pipeline import ComposeOptions

_path = click.Path(path_type=Path)
EXIT_SIGTERM = 143  # 128 + SIGTERM: a --once run stopped in the middle


class Stopped(BaseException):
    """SIGTERM: raised wherever the autobuilder is, like KeyboardInterrupt for Ctrl-C."""


@click.command()
@click.argument("products_file", metavar="PRODUCTS", type=_path)
@click.option(
    "--repo", type=_path, required=True, help="OSTree repository (archive mode; created if absent)."
)
@click.option(
    "--cachedir",
    type=_path,
    default=DEFAULT_CACHEDIR,
    show_default=True,
    help="Metadata, download and package cache.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Poll every SECONDS, until SIGTERM or Ctrl-C.",
)
@click.option(
    "--once",
    is_flag=True,
    help="One run; exit 0 (composed or up to date), 77 (nothing changed), 1 (a failure).",
)
@click.option("--gpg-sign", metavar="KEYID", help="Sign published commits and the summary.")
@click.option("--gpg-homedir", type=_path, help="GnuPG home directory holding KEYID.")
@click.option(
    "--keep-versions",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Published commits kept per ref.",
)
@boot_check_options
@click.option("--json", "as_json", is_flag=True, help="Print each run's summary as JSON.")
@click.pass_context
def autobuild(
    ctx: click.Context,
    products_file: Path,
    repo: Path,
    cachedir: Path,
    interval: float | None,
    once: bool,
    gpg_sign: str | None,
    gpg_homedir: Path | None,
    keep_versions: int,
    no_boot_check: bool,
    boot_timeout: float,
    as_json: bool,
) -> None:
    """Compose the trees of PRODUCTS into REPO whenever their repositories change.

    Each run fetches only repomd.xml of every repository the trees use, and composes
    when a checksum (or PRODUCTS) changed since the last successful run. Logs and state
    are kept in REPO/extensions/fedostree/autobuild/.
    """
    check_mode(interval, once)
    if gpg_homedir and not gpg_sign:
        raise ConfigError("--gpg-homedir applies only with --gpg-sign")
    plan = load_plan(products_file)  # a bad products file fails before any work (exit 2)
    for warning in plan.products.warnings:
        click.echo(f"warning: {warning}", err=True)
    compose = ComposeOptions(
        repo,
        cachedir.absolute(),
        gpg_sign=gpg_sign,
        gpg_homedir=gpg_homedir.absolute() if gpg_homedir else None,
        keep_versions=keep_versions,
        boot=boot_options(no_boot_check, boot_timeout),
    )
    options = AutobuildOptions(products_file.absolute(), compose)
    with autobuild_lock(repo), stop_on_sigterm():
        if interval is None:
            ctx.exit(run_one(options, as_json))
        loop(options, interval, as_json)


def check_mode(interval: float | None, once: bool) -> None:
    if interval is not None and once:
        raise ConfigError("autobuild: --interval and --once are mutually exclusive")
    if interval is None and not once:
        raise ConfigError("autobuild: give --interval SECONDS (poll forever) or --once (one run)")


def run_one(options: AutobuildOptions, as_json: bool) -> int:
    """--once: the run's exit code (SIGTERM in the middle: 143; Ctrl-C: 130, as ever)."""
    try:
        report = run_once(options, None if as_json else echo_tree)
    except Stopped:
        click.echo("error: stopped by SIGTERM; the tree being composed was not published", err=True)
        return EXIT_SIGTERM
    echo_report(report, options.repo, as_json, verbose=False)
    return 1 if report.exit_code is None else report.exit_code


def loop(options: AutobuildOptions, interval: float, as_json: bool) -> None:
    """--interval: runs forever; SIGTERM or Ctrl-C stops it with exit 0."""
    click.echo(
        f"autobuild: polling every {interval:g} s; logs in {runs_dir(options.repo)}", err=True
    )
    try:
        run_every(
            options,
            interval,
            lambda report: echo_report(report, options.repo, as_json, verbose=True),
            None if as_json else echo_tree,
        )
    except (Stopped, KeyboardInterrupt):
        click.echo("autobuild: stopped", err=True)


def echo_tree(result: TreeResult) -> None:
    click.echo(result.describe())


def echo_report(report: RunReport, repo: Path, as_json: bool, *, verbose: bool) -> None:
    """Errors on stderr, one line each; with --json the summary latest.json holds."""
    if not as_json:
        for line in report.boot_tests:
            click.echo(line)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(repo), indent=None if verbose else 2))
    elif not report.changes and not report.errors:
        n = len(report.polls)
        polled = f"{n} repositor{'y' if n == 1 else 'ies'} polled"
        click.echo(f"no change since the last run ({polled}): nothing to compose")
    if verbose and not as_json:
        click.echo(f"run {report.run_id}: {report.outcome} (log: {report.log})")


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM raises Stopped (once); the previous handler is back on the way out."""

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
