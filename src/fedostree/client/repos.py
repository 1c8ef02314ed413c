"""The client's package repositories: the `.repo` files of the default deployment's
/etc/yum.repos.d (as rpm-ostree reads them), their metadata cached under the sysroot's
/var/cache/fedostree with libsolv's binary cache, fetched again only when repomd.xml
changed; with --cache-only, only what is cached."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import solv

from fedostree.engine import depsolve
from fedostree.engine.repofile import (
    RepoConfig,
    enabled_repo_ids,
    load_repo_configs,
    repo_variables,
)
from fedostree.engine.repomd import RepoMetadata, cached_metadata, fetch_metadata
from fedostree.errors import ConfigError

BASEARCH = os.uname().machine
CACHE_DIR = "var/cache/fedostree"
REPOS_DIR = "etc/yum.repos.d"


def cache_dir(sysroot: Path) -> Path:
    return sysroot / CACHE_DIR


def deployment_repos(deployment_dir: Path) -> list[RepoConfig]:
    """The repositories the deployment's .repo files enable, $releasever from its os-release."""
    directory = deployment_dir / REPOS_DIR
    ids = enabled_repo_ids(directory)
    if not ids:
        raise ConfigError(
            f"{directory}: no enabled repository (add a .repo file to the deployment's "
            "/etc/yum.repos.d)"
        )
    variables = repo_variables(BASEARCH, releasever(deployment_dir), {}, where=str(directory))
    return load_repo_configs(ids, (), [directory], variables, where=str(directory))


def releasever(deployment_dir: Path) -> str | None:
    """VERSION_ID of the tree's os-release, as rpm-ostree takes $releasever from it."""
    for rel in ("usr/lib/os-release", "usr/etc/os-release"):
        path = deployment_dir / rel
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "VERSION_ID":
                    return value.strip().strip("\"'") or None
    return None


def load_metadata(
    repos: Sequence[RepoConfig], cachedir: Path, *, cache_only: bool
) -> list[RepoMetadata]:
    if not cache_only:
        return [fetch_metadata(c, cachedir) for c in repos]
    out = []
    for config in repos:
        meta = cached_metadata(config, cachedir)
        if meta is None:
            raise ConfigError(
                f"--cache-only: no cached metadata for repository '{config.id}' "
                "(run once without -C)"
            )
        out.append(meta)
    return out


def layering_pool(metadata: Sequence[RepoMetadata], installed: Sequence[bytes]) -> solv.Pool:
    """The repositories plus the tree's installed packages, ready to resolve a layer."""
    pool = depsolve.load_pool(metadata, BASEARCH)
    depsolve.add_installed(pool, installed)
    return pool
