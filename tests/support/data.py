"""The real data in ../shared/data beside the checkout (see ../shared/data/README.md)."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
