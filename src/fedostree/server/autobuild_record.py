"""What the autobuilder keeps in the published repository, under
`REPO/extensions/fedostree/autobuild/`:

    lock          flock'ed (non-blocking) by the running autobuilder, holding its pid
    state.json    {"version": 1, "inputs": DIGEST,
                   "repos": [{"id", "url", "repomd"}]}   repomd: sha256 of repomd.xml
                  url: the baseurls, or "metalink URL" / "mirrorlist URL"
    latest.json   the last run: {"run", "started", "ended", "outcome", "exit_code", "log",
                   "products", "changes", "repos": [...], "trees": [...], "errors": [...]}
    runs/ID.log   one log per run; ID is its start, YYYYMMDDTHHMMSSZ (-N if taken)

state.json and latest.json are replaced by rename, so a reader sees a whole file.
Logs of runs that found nothing to do are pruned to the newest KEEP_QUIET_LOGS; the
others are kept.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from fedostree.errors import FedostreeError
from fedostree.model.document import write_document
from fedostree.server.pipeline import ComposeResult

AUTOBUILD_DIR = Path("extensions/fedostree/autobuild")
KEEP_QUIET_LOGS = 100
STATE_VERSION = 1
QUIET_OUTCOME = "no-change"
# --once exit codes by outcome; an interrupted run has none of its own (the signal decides)
EXIT_CODES = {"success": 0, "failed": 1, "config-error": 2, QUIET_OUTCOME: 77}

log = logging.getLogger(__name__)


class RepoKey(NamedTuple):
    id: str
    url: str  # RepoConfig.location: the same id with other URLs is another repository


@dataclass(frozen=True)
class State:
    """What the last runs saw and composed successfully."""

    inputs: str | None = None  # digest of the products file and its treefiles
    repos: Mapping[RepoKey, str] = field(default_factory=dict)  # -> sha256 of repomd.xml


@dataclass(frozen=True)
class RepoPoll:
    key: RepoKey
    checksum: str | None  # None: unreachable
    previous: str | None  # recorded in the state
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.checksum is not None and self.checksum != self.previous

    def describe(self) -> str:
        where = f"repo '{self.key.id}' ({self.key.url})"
        if self.error:
            return f"polled {where}: unreachable: {self.error}"
        change = "unchanged" if not self.changed else f"changed from {self.previous or 'none'}"
        return f"polled {where}: repomd.xml sha256 {self.checksum}, {change}"


@dataclass(frozen=True)
class TreeResult:
    ref: str
    outcome: str  # committed | unchanged | failed-tests | failed | not-composed
    commit: str | None = None
    version: str | None = None
    packages: int = 0
    failed_checks: tuple[str, ...] = ()
    error: str | None = None
    config: bool = False  # the failure is a configuration error
    derived: str | None = None  # built from an earlier commit: which, and what changed

    @classmethod
    def from_compose(cls, r: ComposeResult) -> TreeResult:
        outcome = "failed-tests" if not r.published else "committed" if r.changed else "unchanged"
        return cls(r.ref, outcome, r.commit, r.version, r.packages, tuple(r.failed_checks),
                   derived=r.derived)  # fmt: skip

    @classmethod
    def failed(cls, ref: str, error: str, *, config: bool = False) -> TreeResult:
        return cls(ref, "failed", error=error, config=config)

    @classmethod
    def not_composed(cls, ref: str, why: str) -> TreeResult:
        return cls(ref, "not-composed", error=why)

    @property
    def ok(self) -> bool:
        return self.outcome in ("committed", "unchanged")

    def describe(self) -> str:
        """One line, as `compose products` prints it."""
        version = f" {self.version}" if self.version else ""
        short = (self.commit or "")[:12]
        if self.outcome == "committed":
            derived = f"; derived from {self.derived}" if self.derived else ""
            return f"{self.ref}: committed{version} ({short}, {self.packages} packages{derived})"
        if self.outcome == "unchanged":
            return f"{self.ref}: unchanged{version} ({short})"
        if self.outcome == "failed-tests":
            checks = ", ".join(self.failed_checks)
            return f"{self.ref}: failed tests{version} ({short}: {checks}); not published"
        return f"{self.ref}: {self.outcome.replace('-', ' ')}: {self.error}"

    def error_line(self) -> str | None:
        """The run's error for this tree (a tree not composed is its repository's error)."""
        if self.outcome == "failed-tests":
            return (
                f"{self.ref}: tests failed: {', '.join(self.failed_checks)} "
                f"(candidates:{self.ref} is {(self.commit or '')[:12]}; {self.ref} did not move)"
            )
        return f"{self.ref}: {self.error}" if self.outcome == "failed" else None


@dataclass
class RunReport:
    run_id: str
    products: Path
    log: Path
    started: float
    ended: float | None = None
    polls: list[RepoPoll] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # why the run composed
    trees: list[TreeResult] = field(default_factory=list)
    run_errors: list[str] = field(default_factory=list)
    boot_tests: list[str] = field(default_factory=list)  # REF: boot-test OUTCOME: SUMMARY
    config_error: bool = False
    interrupted: bool = False

    def fail(self, message: str, *, config: bool = False) -> None:
        self.run_errors.append(message)
        self.config_error = self.config_error or config

    def finish(self) -> None:
        self.ended = time.time()

    @property
    def errors(self) -> list[str]:
        polls = [p.error for p in self.polls if p.error]
        trees = [t.error_line() for t in self.trees]
        return [*self.run_errors, *polls, *(e for e in trees if e)]

    @property
    def outcome(self) -> str:
        if self.interrupted:
            return "interrupted"
        if self.config_error or any(t.config for t in self.trees):
            return "config-error"
        if self.errors or not all(t.ok for t in self.trees):
            return "failed"
        return "success" if self.changes else QUIET_OUTCOME

    @property
    def exit_code(self) -> int | None:
        return EXIT_CODES.get(self.outcome)

    def to_json(self, repo: Path) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "started": _iso(self.started),
            "ended": _iso(self.ended) if self.ended else None,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "log": str(self.log.relative_to(autobuild_dir(repo))),
            "products": str(self.products),
            "changes": self.changes,
            "repos": [_poll_json(p) for p in self.polls],
            "trees": [_tree_json(t) for t in self.trees],
            "errors": self.errors,
        }


class RunLog:
    """The run's log, written line by line as the run goes (a crash leaves what happened)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[RunLog]:
        with path.open("a", encoding="utf-8") as stream:
            yield cls(stream)

    def write(self, text: str) -> None:
        stamp = _iso(time.time())
        for line in text.splitlines() or [""]:
            self._stream.write(f"{stamp} {line}\n")
        self._stream.flush()

    def finish(self, report: RunReport) -> None:
        for error in report.errors:
            self.write(f"error: {error}")
        code = "" if report.exit_code is None else f" (exit {report.exit_code})"
        self.write(f"outcome: {report.outcome}{code}")

    def handler(self) -> logging.Handler:
        run_log = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                run_log.write(f"{record.levelname.lower()}: {record.getMessage()}")

        return _Handler(logging.WARNING)


# --- locations ---


def autobuild_dir(repo: Path) -> Path:
    return repo / AUTOBUILD_DIR


def runs_dir(repo: Path) -> Path:
    return autobuild_dir(repo) / "runs"


def start_report(repo: Path, products: Path) -> RunReport:
    """A report for a run starting now, with its log file created (named by the start)."""
    started = time.time()
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    runs = runs_dir(repo)
    _makedirs(runs)
    for n in range(1000):
        name = run_id if n == 0 else f"{run_id}-{n}"
        try:
            (runs / f"{name}.log").open("x").close()
        except FileExistsError:
            continue
        return RunReport(name, products, runs / f"{name}.log", started)
    raise FedostreeError(f"{runs}: cannot create a log for run {run_id}")


# --- the lock ---


@contextmanager
def autobuild_lock(repo: Path) -> Iterator[None]:
    """Hold REPO's autobuild lock (non-blocking); released however the holder ends."""
    path = autobuild_dir(repo) / "lock"
    _makedirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise FedostreeError(f"another autobuild (pid {pid}) is working on {repo}") from None
        mine = f"{os.getpid()}\n".encode()
        os.pwrite(fd, mine, 0)
        os.ftruncate(fd, len(mine))
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


# --- state and summary ---


def load_state(repo: Path) -> State:
    """The recorded state; none (compose everything) if absent or unreadable."""
    path = autobuild_dir(repo) / "state.json"
    try:
        doc = json.loads(path.read_text())
        repos = {RepoKey(r["id"], _url(r)): str(r["repomd"]) for r in doc["repos"]}
        return State(doc.get("inputs"), repos)
    except FileNotFoundError:
        return State()
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s: unreadable, composing as on a first run: %s", path, e)
        return State()


def _url(entry: dict[str, Any]) -> str:
    """A state written before metalinks were read named the repository by its baseurl."""
    return str(entry["url"] if "url" in entry else entry["baseurl"])


def save_state(repo: Path, state: State) -> None:
    repos = [{"id": k.id, "url": k.url, "repomd": v} for k, v in state.repos.items()]
    doc = {"version": STATE_VERSION, "inputs": state.inputs, "repos": repos}
    _write_atomic(autobuild_dir(repo) / "state.json", json.dumps(doc, indent=2) + "\n")


def write_latest(repo: Path, report: RunReport) -> None:
    text = json.dumps(report.to_json(repo), indent=2) + "\n"
    _write_atomic(autobuild_dir(repo) / "latest.json", text)


def prune_quiet_logs(repo: Path, keep: int = KEEP_QUIET_LOGS) -> None:
    """Remove all but the newest `keep` logs of runs that had nothing to do."""
    logs = sorted(runs_dir(repo).glob("*.log"), key=lambda p: p.stat().st_mtime)
    quiet = [p for p in logs if _last_line(p).endswith(f"outcome: {QUIET_OUTCOME} (exit 77)")]
    for path in quiet[: max(len(quiet) - keep, 0)]:
        path.unlink(missing_ok=True)


def _last_line(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(f.seek(0, os.SEEK_END) - 200, 0))
        lines = f.read().decode(errors="replace").splitlines()
    return lines[-1] if lines else ""


def _write_atomic(path: Path, text: str) -> None:
    _makedirs(path.parent)
    write_document(path, text)


def _makedirs(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = e.strerror or errno.errorcode.get(e.errno or 0, str(e))
        raise FedostreeError(f"{path}: cannot create: {reason}") from e


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _poll_json(p: RepoPoll) -> dict[str, Any]:
    return {
        "id": p.key.id,
        "url": p.key.url,
        "repomd": p.checksum,
        "previous": p.previous,
        "changed": p.changed,
        "error": p.error,
    }


def _tree_json(t: TreeResult) -> dict[str, Any]:
    return {
        "ref": t.ref,
        "outcome": t.outcome,
        "commit": t.commit,
        "version": t.version,
        "packages": t.packages,
        "failed_checks": list(t.failed_checks),
        "error": t.error,
        "derived": t.derived,
    }
