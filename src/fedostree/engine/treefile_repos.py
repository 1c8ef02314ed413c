"""The repositories a treefile composes from: its `repos` (and `lockfile-repos`), found
in the `*.repo` files beside it. The build server reads only those; the client's local
assembly looks in its own /etc/yum.repos.d first (preferred_dirs), so that the
repositories an admin configured win over the ones shipped with the treefile."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fedostree.engine.repofile import (
    RepoConfig,
    enabled_repo_ids,
    load_repo_configs,
    repo_variables,
)
from fedostree.errors import ConfigError
from fedostree.model.treefile import Treefile

BASEARCH = os.uname().machine


def repo_configs(
    tf: Treefile,
    *,
    with_lockfile_repos: bool = False,
    preferred_dirs: Sequence[Path] = (),
    releasever: str | None = None,
) -> list[RepoConfig]:
    """The treefile's repositories, variables substituted: each from the first of
    preferred_dirs that defines it, else from the .repo files beside the treefile.
    $releasever is the treefile's, else releasever (the client's os-release)."""
    variables = repo_variables(
        BASEARCH, tf.releasever or releasever, tf.repovars, where=str(tf.path)
    )
    lockfile_repos = tf.lockfile_repos if with_lockfile_repos else ()
    return load_repo_configs(
        repo_names(tf), lockfile_repos, tf.repo_dirs, variables, where=str(tf.path),
        preferred_dirs=preferred_dirs,
    )  # fmt: skip


def repo_names(tf: Treefile) -> tuple[str, ...]:
    """The treefile's `repos`; without them, as rpm-ostree, every repository the `*.repo`
    files beside the treefile enable."""
    repos = tf.repos or tuple(enabled_repo_ids(tf.path.parent))
    if not repos:
        raise ConfigError(
            f"{tf.path}: repos: missing, and no *.repo file beside it enables a repository"
        )
    return repos
