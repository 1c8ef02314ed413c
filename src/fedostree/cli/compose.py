"""`fedostree compose tree`, `compose products`, `compose deltas` and `compose results`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from fedostree.cli.verification import report_verification
from fedostree.engine import ostree as ot
from fedostree.errors import ConfigError, FedostreeError
from fedostree.model.lockfile import load_lockfiles
from fedostree.model.treefile import Treefile
from fedostree.model.treefile_load import load_treefile
from fedostree.server.boot.check import DEFAULT_TIMEOUT, BootOptions
from fedostree.server.boot.proof import boot_test
from fedostree.server.candidates import candidate_commit
from fedostree.server.deltas import publish_deltas
from fedostree.server.pipeline import (
    ComposeOptions,
    ComposeResult,
    Session,
    compose_trees,
    publish_deltas_after,
    run_boot_tests,
)
from fedostree.server.products import expand_treefiles, load_products
from fedostree.server.publish import Signer
from fedostree.server.results import RESULTS_DIR, load_results, log_name, results_dir
from fedostree.server.verify import verify_commit

DEFAULT_CACHEDIR = Path.home() / ".cache" / "fedostree"
_path = click.Path(path_type=Path)


def _common(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option(
        "--repo",
        type=_path,
        help="OSTree repository (archive mode; created if absent). Required.",
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
    f = click.option("--gpg-sign", metavar="KEYID", help="Sign published commits and the summary.")(
        f
    )
    f = click.option(
        "--gpg-homedir", type=_path, help="GnuPG home directory holding the --gpg-sign key."
    )(f)
    f = click.option(
        "--keep-versions",
        type=click.IntRange(min=1),
        default=10,
        show_default=True,
        help="Published commits kept per ref; older ones are pruned.",
    )(f)
    f = boot_check_options(f)
    f = click.option(
        "--no-deltas",
        is_flag=True,
        help="Leave the static deltas to `compose deltas` (by default they are generated "
        "once every tree is published).",
    )(f)
    return f


def boot_check_options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option(
        "--no-boot-check",
        is_flag=True,
        envvar="FEDOSTREE_NO_BOOT_CHECK",
        help="Do not boot the trees in QEMU before publishing them (also when the "
        "environment variable FEDOSTREE_NO_BOOT_CHECK is 1).",
    )(f)
    f = boot_timeout_option(
        "Time a boot check gives a tree to boot, run its boot-time checks and power off."
    )(f)
    return f


def boot_timeout_option(text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--boot-timeout", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT,
                        show_default=True, metavar="SECONDS", help=text)  # fmt: skip


def boot_options(no_boot_check: bool, boot_timeout: float) -> BootOptions | None:
    return None if no_boot_check else BootOptions(timeout=boot_timeout)


def publish_options(
    gpg_sign: str | None, gpg_homedir: Path | None, keep_versions: int, no_deltas: bool = False
) -> dict[str, Any]:
    """The ComposeOptions fields the publishing flags set."""
    if gpg_homedir is not None and gpg_sign is None:
        raise ConfigError("--gpg-homedir needs --gpg-sign KEYID")
    return {"gpg_sign": gpg_sign, "gpg_homedir": gpg_homedir, "keep_versions": keep_versions,
            "deltas": not no_deltas}  # fmt: skip


@click.group()
def compose() -> None:
    """Compose package sets into OSTree commits (the build server)."""


@compose.command("tree")
@click.argument("treefile", type=_path)
@_common
@click.option(
    "--lockfile",
    "--ex-lockfile",
    "lockfiles",
    type=_path,
    multiple=True,
    help="Pin packages to this rpm-ostree lockfile (JSON or YAML); repeatable, later ones win.",
)
@click.option(
    "--lockfile-strict",
    "--ex-lockfile-strict",
    "lockfile_strict",
    is_flag=True,
    help="With --lockfile, only allow installing locked packages.",
)
@click.option(
    "--write-lockfile-to",
    "--ex-write-lockfile-to",
    "write_lockfile_to",
    type=_path,
    help="Write the resolved package set as an rpm-ostree lockfile (JSON).",
)
@click.option(
    "--print-only",
    is_flag=True,
    help="Print the treefile with its includes, conditionals and variables resolved, "
    "as JSON, and exit (no --repo needed).",
)
def compose_tree_cmd(
    treefile: Path,
    repo: Path | None,
    cachedir: Path,
    force_nocache: bool,
    as_json: bool,
    lockfiles: tuple[Path, ...],
    lockfile_strict: bool,
    write_lockfile_to: Path | None,
    gpg_sign: str | None,
    gpg_homedir: Path | None,
    keep_versions: int,
    no_deltas: bool,
    no_boot_check: bool,
    boot_timeout: float,
    print_only: bool,
) -> None:
    """Compose the tree TREEFILE describes into REPO: commit it to its candidate ref,
    test it, and publish it (move the ref) only if the tests pass."""
    tf = load_treefile(treefile)
    if print_only:
        click.echo(json.dumps(tf.print_form(), indent=2, ensure_ascii=False))
        return
    options = ComposeOptions(
        _required_repo(repo),
        cachedir.absolute(),
        force=force_nocache,
        **lockfile_options(lockfiles, lockfile_strict, write_lockfile_to),
        **publish_options(gpg_sign, gpg_homedir, keep_versions, no_deltas),
        boot=boot_options(no_boot_check, boot_timeout),
    )
    _run([tf], options, as_json)


def lockfile_options(
    lockfiles: Sequence[Path], strict: bool, write_to: Path | None
) -> dict[str, Any]:
    """The ComposeOptions fields the lockfile flags set; the lockfiles are read (and
    refused if invalid) before anything is fetched."""
    if strict and not lockfiles:
        raise ConfigError("--lockfile-strict needs --lockfile")
    if write_to is not None and not write_to.absolute().parent.is_dir():
        raise ConfigError(f"--write-lockfile-to {write_to}: no such directory")
    lock = load_lockfiles(lockfiles)
    return {"lockfile": lock, "lockfile_strict": strict, "write_lockfile_to": write_to}


@compose.command("products")
@click.argument("products_file", metavar="PRODUCTS", type=_path)
@_common
@click.option("--only", metavar="PRODUCT/TREE", help="Compose only this tree (or this ref).")
@click.option(
    "--print-only",
    is_flag=True,
    help="Print the treefile of the --only tree as JSON (what `compose tree` and "
    "`rebase --local` take), and exit (no --repo needed).",
)
def compose_products_cmd(
    products_file: Path,
    repo: Path | None,
    cachedir: Path,
    force_nocache: bool,
    as_json: bool,
    only: str | None,
    print_only: bool,
    gpg_sign: str | None,
    gpg_homedir: Path | None,
    keep_versions: int,
    no_deltas: bool,
    no_boot_check: bool,
    boot_timeout: float,
) -> None:
    """Compose, test and publish every tree of a products matrix into REPO."""
    products = load_products(products_file)
    for warning in products.warnings:
        click.echo(f"warning: {warning}", err=True)
    if print_only and only is None:
        raise click.UsageError("--print-only needs --only PRODUCT/TREE")
    treefiles = expand_treefiles(products, only)
    if print_only:
        if len(treefiles) != 1:
            refs = ", ".join(tf.ref for tf in treefiles)
            raise click.UsageError(
                f"--only {only} selects {len(treefiles)} trees ({refs}): name one ref"
            )
        click.echo(json.dumps(treefiles[0].print_form(), indent=2, ensure_ascii=False))
        return
    options = ComposeOptions(
        _required_repo(repo),
        cachedir.absolute(),
        force=force_nocache,
        **publish_options(gpg_sign, gpg_homedir, keep_versions, no_deltas),
        boot=boot_options(no_boot_check, boot_timeout),
    )
    _run(treefiles, options, as_json)


def _required_repo(repo: Path | None) -> Path:
    if repo is None:
        raise click.UsageError("Missing option '--repo'.")
    return repo


def _run(treefiles: Sequence[Treefile], options: ComposeOptions, as_json: bool) -> None:
    if options.lockfile and len(treefiles) != 1:
        raise ConfigError("--lockfile applies to a single tree")
    session = Session(options)

    def report(result: ComposeResult) -> None:
        if not as_json:
            click.echo(_describe(result))

    results = compose_trees(treefiles, session, report)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2))
    publish_deltas_after(session, results)  # the trees are out: clients fetch objects meanwhile
    proofs = run_boot_tests(session, results)
    for ref, proof in proofs:
        if not as_json:
            click.echo(f"{ref}: boot-test {proof.outcome}: {proof.summary}")
    failed = [r for r in results if not r.published]
    where = options.repo / RESULTS_DIR
    if failed:
        raise FedostreeError(
            f"{', '.join(r.ref for r in failed)}: failed tests, not published (logs in {where})"
        )
    unproven = [ref for ref, proof in proofs if proof.outcome == "failed"]
    if unproven:
        raise FedostreeError(f"{', '.join(unproven)}: published, but the upgrade/rollback "
                             f"boot-test failed (logs in {where})")  # fmt: skip


def _describe(r: ComposeResult) -> str:
    version = f" {r.version}" if r.version else ""
    failed = (
        f"; failed tests: {', '.join(r.failed_checks)}, not published" if not r.published else ""
    )
    if not r.changed:
        return f"{r.ref}: unchanged{version} ({r.commit[:12]}{failed})"
    derived = f"; derived from {r.derived}" if r.derived else ""
    return f"{r.ref}: committed{version} ({r.commit[:12]}, {r.packages} packages{derived}{failed})"


@compose.command("verify")
@click.argument("rev", metavar="REF")
@click.option("--repo", type=_path, required=True, help="The published OSTree repository.")
@click.option(
    "--cachedir",
    type=_path,
    default=DEFAULT_CACHEDIR,
    show_default=True,
    help="Metadata, download and package cache; the rebuild goes into its build repository.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def compose_verify_cmd(rev: str, repo: Path, cachedir: Path, as_json: bool) -> None:
    """Rebuild REF (a ref or commit) from the treefile, repositories, lockfile and source
    date epoch its commit records, and compare the rebuilt tree with it: exit 0 when their
    root dirtree and dirmeta agree, 1 with each differing path otherwise. No ref moves."""
    result = verify_commit(repo, rev, cachedir.absolute())
    report_verification(result, rev, as_json=as_json)


@compose.command("boot-test")
@click.argument("ref")
@click.option("--repo", type=_path, required=True, help="The published OSTree repository.")
@click.option(
    "--from",
    "from_rev",
    metavar="REV",
    help="The commit to upgrade from (default: the published commit's parent).",
)
@click.option(
    "--workdir",
    type=_path,
    help="Where the sysroot, disk image and serial logs are kept [default: CACHEDIR/boot-test/REF].",
)
@click.option(
    "--cachedir", type=_path, default=DEFAULT_CACHEDIR, show_default=True, help="Cache directory."
)
@boot_timeout_option("Time limit of each boot.")
@click.option("--json", "as_json", is_flag=True, help="Print the three boots as JSON.")
def compose_boot_test_cmd(ref: str, repo: Path, from_rev: str | None, workdir: Path | None,
                          cachedir: Path, boot_timeout: float, as_json: bool) -> None:  # fmt: skip
    """Prove that REF's newest published commit upgrades and rolls back, by booting.

    The previous version is deployed into a fresh sysroot and booted in QEMU; the
    client upgrades it to REF's commit, which is booted; the client rolls back, and the
    previous version is booted again. Each boot must print the tree's marker with the
    expected commit; an /etc change made before the upgrade and /var must survive.
    """
    out = ot.open_repo(repo)
    previous = None
    if from_rev is not None:
        previous = ot.resolve_rev(out, from_rev)
        if previous is None:
            raise ConfigError(f"--from {from_rev}: no such commit in {repo}")
    where = workdir or cachedir / "boot-test" / ref.replace("/", "_")
    proof = boot_test(repo, ref, where.absolute(), BootOptions(boot_timeout), previous)
    if as_json:
        click.echo(json.dumps({"ref": ref, "previous": proof.previous, "current": proof.current,
                               "workdir": str(proof.workdir),
                               "boots": [b.to_json() for b in proof.boots]}, indent=2))  # fmt: skip
        return
    for number, boot in enumerate(proof.boots, 1):
        click.echo(f"boot {number} ({boot.step} {boot.version or boot.expected[:12]}, "
                   f"{boot.booted.run.seconds:.1f} s): "
                   f"{boot.booted.marker}")  # fmt: skip
    click.echo(f"{ref}: upgrade {proof.previous[:12]} -> {proof.current[:12]} and rollback "
               f"booted as expected; /etc and /var kept (sysroot in {proof.workdir})")  # fmt: skip


@compose.command("deltas")
@click.option("--repo", type=_path, required=True, help="The published OSTree repository.")
@click.option("--gpg-sign", metavar="KEYID", help="Sign the regenerated summary.")
@click.option("--gpg-homedir", type=_path, help="GnuPG home directory holding the --gpg-sign key.")
def compose_deltas_cmd(repo: Path, gpg_sign: str | None, gpg_homedir: Path | None) -> None:
    """Generate the static deltas the published refs lack (each commit from its parent)
    and regenerate the summary to list them; a run killed midway is finished by the next."""
    if gpg_homedir is not None and gpg_sign is None:
        raise ConfigError("--gpg-homedir needs --gpg-sign KEYID")
    if not (repo / "config").is_file():
        raise ConfigError(f"--repo {repo}: not an OSTree repository")
    out = ot.open_repo(repo)
    signer = Signer(gpg_sign, gpg_homedir) if gpg_sign else None
    if signer is not None:
        signer.check(out)
    made = publish_deltas(out, signer)
    click.echo(f"{len(made)} static deltas generated")


@compose.command("results")
@click.argument("rev")
@click.option("--repo", type=_path, required=True, help="The published OSTree repository.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def compose_results_cmd(rev: str, repo: Path, as_json: bool) -> None:
    """Show the test results of REV: a ref (its newest composed commit, published or not)
    or a commit checksum."""
    out = ot.open_repo(repo)
    commit = candidate_commit(out, rev) or ot.resolve_rev(out, rev)
    if commit is None:
        raise ConfigError(f"{repo}: no ref or commit '{rev}'")
    results = load_results(repo, commit)
    if results is None:
        raise FedostreeError(f"{rev} ({commit[:12]}): no test results")
    if as_json:
        click.echo((results_dir(repo, commit) / "results.json").read_text(), nl=False)
        return
    version = f" {results.version}" if results.version else ""
    click.echo(f"{results.ref}{version} ({commit[:12]}): {results.outcome}")
    for check in results.checks:
        log = results_dir(repo, commit) / log_name(check.name)
        click.echo(f"  {check.outcome:<7} {check.name:<24} {check.duration:7.2f} s  {log}")
