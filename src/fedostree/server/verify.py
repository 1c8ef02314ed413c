"""`compose verify`: rebuild a published commit from the inputs it records (its treefile,
repositories, lockfile and source date epoch, model/recorded.py) and compare the rebuilt
tree with it (engine/rebuild.py). The packages are exactly the recorded lockfile's
(strict, by digest), resolved and cached as `compose tree` does; the build goes into the
cache's build repository; the published repository is only read (no ref moves)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.build import build_tree, check_buildable, read_recorded_inputs
from fedostree.engine.layers import pull_layers
from fedostree.engine.pkgcache import ensure_cached
from fedostree.engine.rebuild import (
    Rebuild,
    Verification,
    check_resolution,
    compare_rebuild,
    rebuild_request,
    recorded_layers,
)
from fedostree.engine.treefile_repos import repo_configs
from fedostree.errors import ConfigError
from fedostree.model.recorded import load_recorded_treefile
from fedostree.server.pipeline import ComposeOptions, Session, resolve_packages


def verify_commit(repo_path: Path, rev: str, cachedir: Path) -> Verification:
    """Rebuild rev (a ref or commit of the repository at repo_path) from its recorded
    inputs and compare; raise ConfigError when it records none."""
    if not (repo_path / "config").exists():
        raise ConfigError(f"{repo_path}: no OSTree repository")
    out = ot.open_repo(repo_path)
    commit = ot.resolve_rev(out, rev)
    if commit is None:
        raise ConfigError(f"{repo_path}: no ref or commit '{rev}'")
    inputs = read_recorded_inputs(out, commit, f"{rev} ({commit[:12]})")
    rebuild = Rebuild(rev, out, commit, inputs)
    options = ComposeOptions(
        repo_path, cachedir, lockfile=inputs.lockfile, lockfile_strict=True, boot=None
    )
    session = Session(options, _out_repo=out)
    with tempfile.TemporaryDirectory(prefix="fedostree-verify-") as tmp:
        tf = load_recorded_treefile(inputs, Path(tmp) / "treefile",
                                    lambda rel: ot.read_commit_file(out, commit, rel))  # fmt: skip
        check_buildable(tf)
        packages = resolve_packages(tf, session)
        check_resolution(rebuild, packages)
        layers = recorded_layers(rebuild, tf)
        cached = ensure_cached(session.build_repo, packages, cachedir)
        pull_layers(session.build_repo, out, layers)
        repos = repo_configs(tf, with_lockfile_repos=True)
        request = rebuild_request(rebuild, tf, packages, cached, layers, repos)
        build = build_tree(session.build_repo, request, cachedir, previous_repo=out)
    build.discard().join()
    return compare_rebuild(rebuild, session.build_repo, build.commit)
