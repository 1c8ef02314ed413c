"""The merged treefile in the shape `rpm-ostree compose tree --print-only` prints it
(`prettyprint_json_stdout`, serde's serialization of TreeComposeConfig): kebab-case
keys in the order of rpm-ostree's struct, only the keys that are set, packages as a
sorted list, maps sorted, `variables`, `repovars`, includes and conditionals left out,
files named as written. fedostree's own keys (`ignore-scripts`, `tests`) and the
unknown keys of a JSON treefile (rpm-ostree keeps those of the top file) come last."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fedostree.model.treefile import PasswdCheck, Treefile

# TreeComposeConfig's fields in serialization order; derive fields are refused.
_ORDER = (
    "packages",
    "repo-packages",
    "cliwrap",
    "cliwrap-binaries",
    "edition",
    "ref",
    "metadata",
    "basearch",
    "rojig",
    "repos",
    "lockfile-repos",
    "selinux",
    "ignore-devices",
    "selinux-label-version",
    "sysusers",
    "ima",
    "gpg-key",
    "ostree-layers",
    "ostree-override-layers",
    "exclude-packages",
    "container",
    "recommends",
    "documentation",
    "install-langs",
    "no-initramfs",
    "readonly-executables",
    "boot-location",
    "tmp-is-dir",
    "opt-usrlocal",
    "units",
    "default-target",
    "machineid-compat",
    "releasever",
    "automatic-version-prefix",
    "automatic-version-suffix",
    "mutate-os-release",
    "etc-group-members",
    "preserve-passwd",
    "check-passwd",
    "check-groups",
    "ignore-removed-users",
    "ignore-removed-groups",
    "postprocess-script",
    "postprocess",
    "add-files",
    "remove-files",
    "remove-from-packages",
    "add-commit-metadata",
    "repo-metadata",
    "advisories-metadata",
    "rpmdb",
    "rpmdb-normalize",
    "container-cmd",
    "ignore-scripts",
    "tests",
)


def print_form(tf: Treefile) -> dict[str, Any]:
    values = {**_model_values(tf), **tf.informational}
    out = {key: values[key] for key in _ORDER if values.get(key) is not None}
    out.update({k: v for k, v in sorted(tf.extra.items()) if k not in out})
    return out


def _model_values(tf: Treefile) -> dict[str, Any]:
    """The model's values as rpm-ostree serializes them; None or empty: not set."""
    out: dict[str, Any] = {
        "packages": list(tf.packages),
        "repo-packages": [{"repo": r.repo, "packages": list(r.packages)} for r in tf.repo_packages],
        "edition": tf.edition,
        "ref": tf.ref or None,
        "metadata": _sorted(tf.metadata),
        "basearch": tf.basearch,
        "releasever": _releasever(tf),
        "check-passwd": _check(tf.check_passwd),
        "check-groups": _check(tf.check_groups),
        "postprocess-script": tf.postprocess_script_written,
        "add-files": [[a.written, a.dest] for a in tf.add_files],
        "remove-from-packages": [r.flattened() for r in tf.remove_from_packages],
        "add-commit-metadata": _sorted(tf.add_commit_metadata),
        "tests": [t.flattened() for t in tf.tests],
    }
    for f in fields(tf):
        key = f.name.replace("_", "-")
        if key in _ORDER and key not in out:
            out[key] = _plain(getattr(tf, f.name))
    out["packages"] = list(tf.packages)  # rpm-ostree prints it even when empty
    return {k: v for k, v in out.items() if k == "packages" or v not in ([], {})}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _sorted(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _sorted(v) if isinstance(v, Mapping) else v for k, v in sorted(value.items())}


def _releasever(tf: Treefile) -> str | int | None:
    """A number as written stays a number."""
    typed = tf.variables.get("releasever")
    if isinstance(typed, int) and not isinstance(typed, bool) and str(typed) == tf.releasever:
        return typed
    return tf.releasever


def _check(check: PasswdCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    out: dict[str, Any] = {"type": check.kind}
    if check.kind == "file":
        out["filename"] = check.written
    if check.kind == "data":
        out["entries"] = {
            k: v[0] if len(v) == 1 else list(v) for k, v in sorted(check.entries.items())
        }
    return out
