"""The real data the repository carries in data/ (origins in data/README.md)."""

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"
