"""The client verbs, named and behaving as rpm-ostree's: status, upgrade, rebase,
deploy, rollback, cleanup, pin, db, remote, admin init."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from fedostree.client import layering
from fedostree.client import operations as ops
from fedostree.client.layering import LayerOptions
from fedostree.client.local import source_of
from fedostree.client.remotes import add_remote, delete_remote, list_remotes
from fedostree.client.sysroot import DeploymentInfo, Sysroot, init_sysroot, split_refspec
from fedostree.engine import ostree as ot
from fedostree.engine.commit import PKGLIST_KEY
from fedostree.engine.pkglist import parse_pkglist
from fedostree.errors import FedostreeError

_path = click.Path(path_type=Path)
MAX_DIFF_LINES = 40


def sysroot_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--sysroot", type=_path, default=Path("/"), show_default=True,
                        help="The system root to operate on.")(f)  # fmt: skip


@click.group()
def admin() -> None:
    """Sysroot administration."""


@admin.command("init")
@sysroot_option
@click.option("--os", "osname", required=True, help="The stateroot (operating system) name.")
def admin_init(sysroot: Path, osname: str) -> None:
    """Create the sysroot layout and the stateroot OSNAME."""
    init_sysroot(sysroot, osname)
    click.echo(f"{sysroot}: initialized, stateroot '{osname}'")


@click.group()
def remote() -> None:
    """Remotes the sysroot pulls trees from."""


@remote.command("add")
@sysroot_option
@click.argument("name")
@click.argument("url")
@click.option("--no-gpg-verify", is_flag=True, help="Do not require signed commits.")
@click.option("--gpg-import", type=_path, help="Import this GPG key and require signatures.")
def remote_add(
    sysroot: Path, name: str, url: str, no_gpg_verify: bool, gpg_import: Path | None
) -> None:
    """Add remote NAME at URL (http://, https:// or file://)."""
    root = Sysroot(sysroot)
    with root.locked():
        add_remote(root.repo, name, url, gpg_verify=not no_gpg_verify, gpg_key=gpg_import)
    click.echo(f"remote '{name}' added: {url}")


@remote.command("delete")
@sysroot_option
@click.argument("name")
def remote_delete(sysroot: Path, name: str) -> None:
    """Delete remote NAME and the refs pulled from it; deployments stay."""
    root = Sysroot(sysroot)
    with root.locked():
        refs = delete_remote(root.repo, name)
        following = [(i, spec) for i, d in enumerate(root.deployments())
                     if (spec := root.refspec_of(d)) and split_refspec(spec)[0] == name]  # fmt: skip
    click.echo(f"remote '{name}' deleted" + (f", with its refs {', '.join(refs)}" if refs else ""))
    for index, refspec in following:
        click.echo(f"Deployment {index} follows {refspec}: add the remote again to upgrade it.")


@remote.command("list")
@sysroot_option
def remote_list(sysroot: Path) -> None:
    """List the remotes with their URLs."""
    for name, url in list_remotes(Sysroot(sysroot).repo):
        click.echo(f"{name}\t{url}")


@click.command()
@sysroot_option
@click.option("--json", "as_json", is_flag=True, help="Print the deployments as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show more for each deployment.")
def status(sysroot: Path, as_json: bool, verbose: bool) -> None:
    """List the deployments, newest (the default) first."""
    infos = Sysroot(sysroot).describe()
    if as_json:
        click.echo(json.dumps({"deployments": [i.to_json() for i in infos]}, indent=2))
        return
    click.echo("Deployments:")
    for info in infos:
        click.echo("\n".join(_status_lines(info, verbose)))


def _status_lines(info: DeploymentInfo, verbose: bool) -> list[str]:
    marks = [m for m in ("default", "pending", "rollback", "pinned") if getattr(info, m)]
    head = f"{'●' if info.booted else ' '} {info.refspec or '(no origin)'}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.timestamp))
    lines = [
        head + (f" ({', '.join(marks)})" if marks else ""),
        f"{'Version:':>14} {info.version or '-'} ({stamp})",
    ]
    if info.treefile:
        lines.append(f"{'Treefile:':>14} {info.treefile}")
        lines.append(f"{'InputHash:':>14} {info.inputhash or '-'}")
    if info.base_checksum:
        lines.append(f"{'BaseCommit:':>14} {info.base_checksum}")
    lines.append(f"{'Commit:':>14} {info.checksum}")
    lines.append(f"{'Packages:':>14} {len(info.packages)}")
    active = [r for r in info.requested if r not in info.inactive]
    for key, values in (("InactiveRequests:", info.inactive), ("LayeredPackages:", active),
                        ("LocalPackages:", info.requested_local)):  # fmt: skip
        if values:
            lines.append(f"{key:>14} {' '.join(sorted(values))}")
    if verbose:
        lines += [f"{'StateRoot:':>14} {info.osname}", f"{'Serial:':>14} {info.serial}"]
        if info.layered:
            lines.append(f"{'Layered:':>14} {' '.join(info.layered)}")
    return lines


def _report_change(change: ops.Change, verb: str) -> None:
    version = f" ({change.version})" if change.version else ""
    click.echo(f"{verb} {change.refspec}: {change.new[:12]}{version}")
    if change.old is None:
        click.echo(f"{len(change.diff.added)} packages")
        return
    lines = change.diff.lines()
    if len(lines) > MAX_DIFF_LINES:
        d = change.diff
        lines = [f"Upgraded: {len(d.upgraded)}, downgraded: {len(d.downgraded)}, removed: "
                 f"{len(d.removed)}, added: {len(d.added)} (see 'fedostree db diff' for the list)"]  # fmt: skip
    click.echo("\n".join(lines) if lines else "No package changes.")


@click.command()
@sysroot_option
@click.argument("target", metavar="[REMOTE:]REF | --local TREEFILE", required=False)
@click.option(
    "--local",
    is_flag=True,
    help="Build the tree here, from this system's repositories: the tree TREEFILE "
    "describes, or with --verify the published [REMOTE:]REF's.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="With --local: rebuild the published [REMOTE:]REF (default: the current one) from "
    "the inputs its commit records, compare the trees, and deploy it only if they agree.",
)
@click.option(
    "--lockfile",
    "lockfiles",
    type=_path,
    multiple=True,
    help="With --local: pin packages to this rpm-ostree lockfile; repeatable.",
)
@click.option("--lockfile-strict", is_flag=True,
              help="With --lockfile: only allow installing locked packages.")  # fmt: skip
def rebase(
    sysroot: Path,
    target: str | None,
    local: bool,
    verify: bool,
    lockfiles: tuple[Path, ...],
    lockfile_strict: bool,
) -> None:
    """Pull and deploy another tree (or, with --local, build it here); it boots next."""
    if verify and not local:
        raise click.UsageError("--verify needs --local")
    if target is None and not verify:
        raise click.UsageError("give [REMOTE:]REF, or --local TREEFILE")
    if (not local or verify) and (lockfiles or lockfile_strict):
        raise click.UsageError("--lockfile and --lockfile-strict need --local TREEFILE")
    source = None
    if local and not verify:
        assert target is not None
        source = source_of(Path(target), lockfiles, lockfile_strict)
    root = Sysroot(sysroot)
    with root.locked():
        if verify:
            change = _rebase_verified(root, target)
        elif source is not None:
            change = ops.rebase_local(root, source)
        else:
            assert target is not None
            change = ops.rebase(root, target)
    _report_change(change, "Deployed")
    _report_inactive(change.inactive)
    click.echo("Run 'fedostree status' to see it; it takes effect on the next boot.")


def _rebase_verified(root: Sysroot, target: str | None) -> ops.Change:
    """Rebuild the published tree here; deploy it only when the trees agree."""
    # imported here: the rebuild's modules would slow every other verb's start-up
    from fedostree.cli.verification import report_verification
    from fedostree.client.verify import published_refspec, verify_published

    refspec = published_refspec(root, target)
    result = verify_published(root, refspec)
    report_verification(result, refspec)
    click.echo(f"Deploying {refspec}: its content was built here, none of it is downloaded")
    return ops.rebase(root, refspec)


def _report_inactive(inactive: Sequence[str]) -> None:
    for spec in inactive:
        click.echo(f"Inactive requests: {spec} (the base now provides it)")


@click.command()
@sysroot_option
@click.option("--check", is_flag=True, help="Only check for an update; exit 77 if there is none.")
@click.option(
    "--preview", is_flag=True, help="Show the package diff without deploying; exit 77 if none."
)
@click.option("--download-only", is_flag=True, help="Pull the update but do not deploy it.")
@click.option(
    "--allow-downgrade", is_flag=True, help="Accept a commit older than the deployed one."
)
@click.option("--unchanged-exit-77", is_flag=True,
              help="Exit 77 if there is no upgrade (without it: exit 0).")  # fmt: skip
def upgrade(
    sysroot: Path,
    check: bool,
    preview: bool,
    download_only: bool,
    allow_downgrade: bool,
    unchanged_exit_77: bool,
) -> None:
    """Pull the newer commit of the default deployment's ref and deploy it; a tree built
    with `rebase --local` is resolved again from its treefile and rebuilt if it changed."""
    root = Sysroot(sysroot)
    with root.locked():
        change = ops.upgrade(root, check=check, preview=preview, download_only=download_only,
                             allow_downgrade=allow_downgrade,
                             unchanged_exit_77=unchanged_exit_77)  # fmt: skip
    if change.pending_inputhash is not None:
        _report_local_pending(change, check=check, preview=preview)
    elif check:
        click.echo(f"Update available: {change.new[:12]} ({change.version or 'no version'})")
    elif not change.deployed:
        _report_change(change, "Available" if preview else "Downloaded")
        if preview:
            size = change.download_size
            click.echo(
                f"Download size: {size / 1024:.1f} KiB (static delta)"
                if size is not None
                else "Download size: unknown (the server has no static delta from the deployed commit)"
            )
    else:
        _report_change(change, "Deployed")
        _report_inactive(change.inactive)


def _report_local_pending(change: ops.Change, *, check: bool, preview: bool) -> None:
    """A locally assembled tree whose inputs changed, not built (--check, --preview,
    --download-only)."""
    version = change.version or "no version"
    inputs = f"input hash {(change.pending_inputhash or '')[:12]}"
    if check:
        click.echo(f"Update available: {change.refspec}, {inputs} ({version})")
        return
    click.echo(f"{'Available' if preview else 'Downloaded'} {change.refspec}: {inputs} ({version})")
    click.echo("\n".join(change.diff.lines()) or "No package changes.")
    if preview:
        size = (change.download_size or 0) / 1024
        click.echo(f"Download size: {size:.1f} KiB ({change.download_packages} packages)")


@click.command()
@sysroot_option
@click.argument("revision", metavar="VERSION|CHECKSUM")
def deploy(sysroot: Path, revision: str) -> None:
    """Deploy a specific version (or commit) of the current ref."""
    root = Sysroot(sysroot)
    with root.locked():
        change = ops.deploy_version(root, revision)
    _report_change(change, "Deployed")


@click.command()
@sysroot_option
def rollback(sysroot: Path) -> None:
    """Make the previous deployment the default; nothing is downloaded."""
    root = Sysroot(sysroot)
    with root.locked():
        target = root.rollback()
    click.echo(f"Moving {target.get_csum()[:12]} to be the default deployment on the next boot.")


@click.command()
@sysroot_option
@click.option("-p", "--pending", is_flag=True, help="Remove the pending deployment.")
@click.option("-r", "--rollback", "rollback_", is_flag=True, help="Remove the rollback deployment.")
@click.option("-b", "--base", is_flag=True, help="Prune objects no deployment or ref uses.")
def cleanup(sysroot: Path, pending: bool, rollback_: bool, base: bool) -> None:
    """Remove deployments and prune the repository."""
    if not (pending or rollback_ or base):
        raise click.UsageError("choose at least one of -p, -r, -b")
    root = Sysroot(sysroot)
    with root.locked():
        removed = root.cleanup(pending=pending, rollback=rollback_)
    for d in removed:
        click.echo(f"Removed deployment {d.get_csum()[:12]}")
    click.echo("Pruned unreferenced objects." if base or removed else "Nothing to remove.")


@click.command()
@sysroot_option
@click.argument("index", type=int)
@click.option("--unpin", is_flag=True, help="Unpin instead.")
def pin(sysroot: Path, index: int, unpin: bool) -> None:
    """Pin deployment INDEX (from status) so it is never removed."""
    root = Sysroot(sysroot)
    with root.locked():
        root.set_pinned(index, not unpin)
    click.echo(f"Deployment {index} is now {'unpinned' if unpin else 'pinned'}.")


@click.group()
def db() -> None:
    """Package-level views of commits."""


def _resolve(root: Sysroot, rev: str) -> str:
    """A deployment index (a number of up to 3 digits), else a ref, commit or checksum
    prefix: a short number is never taken for a checksum that happens to start with it."""
    if rev.isdigit() and len(rev) <= 3:
        return str(root.deployment_at(int(rev)).get_csum())
    commit = ot.resolve_rev(root.repo, rev)
    if commit is None:
        raise FedostreeError(f"{rev}: no such commit, ref or deployment")
    return commit


@db.command("list")
@sysroot_option
@click.argument("rev", required=False)
def db_list(sysroot: Path, rev: str | None) -> None:
    """List the packages of REV (default: the default deployment)."""
    root = Sysroot(sysroot)
    commit = _resolve(root, rev) if rev else root.default().get_csum()
    for pkg in parse_pkglist(ot.commit_metadata(root.repo, commit).get(PKGLIST_KEY)):
        click.echo(pkg.nevra)


@db.command("diff")
@sysroot_option
@click.argument("from_rev", metavar="[FROM", required=False)
@click.argument("to_rev", metavar="TO]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
def db_diff(sysroot: Path, from_rev: str | None, to_rev: str | None, as_json: bool) -> None:
    """Package changes from FROM to TO (default: rollback to default deployment)."""
    root = Sysroot(sysroot)
    if (from_rev is None) != (to_rev is None):
        raise click.UsageError("give both FROM and TO, or neither")
    if from_rev is None or to_rev is None:
        deployments = root.deployments()
        if len(deployments) < 2:
            raise FedostreeError("only one deployment: give FROM and TO")
        old, new = deployments[1].get_csum(), deployments[0].get_csum()
    else:
        old, new = _resolve(root, from_rev), _resolve(root, to_rev)
    diff = ops.commit_diff(root.repo, old, new)
    if as_json:
        click.echo(json.dumps(diff.to_json(), indent=2))
    else:
        click.echo(f"ostree diff commit from: {old}\nostree diff commit to:   {new}")
        click.echo("\n".join(diff.lines()) or "No package changes.")


@click.command()
@click.option("--repo", type=_path, required=True, help="The archive repository to serve.")
@click.option("--bind", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--remote-name", default="fedostree", show_default=True,
              help="The remote name the status page's commands use.")  # fmt: skip
@click.option("--rpm-repo", type=_path, metavar="DIR",
              help="Also serve this rpm-md repository under /rpms/, for clients to layer "
              "packages from (the sample trees' fedostree-sample.repo points there).")  # fmt: skip
def serve(repo: Path, bind: str, port: int, remote_name: str, rpm_repo: Path | None) -> None:
    """Serve REPO over HTTP for clients (and the stock ostree CLI) to pull from, with a
    status page of its trees at /status/."""
    from fedostree.server.serve import RPMS_PATH, make_server

    server = make_server(repo, bind, port, remote_name, rpm_repo)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly under systemd too
    url = f"http://{bind}:{server.server_address[1]}/"
    click.echo(f"Serving {repo} on {url}")
    click.echo(f"Status page: {url}status/")
    if rpm_repo is not None:
        click.echo(f"RPM repository {rpm_repo}: {url}{RPMS_PATH.lstrip('/')}")
    try:
        server.serve_forever()
    finally:
        server.server_close()


def layer_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("-n", "--dry-run", is_flag=True, help="Print the transaction; change nothing."),
        click.option("--idempotent", is_flag=True,
                     help="Do nothing if a package is already (un)installed or requested."),
        click.option("--unchanged-exit-77", is_flag=True, help="Exit 77 if nothing changed."),
        click.option("-C", "--cache-only", is_flag=True,
                     help="Use only cached metadata and packages; no network."),
        click.option("--download-only", is_flag=True,
                     help="Download and cache the packages; do not deploy."),
    ]):  # fmt: skip
        f = option(f)
    return sysroot_option(f)


def _layer_options(**kw: bool) -> LayerOptions:
    return LayerOptions(**kw)


@click.command()
@layer_options
@click.argument("packages", nargs=-1, required=True, metavar="PKG...")
def install(sysroot: Path, packages: tuple[str, ...], **kw: bool) -> None:
    """Layer packages (names, provides, paths, or local .rpm files) on the tree."""
    local = [Path(p) for p in packages if p.endswith(".rpm")]
    specs = [p for p in packages if not p.endswith(".rpm")]
    root = Sysroot(sysroot)
    with root.locked():
        change = layering.install(root, specs, local, _layer_options(**kw))
    _report_layer(change, kw)


@click.command()
@layer_options
@click.option("--all", "remove_all", is_flag=True, help="Remove every layered package.")
@click.argument("packages", nargs=-1, metavar="PKG...")
def uninstall(sysroot: Path, packages: tuple[str, ...], remove_all: bool, **kw: bool) -> None:
    """Remove layered packages (never the base tree's)."""
    if bool(packages) == remove_all:
        raise click.UsageError("give packages to remove, or --all")
    root = Sysroot(sysroot)
    with root.locked():
        change = layering.uninstall(root, packages, remove_all=remove_all,
                                    opts=_layer_options(**kw))  # fmt: skip
    _report_layer(change, kw)


def _report_layer(change: layering.LayerChange, kw: dict[str, bool]) -> None:
    for nevra in change.added:
        click.echo(f"  Installing: {nevra}")
    for nevra in change.removed:
        click.echo(f"  Removing: {nevra}")
    _report_inactive(change.inactive)
    if kw.get("dry_run"):
        click.echo("Exiting because of '--dry-run' option")
    elif kw.get("download_only"):
        click.echo("Packages downloaded; nothing deployed (--download-only).")
    elif change.new is not None:
        click.echo(f"Deployed {change.new[:12]}; it takes effect on the next boot.")


COMMANDS = [admin, remote, status, rebase, upgrade, deploy, rollback, cleanup, pin, db, serve,
            install, uninstall]  # fmt: skip
