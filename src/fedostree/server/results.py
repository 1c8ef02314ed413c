"""Test results per composed commit, kept next to the objects in the published repository
(`REPO/extensions/fedostree/results/COMMIT/`), so that `fedostree compose results`, the
status page and anyone with the repository's URL read the same record.

Layout of one commit's record:

    results.json   {"commit", "ref", "version", "outcome", "started", "checks": [
                     {"name", "outcome", "duration", "log", "summary"}]}
                   (log: file name below; outcome passed, failed or skipped: a check
                   this machine cannot run, such as `boot` without QEMU, is skipped,
                   never passed; summary: one line, such as the boot's marker)
    NAME.log       each check's output

A record is written to a temporary directory and renamed into place, so a reader sees a
whole record or none."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from fedostree.errors import FedostreeError

RESULTS_DIR = Path("extensions/fedostree/results")
Outcome = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: Outcome
    duration: float  # seconds
    log: str  # the check's output (what went wrong, for a failure)
    summary: str = ""  # one line worth showing beside the outcome


@dataclass(frozen=True)
class CommitResults:
    commit: str
    ref: str
    version: str | None
    started: float  # Unix time the checks started
    checks: tuple[CheckResult, ...]

    @property
    def outcome(self) -> Outcome:
        return "failed" if self.failed else "passed"

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.outcome == "failed"]

    @property
    def skipped(self) -> list[str]:
        return [c.name for c in self.checks if c.outcome == "skipped"]


def results_dir(repo_path: Path, commit: str) -> Path:
    return repo_path / RESULTS_DIR / commit


def log_name(check: str) -> str:
    """The log's file name: the check's name with anything but [A-Za-z0-9._-] replaced."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", check).strip(".") + ".log"


def record_results(repo_path: Path, results: CommitResults) -> Path:
    """Write (or replace) the commit's record; return its directory."""
    final = results_dir(repo_path, results.commit)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        checks = []
        for check in results.checks:
            name = log_name(check.name)
            (staging / name).write_text(check.log)
            entry = asdict(check)
            entry["log"] = name
            checks.append(entry)
        doc = {
            "commit": results.commit,
            "ref": results.ref,
            "version": results.version,
            "outcome": results.outcome,
            "started": results.started,
            "checks": checks,
        }
        (staging / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
        os.chmod(staging, 0o755)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def load_results(repo_path: Path, commit: str) -> CommitResults | None:
    """The commit's record, or None if it was never tested."""
    where = results_dir(repo_path, commit)
    try:
        doc = json.loads((where / "results.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise FedostreeError(f"{where}/results.json: unreadable test results: {e}") from e
    checks = tuple(_check_result(where, c) for c in doc["checks"])
    return CommitResults(doc["commit"], doc["ref"], doc.get("version"), doc["started"], checks)


def _check_result(where: Path, entry: dict[str, Any]) -> CheckResult:
    return CheckResult(entry["name"], entry["outcome"], float(entry["duration"]),
                       _read_log(where, entry["log"]), entry.get("summary", ""))  # fmt: skip


def _read_log(where: Path, name: str) -> str:
    try:
        return (where / name).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def remove_results(repo_path: Path, commits: Sequence[str]) -> None:
    """Drop the records of pruned commits."""
    for commit in commits:
        shutil.rmtree(results_dir(repo_path, commit), ignore_errors=True)
