"""What a commit was built from, recorded in its metadata so that anyone can rebuild it
from the commit alone (`compose verify`, a client's `rebase --local --verify`):

- `fedostree.treefile`: the merged treefile in a form the normal loader reads again,
  with the contents of the files it names (postprocess-script, add-files sources,
  check-passwd and check-groups files) embedded (an add-files source over 64 KiB by its
  digest and destination: the tree holds its copy), the `.repo` sections of its
  repositories, and the commits its ostree layers resolved to; JSON;
- `fedostree.lockfile`: the resolved packages, an rpm-ostree lockfile with digests; JSON;
- `fedostree.source-date-epoch`: the build time the tree was pinned to (seconds).

`materialize` writes the treefile, its files and a `.repo` file into a directory, where
`load_treefile` reads them as any treefile: the reloaded treefile flattens to the same
input hash (external files keep their names and contents)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedostree.errors import ConfigError
from fedostree.model.lockfile import Lockfile, parse_lockfile
from fedostree.model.treefile import PasswdCheck, Treefile
from fedostree.model.treefile_load import load_treefile

TREEFILE_KEY = "fedostree.treefile"
LOCKFILE_KEY = "fedostree.lockfile"
EPOCH_KEY = "fedostree.source-date-epoch"
TREEFILE_NAME = "treefile.json"
REPO_FILE_NAME = "recorded.repo"
FILES_DIR = "files"
FORMAT = 1  # the `fedostree.treefile` document's version
MAX_EPOCH = 2**32 - 1  # rpm keeps install times in 32 bits


INLINE_MAX = 64 * 1024  # larger add-files sources are recorded by their copy in the tree


@dataclass(frozen=True)
class RecordedFile:
    """A file the treefile names, as it was when the tree was built: its content, or for
    a large add-files source only its digest and destination (the tree holds the copy,
    and every commit would otherwise carry it in its metadata)."""

    data: bytes | None
    mode: int = 0o644
    sha256: str | None = None  # data is None: the content's digest
    dest: str | None = None  # data is None: where the tree has a copy

    def to_json(self) -> dict[str, Any]:
        if self.data is None:
            return {"mode": self.mode, "sha256": self.sha256, "dest": self.dest}
        return {"mode": self.mode, "data": base64.b64encode(self.data).decode()}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RecordedFile:
        if "data" in doc:
            return cls(base64.b64decode(doc["data"]), int(doc["mode"]))
        return cls(None, int(doc["mode"]), str(doc["sha256"]), str(doc["dest"]))


Fetch = Callable[[str], bytes | None]  # a path of the built tree -> its content


@dataclass(frozen=True)
class RecordedInputs:
    treefile: Mapping[str, Any]  # loadable; file names relative to the treefile
    files: Mapping[str, RecordedFile]  # relative path -> content
    repos: Mapping[str, Mapping[str, str]]  # repository id -> its .repo section's keys
    lockfile: Lockfile
    source_date_epoch: int
    layers: Mapping[str, str] = field(default_factory=dict)  # ostree layer ref -> commit

    def to_metadata(self) -> dict[str, str | int]:
        """The commit metadata entries: two JSON strings and the epoch (a uint64)."""
        doc = {
            "format": FORMAT,
            "treefile": dict(self.treefile),
            "files": {path: f.to_json() for path, f in sorted(self.files.items())},
            "repos": {rid: dict(keys) for rid, keys in self.repos.items()},
            "layers": dict(self.layers),
        }
        return {
            TREEFILE_KEY: json.dumps(doc, sort_keys=False),
            LOCKFILE_KEY: json.dumps(self.lockfile.to_json()),
            EPOCH_KEY: self.source_date_epoch,
        }

    @classmethod
    def from_commit_metadata(cls, md: Mapping[str, Any], where: str) -> RecordedInputs:
        """Read back what to_metadata wrote (md as engine/ostree.py's commit_metadata
        unpacks it); where names the commit in messages."""
        missing = [k for k in (TREEFILE_KEY, LOCKFILE_KEY, EPOCH_KEY) if k not in md]
        if missing:
            raise ConfigError(
                f"{where}: the commit records no build inputs (no {missing[0]} in its "
                "metadata): it was not built by a fedostree that records them"
            )
        try:
            doc = json.loads(md[TREEFILE_KEY])
            lock = parse_lockfile(json.loads(md[LOCKFILE_KEY]), Path(f"{where}: {LOCKFILE_KEY}"))
            files = {str(path): RecordedFile.from_json(f) for path, f in doc["files"].items()}
            epoch = int(md[EPOCH_KEY])
            if not 0 <= epoch <= MAX_EPOCH:
                raise ValueError(f"{EPOCH_KEY} {epoch} is not a time rpm can record")
            return cls(doc["treefile"], files, doc["repos"], lock, epoch, doc.get("layers", {}))
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{where}: not readable recorded build inputs ({e})") from e

    def repo_file(self) -> str:
        """The recorded sections as one `.repo` file."""
        out = []
        for rid, keys in self.repos.items():
            out.append(f"[{rid}]\n" + "".join(f"{k}={v}\n" for k, v in keys.items()))
        return "\n".join(out)

    def referenced_paths(self) -> list[str]:
        """The tree paths the files recorded by reference are read from."""
        return [tree_path_of(f.dest) for f in self.files.values() if f.dest is not None]

    def materialize(self, directory: Path, fetch: Fetch | None = None) -> Path:
        """Write the treefile, its files and the .repo file into directory (which must not
        hold anything else of the kind); return the treefile's path. fetch reads the
        files recorded by reference from the built tree."""
        directory.mkdir(parents=True, exist_ok=True)
        for rel, f in self.files.items():
            path = directory / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                raise ConfigError(
                    f"{TREEFILE_KEY}: files: '{rel}' is outside the treefile's directory"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.data if f.data is not None else _fetched(f, fetch))
            os.chmod(path, f.mode & 0o7777)
        (directory / REPO_FILE_NAME).write_text(self.repo_file())
        path = directory / TREEFILE_NAME
        path.write_text(json.dumps(self.treefile, indent=2) + "\n")
        return path


def tree_path_of(dest: str) -> str:
    """Where an add-files destination is in the committed tree (/etc is /usr/etc)."""
    rel = dest.strip("/")
    return f"usr/{rel}" if rel == "etc" or rel.startswith("etc/") else rel


def _fetched(f: RecordedFile, fetch: Fetch | None) -> bytes:
    """A file recorded by reference, read from the tree and checked against its digest."""
    assert f.dest is not None
    data = fetch(tree_path_of(f.dest)) if fetch is not None else None
    if data is None or hashlib.sha256(data).hexdigest() != f.sha256:
        state = "is not in the tree" if data is None else "differs from the recorded source"
        raise ConfigError(
            f"{TREEFILE_KEY}: the add-files source copied to {f.dest} was recorded by its "
            f"digest, and the tree's copy {state}"
        )
    return data


def load_recorded_treefile(
    inputs: RecordedInputs, directory: Path, fetch: Fetch | None = None
) -> Treefile:
    """The recorded treefile, materialized in directory and loaded as any treefile."""
    return load_treefile(inputs.materialize(directory, fetch))


def recorded_treefile(tf: Treefile) -> tuple[dict[str, Any], dict[str, RecordedFile]]:
    """tf in the form `load_treefile` reads again (rpm-ostree's --print-only form, with
    `repovars`), the files it names renamed under files/ (keeping their names) and read."""
    form = tf.print_form()
    files: dict[str, RecordedFile] = {}

    def embed(kind: str, source: Path, dest: str | None = None) -> str:
        rel = f"{FILES_DIR}/{kind}/{source.name}"
        data, mode = source.read_bytes(), source.stat().st_mode & 0o7777
        if dest is not None and len(data) > INLINE_MAX:
            files[rel] = RecordedFile(None, mode, hashlib.sha256(data).hexdigest(), dest)
        else:
            files[rel] = RecordedFile(data, mode)
        return rel

    if tf.repovars:
        form["repovars"] = dict(sorted(tf.repovars.items()))
    if tf.postprocess_script is not None:
        form["postprocess-script"] = embed("postprocess-script", tf.postprocess_script)
    if tf.add_files:
        form["add-files"] = [
            [embed(f"add-files/{i}", a.source, a.dest), a.dest] for i, a in enumerate(tf.add_files)
        ]
    for key, check in (("check-passwd", tf.check_passwd), ("check-groups", tf.check_groups)):
        if check is not None and check.kind == "file":
            form[key] = {"type": "file", "filename": embed(key, _check_file(check))}
    return form, files


def _check_file(check: PasswdCheck) -> Path:
    assert check.filename is not None
    return check.filename
