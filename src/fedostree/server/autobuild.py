"""The autobuilder: poll the rpm-md repositories a products matrix uses (their repomd.xml
alone) and, when one of them or the products changed, compose every tree in one session.
`compose_tree` skips trees whose input hash did not change, so only affected trees are
recomposed.

A run is a recipe: load the products, poll the repositories, decide, compose, record.
What it keeps lives in the published repository (`fedostree.server.autobuild_record`):
a lock, `state.json` (what the last runs saw and composed successfully), `latest.json`
(the last run's summary) and one log per run under `runs/`.

The state advances only for what succeeded: a repository's new checksum is recorded when
it was reachable and every tree using it succeeded (committed or unchanged, tests passed),
the products digest when every tree did. Anything else is retried at the next poll.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

from fedostree.engine import ostree as ot
from fedostree.engine.repofile import RepoConfig
from fedostree.engine.repomd import fetch_revision
from fedostree.engine.treefile_repos import repo_configs
from fedostree.errors import ConfigError, FedostreeError, ResolveError
from fedostree.model.treefile import Treefile
from fedostree.server import autobuild_record as rec
from fedostree.server.autobuild_record import RepoKey, RepoPoll, RunLog, RunReport, State
from fedostree.server.autobuild_record import TreeResult as TreeResult
from fedostree.server.deltas import publish_deltas
from fedostree.server.pipeline import (
    ComposeOptions,
    PendingCompose,
    Session,
    run_boot_tests,
    start_compose,
)
from fedostree.server.products import Products, expand_treefiles, load_products

T = TypeVar("T")


@dataclass(frozen=True)
class AutobuildOptions:
    products: Path
    compose: ComposeOptions  # repo, cachedir, gpg_sign, gpg_homedir, keep_versions

    @property
    def repo(self) -> Path:
        return self.compose.repo


@dataclass(frozen=True)
class Plan:
    """The loaded products: its trees, the repositories each uses, and the inputs digest."""

    products: Products
    treefiles: list[Treefile]
    uses: dict[str, list[RepoKey]]  # ref -> the repositories it is composed from
    configs: list[RepoConfig]  # every repository, once, in the order first used
    digest: str


def run_once(
    options: AutobuildOptions, on_tree: Callable[[TreeResult], None] | None = None
) -> RunReport:
    """One run: poll, compose if something changed, record. What went wrong is in the
    report and its log, never raised; an interrupt is recorded, then re-raised."""
    report = rec.start_report(options.repo, options.products)
    with RunLog.open(report.log) as run_log, _logging_into(run_log):
        try:
            _run(options, report, run_log, on_tree or (lambda _: None))
        except FedostreeError as e:
            report.fail(str(e), config=isinstance(e, ConfigError))
        except Exception as e:  # a bug or an unwrapped library error: the loop goes on
            run_log.write(traceback.format_exc().rstrip())
            report.fail(f"{type(e).__name__}: {e}")
        except BaseException:
            report.interrupted = True
            raise
        finally:
            report.finish()
            run_log.finish(report)
            rec.write_latest(options.repo, report)
    rec.prune_quiet_logs(options.repo)
    return report


def run_every(
    options: AutobuildOptions,
    interval: float,
    on_report: Callable[[RunReport], None],
    on_tree: Callable[[TreeResult], None] | None = None,
) -> NoReturn:
    """Run, report, sleep, forever; a failed run is in its report and the loop goes on."""
    while True:
        on_report(run_once(options, on_tree))
        time.sleep(interval)


def _run(
    options: AutobuildOptions,
    report: RunReport,
    run_log: RunLog,
    on_tree: Callable[[TreeResult], None],
) -> None:
    run_log.write(f"autobuild run {report.run_id}: {options.products} into {options.repo}")
    plan = load_plan(options.products)
    for warning in plan.products.warnings:
        run_log.write(f"warning: {warning}")
    state = rec.load_state(options.repo)
    report.polls = poll_repos(plan.configs, options.compose.cachedir, state)
    for poll in report.polls:
        run_log.write(poll.describe())
    report.changes = change_reasons(plan, state, report.polls, options.repo)
    if not report.changes:
        run_log.write("no change: nothing to compose")
        return
    for reason in report.changes:
        run_log.write(f"changed: {reason}")
    session = Session(options.compose)  # opens repositories and fetches metadata lazily
    unreachable = {p.key for p in report.polls if p.error}
    started = [(tf.ref, start_one(tf, session, unreachable & set(plan.uses[tf.ref]), run_log))
               for tf in plan.treefiles]  # fmt: skip
    composed = []
    for ref, pending in started:  # the boot checks of the trees run in parallel
        result = pending if isinstance(pending, TreeResult) else finish_one(ref, pending, run_log)
        if not isinstance(pending, TreeResult) and pending.result is not None:
            composed.append(pending.result)
        report.trees.append(result)
        run_log.write(result.describe())
        on_tree(result)
    publish_deltas_in(session, report, run_log)
    for ref, proof in run_boot_tests(session, composed):
        line = f"{ref}: boot-test {proof.outcome}: {proof.summary}"
        run_log.write(line)
        report.boot_tests.append(line)
        if proof.outcome == "failed":
            report.fail(f"{ref}: published, but the upgrade/rollback boot-test failed")
    advanced = advance_state(state, plan, report)
    if advanced != state:
        rec.save_state(options.repo, advanced)


# --- the steps ---


def load_plan(products_path: Path) -> Plan:
    """Load and expand the products, and find every tree's repositories; ConfigError."""
    products = load_products(products_path)
    treefiles = expand_treefiles(products)
    configs: dict[RepoKey, RepoConfig] = {}
    uses: dict[str, list[RepoKey]] = {}
    for tf in treefiles:
        found = repo_configs(tf)
        uses[tf.ref] = [RepoKey(c.id, c.location) for c in found]
        for config in found:
            configs.setdefault(RepoKey(config.id, config.location), config)
    return Plan(
        products, treefiles, uses, list(configs.values()), inputs_digest(products, treefiles)
    )


def inputs_digest(products: Products, treefiles: Sequence[Treefile]) -> str:
    """sha256 over the products file and the flattened treefiles it expands to."""
    doc = {
        "products": hashlib.sha256(products.path.read_bytes()).hexdigest(),
        "treefiles": [tf.flattened() for tf in treefiles],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def poll_repos(configs: Sequence[RepoConfig], cachedir: Path, state: State) -> list[RepoPoll]:
    """Fetch each repository's repomd.xml alone; an unreachable one carries its error."""
    polls = []
    for config in configs:
        key = RepoKey(config.id, config.location)
        try:
            polls.append(RepoPoll(key, fetch_revision(config, cachedir), state.repos.get(key)))
        except FedostreeError as e:
            polls.append(RepoPoll(key, None, state.repos.get(key), error=str(e)))
    return polls


def change_reasons(plan: Plan, state: State, polls: Sequence[RepoPoll], repo: Path) -> list[str]:
    """Why this run composes; empty when nothing changed since the last successful run."""
    reasons = [f"repo '{p.key.id}' ({p.key.url})" for p in polls if p.changed]
    if plan.digest != state.inputs:
        reasons.append(f"products {plan.products.path}")
    reasons += [f"{ref} is not published" for ref in unpublished_refs(repo, plan.uses)]
    return reasons


def unpublished_refs(repo: Path, refs: Collection[str]) -> list[str]:
    if not (repo / "config").exists():
        return list(refs)
    out_repo = ot.open_repo(repo)
    return [ref for ref in refs if ot.resolve_rev(out_repo, ref, local_only=True) is None]


def publish_deltas_in(session: Session, report: RunReport, run_log: RunLog) -> None:
    """After the run's composes: the static deltas to what it published (server/deltas.py)."""
    if not any(t.outcome == "committed" for t in report.trees):
        return
    made = publish_deltas(session.out_repo, session.signer)
    run_log.write(f"static deltas: {len(made)} generated")


def start_one(
    tf: Treefile, session: Session, unreachable: Collection[RepoKey], run_log: RunLog
) -> TreeResult | PendingCompose:
    """Compose one tree up to its checks; whatever goes wrong is the tree's result, never
    the run's end."""
    if unreachable:
        names = ", ".join(f"'{key.id}'" for key in unreachable)
        return TreeResult.not_composed(tf.ref, f"repo {names} unreachable")
    return guarded(tf.ref, run_log, lambda: start_compose(tf, session))


def finish_one(ref: str, pending: PendingCompose, run_log: RunLog) -> TreeResult:
    """Wait for the tree's boot check and publish it if it passed."""
    result = guarded(ref, run_log, pending.finish)
    return result if isinstance(result, TreeResult) else TreeResult.from_compose(result)


def guarded(ref: str, run_log: RunLog, step: Callable[[], T]) -> T | TreeResult:
    try:
        return step()
    except ResolveError as e:
        for problem in e.problems:
            run_log.write(f"  problem: {problem}")
        return TreeResult.failed(ref, str(e))
    except FedostreeError as e:
        return TreeResult.failed(ref, str(e), config=isinstance(e, ConfigError))
    except Exception as e:  # a bug or an unwrapped library error: logged, the run goes on
        run_log.write(traceback.format_exc().rstrip())
        return TreeResult.failed(ref, f"{type(e).__name__}: {e}")


def advance_state(old: State, plan: Plan, report: RunReport) -> State:
    """Record what succeeded: a repository when every tree using it succeeded, the
    products digest when every tree did; the rest keeps its old value, to be retried."""
    failed = {t.ref for t in report.trees if not t.ok}
    blocked = {key for ref in failed for key in plan.uses.get(ref, [])}
    repos = {}
    for poll in report.polls:
        if poll.checksum is not None and poll.key not in blocked:
            repos[poll.key] = poll.checksum
        elif poll.key in old.repos:
            repos[poll.key] = old.repos[poll.key]
    all_ok = not failed and all(p.checksum is not None for p in report.polls)
    return State(inputs=plan.digest if all_ok else old.inputs, repos=repos)


@contextmanager
def _logging_into(run_log: RunLog) -> Iterator[None]:
    """Warnings logged during the run (by the compose too) also go to the run's log."""
    handler = run_log.handler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


__all__ = ["AutobuildOptions", "RunReport", "TreeResult", "run_every", "run_once"]
