"""The real data in the repository's data/ folder (see data/README.md)."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "data"
