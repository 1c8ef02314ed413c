"""One benchmark run's world: the package universe with an (initially empty) updates
repository, a treefile per tree, and the steps the measurements share, each done once
per run: compose cold, recompose with nothing changed, publish a package update,
recompose warm; the traditional path's two rounds; a tiny tree committed twice."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fedostree.bench import traditional as trad
from fedostree.bench.rebuild import MUTATORS, rebuild_rpm
from fedostree.bench.tools import fedostree, fresh_dir, run, stopwatch
from fedostree.engine.download import sha256_file
from fedostree.errors import FedostreeError

T = TypeVar("T")
REPO_ID, UPDATES_ID = "bench", "bench-updates"
UNIVERSES = {"centos": "fedostree.bench.universe", "sample": "fedostree.bench.sample_universe"}
TINY_KERNEL = "0.0.1-bench.x86_64"
BOOTSTRAP = "filesystem"  # what the traditional path installs first
# Deployments need an os-release with an ID; the synthesized one is random bytes. So are
# /usr/bin/sh, /etc/passwd and /etc/group, which the build server's checks need to work
# (the `sh` check runs the shell; `file-owners` looks up root): real ones replace them.
OS_RELEASE = (
    'NAME="fedostree bench"\nID=fedostree-bench\nVERSION_ID=1\nPRETTY_NAME="fedostree bench"\n'
)
REAL_FILES = {
    "passwd": "root:x:0:0:root:/root:/bin/bash\n",
    "group": "root:x:0:\n",
}
SHELL = Path("/bin/busybox")  # static: runs in any tree


@dataclass(frozen=True)
class Universe:
    repo: Path  # rpm-md repository with comps
    trees: dict[str, list[str]]
    releasever: str
    tiny: list[str]  # package specs of a tree of about ten packages
    update_package: str  # a package every tree contains
    update_content: str  # how its rebuild changes file content: a key of rebuild.MUTATORS
    synthesized_content: bool = False  # file content is pseudo-random bytes (passwd too)


def load_universe(kind: str, cache_root: Path, scale: float) -> Universe:
    """Build (or find cached) the universe that fedostree.bench.KIND describes."""
    module = import_universe(kind)
    repo = Path(module.build_universe(cache_root, scale=scale))
    return Universe(
        repo=repo,
        trees=dict(module.TREES),
        releasever=str(getattr(module, "RELEASEVER", "9")),
        tiny=list(getattr(module, "TINY_TREE", ["filesystem", "setup"])),
        update_package=str(getattr(module, "UPDATE_PACKAGE", "bash")),
        update_content=str(getattr(module, "UPDATE_CONTENT", "regenerate")),
        synthesized_content=bool(getattr(module, "SYNTHESIZED_CONTENT", False)),
    )


def import_universe(kind: str) -> Any:
    try:
        return importlib.import_module(UNIVERSES[kind])
    except ModuleNotFoundError as e:
        raise FedostreeError(f"universe '{kind}': cannot import {UNIVERSES[kind]}: {e}") from e


@dataclass(frozen=True)
class Composed:
    commit: str
    packages: int
    changed: bool


@dataclass(frozen=True)
class ComposeRound:
    """Every tree composed once, by the command line, one after the other."""

    seconds: float
    trees: dict[str, Composed]
    lockfiles: dict[str, Path]
    deltas_seconds: float | None = None  # `compose deltas` after the round, not in seconds

    @property
    def largest(self) -> str:
        return max(self.trees, key=lambda name: self.trees[name].packages)


@dataclass(frozen=True)
class Update:
    name: str
    old_nevra: str
    new_nevra: str
    rpm: Path


@dataclass
class Scenario:
    universe: Universe
    root: Path
    shared: Path  # survives the run: rebuilt packages
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    _memo: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fresh_dir(self.root)
        self.updates.mkdir()
        run(["createrepo_c", "--quiet", self.updates])
        write_config(self.config, self.universe, self.updates)

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def updates(self) -> Path:
        return self.root / "updates"

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def cachedir(self) -> Path:
        return self.root / "cache"

    def close(self) -> None:
        """Stop what the run started (servers), newest first."""
        while self.cleanups:
            self.cleanups.pop()()

    def once(self, key: str, step: Callable[[], T]) -> T:
        """Each step runs at most once per run; the measurements share its result."""
        if key not in self._memo:
            self._memo[key] = step()
        result: T = self._memo[key]
        return result

    def treefile(self, name: str) -> Path:
        return self.config / f"{slug(name)}.json"

    # --- ours ---

    def cold(self) -> ComposeRound:
        return self.once("cold", lambda: self.compose_all("cold", expect_changed=True))

    def noop(self) -> ComposeRound:
        self.cold()
        return self.once("noop", lambda: self.compose_all("noop", expect_changed=False))

    def warm(self) -> ComposeRound:
        update = self.update()
        return self.once("warm", lambda: self._warm(update))

    def _warm(self, update: Update) -> ComposeRound:
        """The trees published first, their static deltas generated afterwards (off the
        compose's critical path, as autobuild does), timed apart."""
        composed = self.compose_all("warm", expect_changed=True, extra=("--no-deltas",))
        for name, lockfile in composed.lockfiles.items():
            if update.new_nevra not in trad.nevras_from_lockfile(lockfile):
                raise FedostreeError(f"{name}: the warm compose did not pick {update.new_nevra}")
        with stopwatch() as watch:
            fedostree("compose", "deltas", "--repo", self.repo)
        return dataclasses.replace(composed, deltas_seconds=watch.seconds)

    def compose_all(
        self, label: str, *, expect_changed: bool, extra: Sequence[str] = ()
    ) -> ComposeRound:
        locks = fresh_dir(self.root / "locks" / label)
        lockfiles = {name: locks / f"{slug(name)}.json" for name in self.universe.trees}
        trees = {}
        with stopwatch() as watch:
            for name in self.universe.trees:
                trees[name] = self.compose_one(self.treefile(name), lockfiles[name], *extra)
        wrong = [n for n, c in trees.items() if c.changed != expect_changed]
        if wrong:
            state = "unchanged" if expect_changed else "changed"
            raise FedostreeError(f"{label} compose: {', '.join(wrong)} unexpectedly {state}")
        return ComposeRound(watch.seconds, trees, lockfiles)

    def compose_one(self, treefile: Path, lockfile: Path | None = None, *args: str) -> Composed:
        extra = ["--write-lockfile-to", str(lockfile)] if lockfile else []
        result = fedostree("compose", "tree", treefile, "--repo", self.repo,
                           "--cachedir", self.cachedir, "--json", *extra, *args)  # fmt: skip
        (out,) = json.loads(result.stdout)
        return Composed(out["commit"], out["packages"], out["changed"])

    def update(self) -> Update:
        """Publish a newer build of the update package in the updates repository."""
        return self.once("update", self._publish_update)

    def _publish_update(self) -> Update:
        name = self.universe.update_package
        cold = self.cold()
        old = find_nevra(cold.lockfiles[cold.largest], name)
        missing = [t for t, lock in cold.lockfiles.items() if old not in trad.nevras_from_lockfile(lock)]  # fmt: skip
        if missing:
            raise FedostreeError(f"update package {old} is not in {', '.join(missing)}")
        source = find_rpm(self.universe.repo, old)
        rebuilt = rebuilt_rpm(source, self.shared / "update", self.universe.update_content)
        os.link(rebuilt, self.updates / rebuilt.name)
        run(["createrepo_c", "--quiet", self.updates])
        return Update(name, old, rebuilt.name.removesuffix(".rpm"), self.updates / rebuilt.name)

    def tiny(self) -> tuple[str, str]:
        """The tiny tree committed twice (the second forced): two commits to deploy."""
        return self.once("tiny", self._compose_tiny)

    def _compose_tiny(self) -> tuple[str, str]:
        first = self.compose_one(self.config / "tiny.json")
        second = self.compose_one(self.config / "tiny.json", None, "--force-nocache")
        return first.commit, second.commit

    # --- the traditional path ---

    def rpm_repos(self) -> list[trad.RpmRepo]:
        return [trad.RpmRepo(REPO_ID, self.universe.repo), trad.RpmRepo(UPDATES_ID, self.updates)]

    def bootstrap(self, composed: ComposeRound) -> dict[str, Path]:
        """The filesystem package of each tree (installed first), and its RPM file."""
        nevras = {
            find_nevra(lock, BOOTSTRAP, missing_ok=True) for lock in composed.lockfiles.values()
        }
        return {nevra: find_rpm(self.universe.repo, nevra) for nevra in nevras if nevra}

    def trad_cold(self) -> trad.TradRound:
        cold = self.cold()
        return self.once("trad-cold", lambda: self._trad(cold, fresh=True))

    def trad_warm(self) -> trad.TradRound:
        warm = self.warm()
        self.trad_cold()
        return self.once("trad-warm", lambda: self._trad(warm, fresh=False))

    def _trad(self, composed: ComposeRound, *, fresh: bool) -> trad.TradRound:
        archive = self.root / "trad" / "repo"
        if fresh:
            fresh_dir(self.root / "trad")
            trad.init_archive_repo(archive)
        return trad.build_trees(
            composed.lockfiles,
            self.rpm_repos(),
            self.bootstrap(composed),
            work=self.root / "trad",
            archive=archive,
            releasever=self.universe.releasever,
        )


def slug(name: str) -> str:
    return name.replace("/", "-")


def write_config(config: Path, universe: Universe, updates: Path) -> None:
    """A treefile per tree (and the tiny one), with the .repo file beside them."""
    config.mkdir(parents=True)
    repo_file = "".join(
        f"[{rid}]\nname={rid}\nbaseurl={path.absolute().as_uri()}\ngpgcheck=0\n\n"
        for rid, path in ((REPO_ID, universe.repo), (UPDATES_ID, updates))
    )
    (config / "bench.repo").write_text(repo_file)
    (config / "os-release").write_text(OS_RELEASE)
    shutil.copyfile(SHELL, config / "sh")
    (config / "sh").chmod(0o755)
    release = [["os-release", "/usr/lib/os-release"], ["os-release", "/etc/os-release"],
               ["sh", "/usr/bin/sh"]]  # fmt: skip
    if universe.synthesized_content:
        for name, text in REAL_FILES.items():
            (config / name).write_text(text)
            release.append([name, f"/etc/{name}"])
    for name, packages in universe.trees.items():
        write_treefile(config / f"{slug(name)}.json", f"bench/{name}", packages, universe, release)
    kernel = f"/usr/lib/modules/{TINY_KERNEL}"
    (config / "vmlinuz").write_bytes(b"\x7fELF fedostree-bench tiny kernel\n" * 128)
    (config / "initramfs.img").write_bytes(b"fedostree-bench tiny initramfs\n" * 128)
    add_files = [*release, ["vmlinuz", f"{kernel}/vmlinuz"],
                 ["initramfs.img", f"{kernel}/initramfs.img"]]  # fmt: skip
    write_treefile(config / "tiny.json", "bench/tiny", universe.tiny, universe, add_files)


def write_treefile(
    path: Path,
    ref: str,
    packages: list[str],
    universe: Universe,
    add_files: list[list[str]] | None = None,
) -> None:
    doc: dict[str, Any] = {
        "ref": ref,
        "repos": [REPO_ID, UPDATES_ID],
        "releasever": universe.releasever,
        "packages": packages,
        "automatic-version-prefix": "1",
    }
    if add_files:
        doc["add-files"] = add_files
    path.write_text(json.dumps(doc, indent=2) + "\n")


def find_nevra(lockfile: Path, name: str, *, missing_ok: bool = False) -> str:
    entry = json.loads(lockfile.read_text())["packages"].get(name)
    if entry is None:
        if missing_ok:
            return ""
        raise FedostreeError(f"{lockfile.name}: {name} is not in the tree")
    return f"{name}-{entry['evra']}"


def find_rpm(repo: Path, nevra: str) -> Path:
    """The RPM file of nevra (NAME-[EPOCH:]VERSION-RELEASE.ARCH) in the repository."""
    name, _, evra = nevra.rpartition("-")
    name, _, ver = name.rpartition("-")
    filename = f"{name}-{ver.split(':')[-1]}-{evra}.rpm"
    found = sorted(repo.rglob(filename))
    if not found:
        raise FedostreeError(f"{repo}: no {filename}")
    return found[0]


def rebuilt_rpm(source: Path, shared: Path, content: str) -> Path:
    """The rebuilt package, made once per source RPM and kept across runs."""
    done = shared / f"{sha256_file(source)}-{content}"
    if not done.is_dir():
        work = fresh_dir(shared / "work")
        built = rebuild_rpm(source, work, mutate=MUTATORS[content])
        staging = fresh_dir(shared / "staging")
        os.replace(built, staging / built.name)
        staging.rename(done)
    (rpm,) = done.glob("*.rpm")
    return rpm
