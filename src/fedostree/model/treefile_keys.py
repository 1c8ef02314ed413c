"""Every treefile key rpm-ostree knows (rust/src/treefile.rs `TreeComposeConfig`): the
keys fedostree acts on, with their parser and rpm-ostree's merge rule across includes
(`treefile_merge`), and the keys it accepts without effect, accepts only at a neutral
value, or refuses. A key in none of these tables is unknown: a warning."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from fedostree.model.treefile import file_digest

# The value parsers lived here before treefile_values.py: still importable from here.
from fedostree.model.treefile_values import (  # noqa: F401
    TEST_NAME,
    add_files,
    any_map,
    bool_value,
    choice,
    exclude_list,
    fail,
    first_duplicate_test,
    groups_check,
    package_list,
    passwd_check,
    releasever_value,
    remove_from_packages,
    repo_packages,
    rojig,
    split_package_specs,
    string_list,
    string_map,
    string_value,
    tree_tests,
    variables_map,
    version_suffix,
)

if TYPE_CHECKING:
    from fedostree.model.treefile import Treefile


# --- the key table ------------------------------------------------------------------------

# rpm-ostree's merge rules: "scalar" (merge_basic_field): the includer's value, else the
# first include's; "list" (merge_vec_field): an include's entries before the includer's,
# so a later include's before an earlier one's; "set" (merge_hashset_field): sorted union;
# "map" (merge_map_field): union, the includer's entries win.
Merge = Literal["scalar", "list", "set", "map"]


@dataclass(frozen=True)
class Key:
    """A treefile key fedostree acts on: the Treefile attribute, the parser, and
    rpm-ostree's merge rule across includes."""

    attr: str
    parse: Callable[[Any, str], Any]
    merge: Merge


KEYS: dict[str, Key] = {
    "ref": Key("ref", string_value, "scalar"),
    "releasever": Key("releasever", releasever_value, "scalar"),
    "repos": Key("repos", string_list, "list"),
    "lockfile-repos": Key("lockfile_repos", string_list, "list"),
    "repovars": Key("repovars", string_map, "map"),
    "packages": Key("packages", package_list, "set"),
    "repo-packages": Key("repo_packages", repo_packages, "list"),
    "exclude-packages": Key("exclude_packages", exclude_list, "list"),
    "recommends": Key("recommends", bool_value, "scalar"),
    "documentation": Key("documentation", bool_value, "scalar"),
    "install-langs": Key("install_langs", string_list, "list"),
    "remove-from-packages": Key("remove_from_packages", remove_from_packages, "list"),
    "ostree-layers": Key("ostree_layers", string_list, "list"),
    "ostree-override-layers": Key("ostree_override_layers", string_list, "list"),
    "automatic-version-prefix": Key("automatic_version_prefix", string_value, "scalar"),
    "automatic-version-suffix": Key("automatic_version_suffix", version_suffix, "scalar"),
    "mutate-os-release": Key("mutate_os_release", string_value, "scalar"),
    "add-commit-metadata": Key("add_commit_metadata", any_map, "map"),
    "container-cmd": Key("container_cmd", string_list, "scalar"),
    "postprocess-script": Key("postprocess_script", string_value, "scalar"),
    "postprocess": Key("postprocess", string_list, "list"),
    "add-files": Key("add_files", add_files, "list"),
    "remove-files": Key("remove_files", string_list, "list"),
    "units": Key("units", string_list, "list"),
    "default-target": Key("default_target", string_value, "scalar"),
    "edition": Key("edition", choice("2014", "2024"), "scalar"),
    "boot-location": Key("boot_location", choice("new", "modules", "kernel-install"), "scalar"),
    "tmp-is-dir": Key("tmp_is_dir", bool_value, "scalar"),
    "machineid-compat": Key("machineid_compat", bool_value, "scalar"),
    "no-initramfs": Key("no_initramfs", bool_value, "scalar"),
    "readonly-executables": Key("readonly_executables", bool_value, "scalar"),
    "selinux": Key("selinux", bool_value, "scalar"),
    "etc-group-members": Key("etc_group_members", string_list, "list"),
    "check-passwd": Key("check_passwd", passwd_check, "scalar"),
    "check-groups": Key("check_groups", groups_check, "scalar"),
    "ignore-removed-users": Key("ignore_removed_users", string_list, "set"),
    "ignore-removed-groups": Key("ignore_removed_groups", string_list, "set"),
    "preserve-passwd": Key("preserve_passwd", bool_value, "scalar"),
    "metadata": Key("metadata", any_map, "map"),
    # fedostree's own keys
    "ignore-scripts": Key("ignore_scripts", string_list, "list"),
    "tests": Key("tests", tree_tests, "list"),
}

# Read while loading, not stored as such: includes, variables, the packages family.
STRUCTURAL = {"include", "arch-include", "conditional-include", "variables", "basearch"}
# `bootstrap_packages` (the documented, historical spelling) and `bootstrap-packages`
# (rpm-ostree's serde name) are merged into packages, as are `packages-$basearch`.
BOOTSTRAP = {"bootstrap_packages", "bootstrap-packages"}
ARCH_PACKAGES = "packages-"

# rpm-ostree's LegacyTreeComposeConfigFields: the only underscore spellings it accepts
# (ALIASES: the name this table had).
# Giving both spellings in one file is an error, as there.
LEGACY_ALIASES = {
    "gpg_key": "gpg-key",
    "boot_location": "boot-location",
    "default_target": "default-target",
    "automatic_version_prefix": "automatic-version-prefix",
}
ALIASES = LEGACY_ALIASES

# Keys that only describe the tree for other tools: accepted, shown by --print-only;
# each merges as a scalar (the first value wins).
INFORMATIONAL: dict[str, Callable[[Any, str], Any]] = {
    "rojig": rojig,
    "gpg-key": string_value,  # fedostree signs with --gpg-sign
    "repo-metadata": choice("inline", "detached", "disabled"),
    "advisories-metadata": choice("inline", "detached", "disabled"),
}

# Keys rpm-ostree knows, accepted only at a value that leaves the tree as fedostree
# builds it; any other value would silently give a different tree, so it is refused.
NEUTRAL_VALUES: dict[str, tuple[Any, ...]] = {
    "rpmdb": ("target", "sqlite", "bdb", "b-d-b", "ndb"),  # fedostree writes the target's
    "ignore-devices": (True,),
    "ima": (False,),
    "cliwrap": (False,),
    "cliwrap-binaries": ([],),
    "container": (False,),
    "selinux-label-version": (0,),
    "rpmdb-normalize": (False,),
    "opt-usrlocal": ("var",),
    "sysusers": ("compose-auto",),
}
# How rpm-ostree prints a value given with an alias.
NEUTRAL_PRINTED = {("rpmdb", "b-d-b"): "bdb"}

# Keys rpm-ostree knows that change the tree and that fedostree does not implement.
REFUSED = {
    "initramfs-args": "fedostree's initramfs generator takes no dracut arguments",
    "platform-module": "fedostree does not support modularity",
    "modules": "fedostree does not support modularity",
    # client-side derivation keys (rpm-ostree's DeriveConfigFields)
    "base-refspec": "a client-side derivation key",
    "container-image-reference": "a client-side derivation key",
    "packages-local": "a client-side derivation key",
    "packages-local-fileoverride": "a client-side derivation key",
    "override-remove": "a client-side derivation key",
    "ex-override-replace": "a client-side derivation key",
    "override-replace-local": "a client-side derivation key",
    "initramfs": "a client-side derivation key",
    "custom": "a client-side derivation key",
    "override-commit": "a client-side derivation key",
    "unconfigured-state": "a client-side derivation key",
}

# Keys rpm-ostree does not read in an inline `conditional-include` treefile (it is
# deserialized as it stands, without includes, variables or externals): refused there
# rather than silently ignored.
INLINE_UNREAD = {
    "include": "an inline treefile cannot include files",
    "arch-include": "an inline treefile cannot include files",
    "conditional-include": "an inline treefile cannot include files",
    "variables": "rpm-ostree ignores variables in an inline treefile",
    "bootstrap_packages": "rpm-ostree ignores it in an inline treefile; use packages",
    "bootstrap-packages": "rpm-ostree ignores it in an inline treefile; use packages",
    "postprocess-script": "an inline treefile cannot name files",
    "add-files": "an inline treefile cannot name files",
}


def is_known(name: str) -> bool:
    """A key rpm-ostree (or fedostree) knows, in its kebab-case spelling."""
    return (
        name in KEYS
        or name in STRUCTURAL
        or name in BOOTSTRAP
        or name in INFORMATIONAL
        or name in NEUTRAL_VALUES
        or name in REFUSED
        or name.startswith(ARCH_PACKAGES)
    )


# --- the input hash form ------------------------------------------------------------------

# Attributes that do not change the tree or the commit, or are covered otherwise.
_NOT_HASHED = {
    "path",
    "basearch",
    "warnings",
    "repo_dirs",
    "variables",
    "metadata",
    "informational",
    "extra",
    "postprocess_script_written",
}


def flatten_treefile(tf: Treefile) -> dict[str, Any]:
    """Every attribute that changes the tree or the commit, path-independent, with
    external files by digest. Unset and empty values are left out, so that adding a key
    to the model does not change the input hash of treefiles that do not use it."""
    out: dict[str, Any] = {}
    for f in fields(tf):
        if f.name in _NOT_HASHED:
            continue
        value = _flat(getattr(tf, f.name))
        if value in (None, [], {}, ""):
            continue
        out[f.name.replace("_", "-")] = value
    if tf.postprocess_script is not None:
        out["postprocess-script"] = file_digest(tf.postprocess_script)
    if tf.add_files:
        out["add-files"] = [[file_digest(a.source), a.dest] for a in tf.add_files]
    return out


def _flat(value: Any) -> Any:
    if hasattr(value, "flattened"):
        return value.flattened()
    if isinstance(value, tuple | list):
        return [_flat(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _flat(v) for k, v in sorted(value.items())}
    if hasattr(value, "__fspath__"):
        return str(value)
    return value
