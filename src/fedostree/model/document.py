"""The JSON and YAML documents fedostree reads (treefiles, lockfiles, products) and writes
(lockfiles, records): parsed into plain data with one-line errors naming the file, and
written whole or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml

from fedostree.errors import ConfigError

Format = Literal["JSON", "YAML"]


def read_document(path: Path, kind: Format | None = None) -> Any:
    """The parsed content of path: JSON for a `.json` name, YAML otherwise, unless kind
    says which. Anything unreadable is a ConfigError naming the file."""
    kind = kind or ("JSON" if path.suffix == ".json" else "YAML")
    try:
        text = path.read_text()
        return json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a text file: {e.reason} at byte {e.start}") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: not valid {kind}: {str(e).splitlines()[0]}") from e


def write_document(path: Path, text: str) -> None:
    """Written to a temporary file beside path and renamed over it (mode 0644): a reader
    sees the old content or the new, never part of it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
