"""The distribution-scale benchmark: a package universe synthesized from real repository
metadata (CentOS Stream 9 BaseOS), and the trees composed from it."""

from pathlib import Path

# The real metadata the benchmark reads, carried by the repository (data/README.md): the
# benchmark runs from a checkout (`make bench`), not from an installed package.
CENTOS_DATA = Path(__file__).resolve().parents[3] / "data" / "centos-stream-9"
