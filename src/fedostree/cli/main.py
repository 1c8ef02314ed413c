"""The `fedostree` command: the one place where errors become messages and exit codes."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, ClassVar

import click

from fedostree.errors import FedostreeError, NothingToDo, ResolveError

log = logging.getLogger("fedostree")


class FedostreeGroup(click.Group):
    """The command group; the build server's commands are imported only when one of them
    runs, so that a client verb does not pay for loading the compose pipeline."""

    lazy: ClassVar[dict[str, str]] = {
        "compose": "fedostree.cli.compose:compose",
        "autobuild": "fedostree.cli.autobuild:autobuild",
        "sample-repo": "fedostree.cli.sample:sample_repo",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NothingToDo as e:
            click.echo(str(e))
            ctx.exit(e.exit_code)
        except FedostreeError as e:
            _report(e, debug=ctx.obj.get("debug", False) if ctx.obj else False)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # click reports these; a closed stdout (`| head`) exits quietly
        except Exception as e:  # a bug, or an error a library raised that we did not wrap
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"error: {type(e).__name__}: {e} (run with --debug for a traceback)", err=True
            )
            ctx.exit(1)


def _report(e: FedostreeError, *, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exception(e, file=sys.stderr)
    click.echo(f"error: {e}", err=True)
    if isinstance(e, ResolveError):
        for problem in e.problems:
            click.echo(f"  problem: {problem}", err=True)


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


@click.group(cls=FedostreeGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug messages.")
@click.version_option(package_name="fedostree")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Compose RPM package sets into OSTree trees, and replicate them atomically."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _setup_logging(debug)


def _register() -> None:
    from fedostree.cli import client

    for command in client.COMMANDS:
        cli.add_command(command)


_register()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except FedostreeError as e:  # raised outside a command invocation
        _report(e, debug="--debug" in sys.argv)
        sys.exit(e.exit_code)
