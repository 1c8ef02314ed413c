"""`rebase --local --verify [REMOTE:]REF`: rebuild a published commit here, from the
inputs it records (its treefile, lockfile and source date epoch; engine/rebuild.py), with
this system's repositories and package cache, and compare the trees.

Only the commit object is pulled first (with its signature, checked as any pull checks
it). The rebuild writes its objects into the sysroot's repository; when its tree is the
published one, those are the published commit's objects, so the pull that then deploys
the published commit finds its content already there and downloads none of it. When the
trees differ, the published commit is fetched whole to name every differing path, and
nothing is deployed."""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path

from fedostree.client import local
from fedostree.client.remotes import pull, remote_commit
from fedostree.client.repos import cache_dir
from fedostree.client.sysroot import LOCAL_WORK_DIR, Sysroot, remove_stale_work, split_refspec
from fedostree.engine import ostree as ot
from fedostree.engine.build import build_tree, read_recorded_inputs
from fedostree.engine.progress import say
from fedostree.engine.rebuild import (
    Rebuild,
    Verification,
    check_resolution,
    compare_rebuild,
    rebuild_request,
    recorded_layers,
)
from fedostree.errors import ConfigError
from fedostree.model.recorded import load_recorded_treefile


def published_refspec(sysroot: Sysroot, target: str | None) -> str:
    """REMOTE:REF to verify: target (its remote defaulting to the current deployment's),
    or the current deployment's own."""
    current = sysroot.deployments()[0] if sysroot.deployments() else None
    current_refspec = sysroot.refspec_of(current) if current is not None else None
    current_remote = split_refspec(current_refspec)[0] if current_refspec else None
    if target is None:
        if current_remote is None:
            raise ConfigError("--verify: name the published tree, as REMOTE:REF")
        return str(current_refspec)
    remote, ref = split_refspec(target)
    remote = remote or current_remote
    if remote is None:
        raise ConfigError(f"{target}: name the remote, as REMOTE:REF")
    return f"{remote}:{ref}"


def verify_published(sysroot: Sysroot, refspec: str) -> Verification:
    """Pull refspec's commit object, rebuild its tree here, and compare."""
    remote, ref = split_refspec(refspec)
    assert remote is not None
    repo = sysroot.repo
    say(f"Fetching the commit of {refspec}")
    pull(repo, remote, [ref], commit_only=True)
    commit = remote_commit(repo, remote, ref)
    inputs = read_recorded_inputs(repo, commit, f"{refspec} ({commit[:12]})")
    referenced = inputs.referenced_paths()
    if referenced:  # large add-files sources: their copies in the tree, fetched alone
        pull(repo, remote, [ref], subdirs=sorted({"/" + posixpath.dirname(p) for p in referenced}))
    rebuild = Rebuild(refspec, repo, commit, inputs)
    current = sysroot.deployments()[0] if sysroot.deployments() else None
    with tempfile.TemporaryDirectory(prefix="fedostree-verify-") as tmp:
        tf = load_recorded_treefile(inputs, Path(tmp) / "treefile",
                                    lambda rel: ot.read_commit_file(repo, commit, rel))  # fmt: skip
        resolved = local.resolve_local(sysroot, tf, inputs.lockfile, True, current)
        check_resolution(rebuild, resolved.packages)
        layers = recorded_layers(rebuild, tf)
        cached = local.cache_packages(sysroot, resolved)
        request = rebuild_request(rebuild, tf, resolved.packages, cached, layers, resolved.repos)
        workdir = sysroot.path / LOCAL_WORK_DIR
        remove_stale_work(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        say(f"Rebuilding {refspec} from {len(cached)} packages")
        build = build_tree(repo, request, workdir, previous_repo=repo,
                           cachedir=cache_dir(sysroot.path))  # fmt: skip
    sysroot.on_exit(build.discard())
    if ot.root_checksums(repo, commit) != ot.root_checksums(repo, build.commit):
        say(f"The trees differ: fetching {refspec} to name the differing paths")
        pull(repo, remote, [ref])  # its directories are needed to walk it
    return compare_rebuild(rebuild, repo, build.commit)
