"""The treefile: rpm-ostree's declarative description of one tree, as one typed model.

`Treefile` is the fully merged result of a treefile and its include chain, with variables
substituted (src/fedostree/model/treefile_load.py builds it). Every key rpm-ostree
documents (docs/treefile.md) has a field here or is listed in `treefile_keys.py` as
accepted without effect or as refused.

Adding a key: document it in the README, add a field here, give it a parser and a merge
rule in `treefile_keys.py`, put it in `flattened()` if it changes the tree, add a test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

VarValue = bool | int | str
BootLocation = Literal["new", "modules", "kernel-install"]


@dataclass(frozen=True)
class AddFile:
    """`add-files`: `source` resolved beside the treefile that names it, `written` as
    written there."""

    source: Path
    dest: str
    written: str = ""


@dataclass(frozen=True)
class TreeTest:
    """A command the build server runs in the composed tree before publishing it."""

    name: str
    command: tuple[str, ...]  # argv; a string in the treefile becomes /bin/sh -c STRING
    timeout: float = 60.0  # seconds

    def flattened(self) -> dict[str, Any]:
        return {"name": self.name, "command": list(self.command), "timeout": self.timeout}


@dataclass(frozen=True)
class RepoPackages:
    """`repo-packages`: packages that must come from one named repository."""

    repo: str
    packages: tuple[str, ...]

    def flattened(self) -> dict[str, Any]:
        return {"repo": self.repo, "packages": list(self.packages)}


@dataclass(frozen=True)
class RemoveFromPackage:
    """`remove-from-packages`: files of one package, by regular expression, left out."""

    package: str
    patterns: tuple[str, ...]

    def flattened(self) -> list[str]:
        return [self.package, *self.patterns]


@dataclass(frozen=True)
class PasswdCheck:
    """`check-passwd` / `check-groups`: what the new passwd (group) file is checked against.

    kind "none": nothing; "previous": the previous commit's file; "file": `filename`
    (resolved beside the treefile that names it); "data": `entries`, name -> id (users:
    uid, or (uid, gid))."""

    kind: Literal["none", "previous", "file", "data"]
    filename: Path | None = None
    entries: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    written: str = ""  # the file name as written in the treefile

    def flattened(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.filename is not None:
            out["filename"] = self.filename.name
            out["digest"] = file_digest(self.filename)
        if self.entries:
            out["entries"] = {k: list(v) for k, v in sorted(self.entries.items())}
        return out


@dataclass(frozen=True)
class Treefile:
    """A fully merged treefile: what one `compose tree` builds. None means "not set":
    the default applies (see the properties below)."""

    path: Path
    # --- what to build, and from where
    ref: str = ""
    basearch: str | None = None
    releasever: str | None = None
    variables: Mapping[str, VarValue] = field(default_factory=dict)
    repos: tuple[str, ...] = ()
    lockfile_repos: tuple[str, ...] = ()
    repovars: Mapping[str, str] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    repo_packages: tuple[RepoPackages, ...] = ()
    exclude_packages: tuple[str, ...] = ()
    recommends: bool | None = None
    documentation: bool | None = None
    install_langs: tuple[str, ...] | None = None
    remove_from_packages: tuple[RemoveFromPackage, ...] = ()
    ostree_layers: tuple[str, ...] = ()
    ostree_override_layers: tuple[str, ...] = ()
    # --- versioning and commit metadata
    automatic_version_prefix: str | None = None
    automatic_version_suffix: str | None = None
    mutate_os_release: str | None = None
    add_commit_metadata: Mapping[str, Any] = field(default_factory=dict)
    container_cmd: tuple[str, ...] = ()  # commit metadata ostree.container-cmd
    # --- content manipulation
    postprocess_script: Path | None = None
    postprocess_script_written: str | None = None  # as written in the treefile
    postprocess: tuple[str, ...] = ()
    add_files: tuple[AddFile, ...] = ()
    remove_files: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    default_target: str | None = None
    # --- tree layout
    edition: str | None = None
    boot_location: BootLocation | None = None
    tmp_is_dir: bool | None = None
    machineid_compat: bool | None = None
    no_initramfs: bool | None = None
    readonly_executables: bool | None = None
    selinux: bool | None = None
    # --- users and groups
    etc_group_members: tuple[str, ...] = ()
    check_passwd: PasswdCheck | None = None
    check_groups: PasswdCheck | None = None
    ignore_removed_users: tuple[str, ...] = ()
    ignore_removed_groups: tuple[str, ...] = ()
    preserve_passwd: bool | None = None
    # --- fedostree's own keys
    ignore_scripts: tuple[str, ...] = ()
    tests: tuple[TreeTest, ...] = ()
    # --- accepted, no effect on the tree (kept for --print-only)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    informational: Mapping[str, Any] = field(default_factory=dict)  # rojig, gpg-key, ...
    extra: Mapping[str, Any] = field(default_factory=dict)  # unknown keys of a JSON treefile
    # --- where things came from
    repo_dirs: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    # rpm-ostree's defaults (edition 2024 changes two of them)
    @property
    def is_2024(self) -> bool:
        return self.edition == "2024"

    @property
    def effective_boot_location(self) -> BootLocation:
        return self.boot_location or ("modules" if self.is_2024 else "new")

    @property
    def effective_tmp_is_dir(self) -> bool:
        return self.tmp_is_dir if self.tmp_is_dir is not None else self.is_2024

    @property
    def effective_recommends(self) -> bool:
        return self.recommends is not False

    @property
    def effective_documentation(self) -> bool:
        return self.documentation is not False

    @property
    def effective_machineid_compat(self) -> bool:
        return self.machineid_compat is not False

    @property
    def effective_no_initramfs(self) -> bool:
        return self.no_initramfs is True

    @property
    def effective_selinux(self) -> bool:
        return self.selinux is not False

    @property
    def effective_preserve_passwd(self) -> bool:
        return self.preserve_passwd is not False

    @property
    def effective_check_passwd(self) -> PasswdCheck:
        return self.check_passwd or PasswdCheck("previous")

    @property
    def effective_check_groups(self) -> PasswdCheck:
        return self.check_groups or PasswdCheck("previous")

    def flattened(self) -> dict[str, Any]:
        """The canonical, path-independent form that the input hash covers: every key
        that changes the tree or the commit, with external files by digest."""
        from fedostree.model.treefile_keys import flatten_treefile

        return flatten_treefile(self)

    def print_form(self) -> dict[str, Any]:
        """What `rpm-ostree compose tree --print-only` prints: the merged treefile with
        rpm-ostree's kebab-case keys, in its order, only the keys that are set."""
        from fedostree.model.treefile_print import print_form

        return print_form(self)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
